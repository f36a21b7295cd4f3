"""``rnn-course lti push``: the gradebook's scores to the platform's line item (AGS), each
user's score sent once per change, every accepted score recorded at once.

The scores come from :func:`graders.course.lms.grades.class_grades` (the one door to grades).
Held back until the instructor confirms them (``confirm=[...]``): students on the judge's
review list, and learners without a submission (confirmed: 0). Never sent: a grade that failed
or is not graded yet. Each score is ``activityProgress: Completed``, ``gradingProgress:
FullyGraded`` with a one-line comment; its ``timestamp`` (ISO 8601, milliseconds) is later
than the user's last posted one by at least a second (Moodle compares seconds and answers 409
to a score not newer than the grade's last change). ``c.LtiTool.state_file`` keeps what was
posted; a push sends only what differs from it, so one that broke off is finished by the next.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.records import write_atomically
from .. import verbs
from ..lms.grades import _assignment_max, class_grades
from .registration import Platform
from .roster import Users
from .settings import LtiError, PlatformError, tool_settings

TAG = "rnn-course"
COMPLETED, FULLY_GRADED = "Completed", "FullyGraded"
#: The fields whose change makes a score worth sending again.
COMPARED = ("scoreGiven", "scoreMaximum", "comment", "activityProgress", "gradingProgress")


def next_timestamp(last: str | None, now: datetime) -> str:
    """``now`` in ISO 8601 (UTC, milliseconds), moved to a whole second after ``last`` if it
    is not at least that late."""
    when = now.astimezone(timezone.utc)
    if last:
        floor = datetime.fromisoformat(last).astimezone(timezone.utc).replace(
            microsecond=0) + timedelta(seconds=1)
        when = max(when, floor)
    return when.isoformat(timespec="milliseconds")


class Posted:
    """``c.LtiTool.state_file``: per assignment, its line item and each user's last score."""

    def __init__(self, course: Path):
        self.path = tool_settings(course).path(course, "state_file")
        self.data = {"format": 1, "assignments": {}}
        if self.path.is_file():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
                self.data["assignments"]
            except (ValueError, KeyError, TypeError) as exc:
                raise LtiError(f"{self.path} is damaged ({exc}): without it every score is "
                               f"sent again; delete it to do so") from None

    def of(self, assignment: str) -> dict:
        return self.data["assignments"].setdefault(assignment, {"line_item": {}, "users": {}})

    def record(self, assignment: str, sub: str, score: dict) -> None:
        """One accepted score, written to disk before the next is sent."""
        self.of(assignment)["users"][sub] = score
        write_atomically(self.path, json.dumps(self.data, indent=1, ensure_ascii=False) + "\n")

    def set_line_item(self, assignment: str, item: dict) -> None:
        self.of(assignment)["line_item"] = item
        write_atomically(self.path, json.dumps(self.data, indent=1, ensure_ascii=False) + "\n")


@dataclass
class PushReport:
    assignment: str
    line_item: str = ""
    dry_run: bool = False
    created_line_item: bool = False
    #: The score JSON of every score sent (or, dry run, that would be), with ``student``.
    sent: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    #: (student, why) not sent until confirmed or graded.
    held: list = field(default_factory=list)
    #: Graded here, but not a learner of the platform's roster (rnn-course lti roster).
    not_on_platform: list = field(default_factory=list)
    #: (student, why) the platform refused.
    refused: list = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would post" if self.dry_run else "posted"
        out = [f"LTI push of {self.assignment}: {len(self.sent)} {verb}, "
               f"{len(self.unchanged)} unchanged, {len(self.held)} held back"
               + (f", {len(self.refused)} refused" if self.refused else "")]
        item = self.line_item or "(none yet)"
        out.append(f"  line item {item}" + (" (created)" if self.created_line_item else "")
                   + (" (would be created)" if self.dry_run and not self.line_item else ""))
        out += [f"  {verb}: {s['student']} {s['scoreGiven']:g}/{s['scoreMaximum']:g} "
                f"({s['comment']})" for s in self.sent]
        if self.held:
            out.append("Held back (--confirm STUDENT sends them; a confirmed non-submitter "
                       "gets 0):")
            out += [f"  {sid}: {why}" for sid, why in self.held]
        if self.not_on_platform:
            out.append("Graded here but not in the platform's roster (rnn-course lti roster):")
            out += [f"  {sid}" for sid in self.not_on_platform]
        out += [f"  ! refused: {sid}: {why}" for sid, why in self.refused]
        return out


def _comment(points: float, maximum: float) -> str:
    return f"{points:g}/{maximum:g} points, autograded by rnn-course"


def _plan(grades: dict, subs: dict[str, str], confirm: set[str], maximum: float,
          report: PushReport) -> list[tuple[str, str, float, str]]:
    """(student, sub, score, comment) of each learner to send; the rest into ``report``."""
    plan = []
    for sid, sub in sorted(subs.items()):
        grade = grades.get(sid)
        if grade is None:
            if sid in confirm:
                plan.append((sid, sub, 0.0, f"no submission: 0/{maximum:g} points "
                                            f"(confirmed by the instructor)"))
            else:
                report.held.append((sid, f"no submission (--confirm {sid} posts 0)"))
        elif grade.points is None:
            report.held.append((sid, grade.blank_reason or "no score"))
        elif grade.review:
            report.held.append((sid, f"on the review list: {grade.review} "
                                     f"(--confirm {sid} after checking)"))
        else:
            plan.append((sid, sub, grade.points, _comment(grade.points, maximum)))
    report.not_on_platform = sorted(sid for sid, g in grades.items()
                                    if g.points is not None and sid not in subs)
    return plan


def _line_item(services, posted: Posted, platform: Platform, assignment: str, title: str,
               maximum: float, dry_run: bool, report: PushReport) -> str:
    known = posted.of(assignment)["line_item"]
    if known.get("id") and known.get("container") == platform.lineitems_url:
        return known["id"]
    item = services.find_line_item(resource_id=assignment, tag=TAG)
    if item is None:
        if dry_run:
            return ""
        item = services.create_line_item(resource_id=assignment, tag=TAG, label=title,
                                         score_maximum=maximum)
        report.created_line_item = True
    posted.set_line_item(assignment, {"id": item["id"], "container": platform.lineitems_url})
    return item["id"]


def push(*, course: str | Path, assignment: str | None = None,
         confirm: list[str] | None = None, dry_run: bool = False,
         now=lambda: datetime.now(timezone.utc)) -> PushReport:
    """Send each learner's changed score to the platform (``dry_run``: only say what)."""
    from ..report import COURSE_TITLES
    from .services import Services, StaleScore

    course = cdir.find_course(course)
    assignment = verbs.assignment_of(course, assignment)
    platform = Platform.load(course)
    subs = Users(course).subs(platform.issuer)
    if not subs:
        raise LtiError(f"no learner of {platform.issuer} is mapped to a student: run "
                       f"`rnn-course lti roster` first")
    confirm = set(confirm or ())
    maximum = _assignment_max(cdir.db_url(cdir.load_config(course)), assignment)
    grades = class_grades(course=course, assignment=assignment, confirm=sorted(confirm))
    report = PushReport(assignment, dry_run=dry_run)
    plan = _plan(grades, subs, confirm, maximum, report)
    posted = Posted(course)
    state = posted.of(assignment)
    if state["line_item"] and state["line_item"].get("container") != platform.lineitems_url:
        state["line_item"], state["users"] = {}, {}   # registered anew: another line item
    last = state["users"]
    todo = []
    for sid, sub, points, comment in plan:
        score = {"userId": sub, "scoreGiven": points, "scoreMaximum": maximum,
                 "comment": comment, "activityProgress": COMPLETED,
                 "gradingProgress": FULLY_GRADED}
        if sub in last and all(last[sub].get(k) == score[k] for k in COMPARED):
            report.unchanged.append(sid)
        else:
            todo.append((sid, sub, score))
    services = Services(course, platform)
    if todo or not posted.of(assignment)["line_item"]:
        report.line_item = _line_item(services, posted, platform, assignment,
                                      COURSE_TITLES.get(assignment, assignment), maximum,
                                      dry_run, report)
    else:
        report.line_item = posted.of(assignment)["line_item"]["id"]
    for done, (sid, sub, score) in enumerate(todo):
        score["timestamp"] = next_timestamp(last.get(sub, {}).get("timestamp"), now())
        if dry_run:
            report.sent.append({**score, "student": sid})
            continue
        try:
            services.post_score(report.line_item, score)
        except StaleScore as exc:
            report.refused.append((sid, str(exc)))
            continue
        except PlatformError as exc:
            raise PlatformError(f"{exc}, after {done} of {len(todo)} scores were posted (kept "
                                f"in {posted.path}): run the same command again to post the "
                                f"rest") from None
        posted.record(assignment, sub, {**score, "student": sid})
        report.sent.append({**score, "student": sid})
    return report
