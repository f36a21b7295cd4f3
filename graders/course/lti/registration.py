"""The platform this course is an LTI 1.3 tool of, kept in ``c.LtiTool.registration_file``.

One course is one LMS context: one issuer, client id and deployment, and the context's two
service URLs (NRPS memberships, AGS line-item container). A platform sends those two in every
launch (``.../lti-nrps/claim/namesroleservice``, ``.../lti-ags/claim/endpoint``); until the
an instructor's launch (``rnn-course lti serve``) saves them in :attr:`Platform.context`
through :meth:`Platform.save`; ``rnn-course lti register`` can set them by hand. The platform's
OIDC authorization URL (``auth_url``) is needed for launches only.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ...grading import coursedir as cdir
from ...grading.records import write_atomically
from .settings import LtiError, tool_settings

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _url(name: str, value: str) -> str:
    parts = urlsplit(value or "")
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return value
    raise LtiError(f"{name} {value!r} is not an https:// URL (plain http only on this "
                   f"machine's loopback)")


@dataclass
class Platform:
    """The registration: who the platform is, and the context's service URLs."""

    issuer: str
    client_id: str
    deployment_id: str
    token_url: str
    jwks_url: str
    #: ``aud`` of the client assertion when the platform wants other than the token URL.
    audience: str = ""
    #: The platform's OIDC authorization endpoint, where ``lti serve``'s login sends the
    #: browser (files written before the launch existed have none: register again to add it).
    auth_url: str = ""
    #: ``memberships_url``, ``lineitems_url``, and where they came from (``register``/launch).
    context: dict = field(default_factory=dict)

    @property
    def memberships_url(self) -> str:
        return self.context.get("memberships_url", "")

    @property
    def lineitems_url(self) -> str:
        return self.context.get("lineitems_url", "")

    @classmethod
    def load(cls, course: Path) -> "Platform":
        path = tool_settings(course).path(course, "registration_file")
        if not path.is_file():
            raise LtiError(f"no LTI registration ({path}): run `rnn-course lti register "
                           f"--issuer ... --client-id ...` first")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data["platform"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LtiError(f"{path} is damaged ({exc}): run `rnn-course lti register` "
                           f"again") from None

    def save(self, course: Path) -> Path:
        path = tool_settings(course).path(course, "registration_file")
        return write_atomically(path, json.dumps({"format": 1, "platform": asdict(self)},
                                                 indent=1) + "\n")


@dataclass
class RegisterReport:
    path: str
    platform: Platform
    changed: bool

    def lines(self) -> list[str]:
        p = self.platform
        return [f"LTI registration {self.path}" + (" (unchanged)" if not self.changed else ""),
                f"  issuer {p.issuer}, client id {p.client_id}, deployment {p.deployment_id}",
                f"  token URL {p.token_url}",
                f"  platform JWKS {p.jwks_url}",
                f"  OIDC authorization (launches) {p.auth_url or '-'}",
                f"  memberships (NRPS) {p.memberships_url or '-'}",
                f"  line items (AGS) {p.lineitems_url or '-'}"]


def register(*, course: str | Path, issuer: str, client_id: str, deployment_id: str,
             token_url: str, jwks_url: str, memberships_url: str = "",
             lineitems_url: str = "", audience: str = "", auth_url: str = "") -> RegisterReport:
    """Save the platform's settings for this course (again: replaces them)."""
    course = cdir.find_course(course)
    for name, value in (("issuer", issuer), ("client id", client_id),
                        ("deployment id", deployment_id)):
        if not str(value or "").strip():
            raise LtiError(f"the {name} is empty: copy it from the platform's tool settings")
    platform = Platform(
        issuer=issuer.strip(), client_id=str(client_id).strip(),
        deployment_id=str(deployment_id).strip(), token_url=_url("token URL", token_url),
        jwks_url=_url("JWKS URL", jwks_url), audience=audience.strip(),
        auth_url=_url("OIDC authorization URL", auth_url) if auth_url else "",
        context={"memberships_url": _url("memberships URL", memberships_url)
                 if memberships_url else "",
                 "lineitems_url": _url("line items URL", lineitems_url) if lineitems_url
                 else "", "source": "register"})
    try:
        before = Platform.load(course)
    except LtiError:
        before = None
    path = platform.save(course)
    return RegisterReport(str(path), platform, before != platform)
