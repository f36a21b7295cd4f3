"""``rnn-course lti roster``: the platform's members (NRPS) -> nbgrader ids, kept with each
user's opaque ``sub`` per issuer in ``c.LtiTool.users_file``.

A member is found among the course's students by the file rosters' rules
(:mod:`graders.course.lms.roster`): a ``sub`` mapped before keeps its student; else the
e-mail (when the platform shares it: Canvas privacy "Public", Moodle "share email"); else
Canvas's user id or login (``https://www.instructure.com/canvas_user_id`` /
``canvas_user_login_id`` in the member's messages, with ``rlid``) against the Canvas roster,
or the login's local part as the id (:func:`~graders.course.lms.formats.slug`, as
:func:`~graders.course.lms.roster.candidate_id` makes ids). Nobody is created: a learner
found nowhere is reported, to import with ``rnn-course lms roster`` or map by hand.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.gradebook import open_gradebook
from ...grading.records import write_atomically
from ..lms.formats import slug
from ..lms.roster import Roster
from .registration import Platform
from .settings import LtiError, tool_settings

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CANVAS_USER_ID = "https://www.instructure.com/canvas_user_id"
CANVAS_LOGIN = "https://www.instructure.com/canvas_user_login_id"


class Users:
    """``c.LtiTool.users_file``: per issuer, ``sub`` -> {student, name, email, status}."""

    def __init__(self, course: Path):
        self.path = tool_settings(course).path(course, "users_file")
        self.issuers: dict[str, dict[str, dict]] = {}
        if self.path.is_file():
            try:
                self.issuers = json.loads(self.path.read_text(encoding="utf-8"))["issuers"]
            except (ValueError, KeyError, TypeError) as exc:
                raise LtiError(f"{self.path} is damaged ({exc}): run `rnn-course lti roster` "
                               f"again after deleting it") from None

    def of(self, issuer: str) -> dict[str, dict]:
        return self.issuers.setdefault(issuer, {})

    def subs(self, issuer: str) -> dict[str, str]:
        """nbgrader id -> ``sub`` of the users mapped for ``issuer``."""
        return {u["student"]: sub for sub, u in self.issuers.get(issuer, {}).items()
                if u.get("student")}

    def save(self) -> Path:
        return write_atomically(self.path, json.dumps(
            {"format": 1, "issuers": self.issuers}, indent=1, ensure_ascii=False) + "\n")


@dataclass
class LtiRosterReport:
    issuer: str
    #: ``sub`` -> nbgrader id of every learner matched.
    ids: dict = field(default_factory=dict)
    #: (sub, name, why) of learners found among no students.
    unmatched: list = field(default_factory=list)
    #: How each matched learner was found: sid -> "sub"|"email"|"canvas id"|"login".
    how: dict = field(default_factory=dict)
    #: Members who are not learners (instructors, TAs): left out.
    others: int = 0

    def lines(self) -> list[str]:
        out = [f"LTI roster from {self.issuer}: {len(self.ids)} learners matched, "
               f"{len(self.unmatched)} not matched, {self.others} other members left out"]
        out += [f"  {sid} <- {how}" for sid, how in sorted(self.how.items())]
        if self.unmatched:
            out.append("Not matched (import them with `rnn-course lms roster`, or have the "
                       "platform share e-mails):")
            out += [f"  {name or '(no name)'} (sub {sub}): {why}"
                    for sub, name, why in self.unmatched]
        return out


def _messages(member: dict) -> list[dict]:
    message = member.get("message") or []
    return [message] if isinstance(message, dict) else list(message)


def _claim(member: dict, name: str) -> str:
    return next((str(m[name]) for m in _messages(member) if m.get(name) not in (None, "")), "")


def _known_students(course: Path, r: Roster) -> dict[str, str]:
    """nbgrader id -> e-mail ("" if none) of every student the course knows."""
    with open_gradebook(cdir.db_url(cdir.load_config(course))) as gb:
        known = {s.id: s.email or "" for s in gb.students}
    for sid, s in r.students.items():
        known[sid] = s.email or known.get(sid, "")
    return known


def _match(member: dict, known: dict[str, str], r: Roster) -> tuple[str | None, str]:
    email = (member.get("email") or "").strip()
    if email:
        sid = r.by_email(email) or next(
            (s for s, e in known.items() if e and e.casefold() == email.casefold()), None)
        if sid:
            return sid, "email"
    canvas_id = _claim(member, CANVAS_USER_ID)
    sid = r.by_canvas_id(canvas_id) if canvas_id else None
    if sid:
        return sid, "canvas id"
    login = _claim(member, CANVAS_LOGIN)
    if login:
        sid = r.by_login(login)
        if sid is None and slug(login.split("@")[0]) in known:
            sid = slug(login.split("@")[0])
        if sid:
            return sid, "login"
    return None, ("no e-mail or login shared" if not (email or login) else
                  "no student of the course has this e-mail or login")


def roster(*, course: str | Path) -> LtiRosterReport:
    """Read the context's members from the platform and map its learners to students."""
    from .services import Services

    course = cdir.find_course(course)
    platform = Platform.load(course)
    members = Services(course, platform).members()
    users = Users(course)
    mapped = users.of(platform.issuer)
    r = Roster.load(course)
    known = _known_students(course, r)
    report = LtiRosterReport(platform.issuer)
    claimed = {u["student"]: sub for sub, u in mapped.items() if u.get("student")}
    for member in members:
        sub = str(member.get("user_id", ""))
        if not sub:
            continue
        if LEARNER not in member.get("roles", []) and not any(
                role.endswith("#Learner") or role == "Learner" for role in member.get("roles", [])):
            report.others += 1
            continue
        name = member.get("name") or " ".join(
            x for x in (member.get("given_name"), member.get("family_name")) if x)
        previous = mapped.get(sub, {}).get("student")
        if previous:
            sid, how = previous, "sub"
        else:
            sid, how = _match(member, known, r)
            if sid and claimed.get(sid, sub) != sub:
                sid, how = None, f"{sid} is already another user of this platform"
        if sid is None:
            report.unmatched.append((sub, name, how))
            continue
        claimed[sid] = sub
        mapped[sub] = {"student": sid, "name": name, "email": member.get("email", ""),
                       "status": member.get("status", "Active")}
        report.ids[sub] = sid
        report.how[sid] = how
    users.save()
    return report
