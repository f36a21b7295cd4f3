"""Where the LTI tool keeps its files, as traitlets in the course's ``nbgrader_config.py``.

Every path is relative to the course folder unless absolute. The private key, the platform
registration, the LTI roster and the record of posted scores live in files of their own, never
in ``nbgrader_config.py`` (which is committed and sent to every Dask worker)::

    c.LtiTool.key_file = "lti/tool_key.pem"      # 0600; git-ignore it
"""
from __future__ import annotations

from pathlib import Path

from traitlets import Float, Unicode
from traitlets.config import Configurable

from ...errors import CourseError, MachineryError
from ...grading import coursedir as cdir


class LtiError(CourseError):
    """The LTI set-up needs the instructor: not registered, refused credentials, no roster."""


class PlatformError(MachineryError):
    """The platform could not be reached or failed; what was posted is kept, run again."""


class LtiTool(Configurable):
    """The course as an LTI 1.3 tool: its key pair, registration and records."""

    key_file = Unicode("lti/tool_key.pem", help=(
        "The tool's RSA private key (PEM), made on first use with mode 0600. Secret: keep it "
        "out of git (lti/.gitignore is written beside it) and out of nbgrader_config.py. Its "
        "public half is the tool's JWKS (rnn-course lti keys --jwks).")).tag(config=True)

    registration_file = Unicode("lti/registration.json", help=(
        "The platform this course is registered with (issuer, client id, deployment id, token "
        "and JWKS URLs) and the context's service URLs (rnn-course lti register)."
        )).tag(config=True)

    users_file = Unicode("lti/users.json", help=(
        "The LTI roster: each platform user's opaque sub, per issuer, and the nbgrader id it "
        "maps to (rnn-course lti roster).")).tag(config=True)

    state_file = Unicode("lti/posted.json", help=(
        "What was posted to the platform per assignment and user (score, comment, timestamp), "
        "written after every accepted score: a push sends only what changed and an "
        "interrupted push is finished by the next.")).tag(config=True)

    nonce_file = Unicode("lti/nonces.json", help=(
        "`rnn-course lti serve`: the nonces its OIDC logins issued, each accepted by one launch "
        "only, kept until they expire (c.LtiTool.launch_ttl).")).tag(config=True)

    cookie_secret_file = Unicode("lti/cookie_secret", help=(
        "`rnn-course lti serve`: the secret signing its session cookies, made on first use "
        "with mode 0600. Secret: never in nbgrader_config.py.")).tag(config=True)

    log_file = Unicode("lti/serve.log", help=(
        "`rnn-course lti serve`: one line per request (status, method, path, time); never a "
        "query string, token or cookie.")).tag(config=True)

    bundle_file = Unicode("bundle/{assignment}.zip", help=(
        "Where `rnn-course bundle --to` writes the students' zip that a student launch offers "
        "for download ({assignment} is replaced).")).tag(config=True)

    launch_ttl = Float(600.0, help=(
        "Seconds between an OIDC login and its launch: the nonce and the state cookie expire "
        "after this.")).tag(config=True)

    key_grace_days = Float(7.0, help=(
        "After `rnn-course lti keys --rotate`, days the old public key stays in the JWKS, so "
        "that tokens the platform is still checking verify.")).tag(config=True)

    timeout = Float(30.0, help="Seconds to wait for the platform's answer to one request."
                    ).tag(config=True)

    def path(self, course: Path, name: str) -> Path:
        """``key_file``, ``registration_file``, ... as a path (relative: under ``course``)."""
        return Path(course) / Path(getattr(self, name)).expanduser()


def tool_settings(course: Path) -> LtiTool:
    """The course's ``c.LtiTool`` settings (defaults where it sets none)."""
    return LtiTool(config=cdir.load_config(Path(course)))
