"""``rnn-course lti grades``: what the platform holds for the assignment's line item (Result
service) beside the gradebook (:func:`~graders.course.lms.grades.class_grades`), and where
they differ."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...grading import coursedir as cdir
from .. import verbs
from ..lms.grades import _assignment_max, class_grades
from .push import TAG, Posted
from .registration import Platform
from .roster import Users
from .settings import LtiError

#: Points closer than this are the same grade (the platform may round).
TOLERANCE = 0.005


@dataclass
class LtiGradesReport:
    assignment: str
    line_item: str
    maximum: float
    #: student (or "sub <id>" if unmapped) -> (on the platform, in the gradebook), points on
    #: the assignment's scale, None where there is none.
    rows: dict = field(default_factory=dict)
    #: student (as in ``rows``) -> the comment the platform holds with the score, if any.
    comments: dict = field(default_factory=dict)
    #: ``lines()`` lists every student with the platform's comment, not only the differences.
    show_all: bool = False

    @property
    def differences(self) -> dict:
        return {who: (p, g) for who, (p, g) in self.rows.items()
                if (p is None) != (g is None) or (p is not None and abs(p - g) > TOLERANCE)}

    def lines(self) -> list[str]:
        diff = self.differences
        out = [f"LTI grades of {self.assignment} (line item {self.line_item}): "
               f"{len(self.rows) - len(diff)} the same, {len(diff)} different"]
        show = lambda x: "-" if x is None else f"{x:g}/{self.maximum:g}"  # noqa: E731
        listed = self.rows if self.show_all else diff
        for who, (p, g) in sorted(listed.items()):
            line = f"  {who}: platform {show(p)}, gradebook {show(g)}"
            if self.show_all and who in diff:
                line += " (different)"
            if self.show_all and self.comments.get(who):
                line += f" -- {self.comments[who]}"
            out.append(line)
        return out


def grades(*, course: str | Path, assignment: str | None = None,
           show_all: bool = False) -> LtiGradesReport:
    """The platform's results (scores and comments) beside the gradebook's scores (review
    list or not); ``show_all``: the report lists every student, not only the differences."""
    from .services import Services

    course = cdir.find_course(course)
    assignment = verbs.assignment_of(course, assignment)
    platform = Platform.load(course)
    services = Services(course, platform)
    item = Posted(course).of(assignment)["line_item"].get("id") or (
        services.find_line_item(resource_id=assignment, tag=TAG) or {}).get("id")
    if not item:
        raise LtiError(f"the platform has no line item of {assignment} yet: "
                       f"`rnn-course lti push` creates it")
    maximum = _assignment_max(cdir.db_url(cdir.load_config(course)), assignment)
    student_of = {sub: sid for sid, sub in Users(course).subs(platform.issuer).items()}
    report = LtiGradesReport(assignment, item, maximum, show_all=show_all)
    gradebook = {sid: g.points for sid, g in class_grades(
        course=course, assignment=assignment).items()}
    for result in services.results(item):
        who = student_of.get(str(result.get("userId")), f"sub {result.get('userId')}")
        score, top = result.get("resultScore"), result.get("resultMaximum") or maximum
        report.rows[who] = (None if score is None else float(score) / float(top) * maximum,
                            gradebook.get(who))
        if result.get("comment"):
            report.comments[who] = str(result["comment"])
    for sid, points in gradebook.items():
        if sid in student_of.values() and sid not in report.rows:
            report.rows[sid] = (None, points)
    return report
