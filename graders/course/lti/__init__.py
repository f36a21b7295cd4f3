"""The course as an LTI 1.3 tool of one LMS context: launched from the course page, the roster
in through Names and Role Provisioning, scores out through Assignment and Grade Services.

Six verbs, keyword-only functions with a report whose ``lines()`` the command prints
(``rnn-course lti ...``, :mod:`.cli`)::

    register(course=, issuer=, client_id=, ...)     the platform's settings -> lti/registration.json
    roster(course=)                                 NRPS members -> nbgrader ids (lti/users.json)
    push(course=, assignment=, confirm=, dry_run=)  scores -> the line item (lti/posted.json)
    grades(course=, assignment=)                    the platform's results vs the gradebook
    keys(course=, rotate=, show_jwks=)              the tool's key pair and public JWKS
    web.serve(course=, host=, port=)                the web side (``rnn-course lti serve``)

One module per job: :mod:`.settings` (``c.LtiTool``: the files, the errors), :mod:`.keys`,
:mod:`.registration`, :mod:`.services` (HTTP through pylti1p3), :mod:`.roster`, :mod:`.push`,
:mod:`.grades`, :mod:`.cli`; the web side: :mod:`.web` (tornado: routes, pages, the student's
own report), :mod:`.launch` (OIDC login and the launch's checks, nonces accepted once),
:mod:`.dynreg` (Dynamic Registration), :mod:`.deeplink` (the deep-linking response). Only
:mod:`.cli` is imported here: the rest needs the optional ``lti`` extra (``pip install
'rnn-course[lti]'``), loaded when a verb runs.

The tool's cookies are partitioned (CHIPS): they work inside the platform's iframe where
third-party cookies are blocked. Not built: LTI's client-side platform storage
(``lti.put_data`` postMessage) for a browser that blocks partitioned cookies too (the launch is
then refused for its missing state cookie).
"""
from .cli import configure_parser, run

__all__ = ["configure_parser", "run"]
