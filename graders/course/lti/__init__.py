"""The course as an LTI 1.3 tool of one LMS context: the roster in through Names and Role
Provisioning, scores out through Assignment and Grade Services.

Five verbs, keyword-only functions with a report whose ``lines()`` the command prints
(``rnn-course lti ...``, :mod:`.cli`)::

    register(course=, issuer=, client_id=, ...)     the platform's settings -> lti/registration.json
    roster(course=)                                 NRPS members -> nbgrader ids (lti/users.json)
    push(course=, assignment=, confirm=, dry_run=)  scores -> the line item (lti/posted.json)
    grades(course=, assignment=)                    the platform's results vs the gradebook
    keys(course=, rotate=, show_jwks=)              the tool's key pair and public JWKS

One module per job: :mod:`.settings` (``c.LtiTool``: the files, the errors), :mod:`.keys`,
:mod:`.registration`, :mod:`.services` (HTTP through pylti1p3), :mod:`.roster`, :mod:`.push`,
:mod:`.grades`, :mod:`.cli`. Only :mod:`.cli` is imported here: the rest needs the optional
``lti`` extra (``pip install 'rnn-course[lti]'``), loaded when a verb runs.

Not built yet: the web side (OIDC launch, dynamic registration, deep linking, serving the
JWKS and the students' reports): until then ``register`` takes the service URLs a launch
would bring, and the platform is given the JWKS of ``rnn-course lti keys --jwks``.
"""
from .cli import configure_parser, run

__all__ = ["configure_parser", "run"]
