"""The report as HTML: the summary section rendered from the template files in
``templates/report/`` (:func:`render_section`), the standalone page around it
(:func:`render_page`), and the section spliced into nbgrader's feedback page right after its
``<body>`` tag, replacing an earlier one (:func:`insert_section`). Strings in, strings out.
"""
from __future__ import annotations

import html
import re

from markupsafe import Markup, escape

from ...instructions import ASSIGNMENT
from ..mathml import to_mathml
from ..templating import templates
from .model import NotebookReport

#: Section markers: the section sits between them, right after nbgrader's ``<body>`` tag.
BEGIN = "<!-- BEGIN rnn-course report -->"
END = "<!-- END rnn-course report -->"
#: Marks a page written entirely by this package (no nbgrader page was there).
GENERATOR = "rnn-course feedback report"
COURSE_TITLES = {ASSIGNMENT: "RNN Architecture"}


_CODE = re.compile(r"`([^`]+)`")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_MATH = re.compile(r"\$([^$\n]+)\$")


def _inline(text: str | None, *, rich: bool = False) -> Markup:
    """Escaped text with `code` spans; ``rich`` also renders *emphasis* and $math$ (hints)."""
    if not text:
        return Markup("")
    parts = _CODE.split(str(text))  # even: prose, odd: code
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(Markup("<code>%s</code>") % part)
            continue
        piece = str(escape(part))
        if rich:
            piece = _MATH.sub(lambda m: to_mathml(html.unescape(m[1])), piece)
            piece = _EMPHASIS.sub(r"<em>\1</em>", piece)
        out.append(piece)
    return Markup("".join(out))


def _fmt(x: float) -> str:
    return f"{x:g}"


def _humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


FOOTER_WITH_PAGE = ("Below: your notebook as the autograder ran it, with the output of every "
                    "autograder cell.")
FOOTER_ALONE = ("nbgrader's page of your notebook was not generated, so this page shows the "
                "summary only.")


def _template(name: str):
    """A template of ``templates/report/`` (the section, the page; the section includes the CSS)."""
    return templates("report", autoescape=True).get_template(name)


def render_section(report: NotebookReport, *, standalone: bool = False) -> str:
    """The summary section (between :data:`BEGIN` and :data:`END`) of one report."""
    if report.points >= report.max_points and report.max_points > 0:
        total_class = "rr-full"
    elif report.points > 0:
        total_class = "rr-part"
    else:
        total_class = "rr-none"
    body = _template("section.html.j2").render(
        r=report, fmt=_fmt, inline=_inline, total_class=total_class,
        course_title=COURSE_TITLES.get(report.assignment, report.assignment),
        title=_humanize(report.notebook),
        footer=FOOTER_ALONE if standalone else FOOTER_WITH_PAGE)
    return f"{BEGIN}\n{body}\n{END}"


def render_page(report: NotebookReport) -> str:
    """A standalone, self-contained page with the summary (when nbgrader's page is missing)."""
    return _template("page.html.j2").render(
        generator=GENERATOR, title=_humanize(report.notebook), student=report.student,
        section=Markup(render_section(report, standalone=True)))


_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_OURS = re.compile(r"\s*" + re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)


def insert_section(page: str, section: str) -> str:
    """``page`` with ``section`` right after its first ``<body>`` tag, replacing an earlier one.

    Only a section directly after the ``<body>`` tag is replaced, so nothing the student's
    outputs put further down the page can be mistaken for it.
    """
    body = _BODY.search(page)
    if body is None:
        raise ValueError("the page has no <body> tag")
    start = body.end()
    old = _OURS.match(page, start)
    end = old.end() if old else start
    return page[:start] + "\n" + section + "\n" + page[end:]


def _is_ours(page: str) -> bool:
    return f'<meta name="generator" content="{GENERATOR}">' in page[:2000]


def spliceable(page: str) -> bool:
    """Is ``page`` nbgrader's page, which :func:`insert_section` can put the section into (not a
    standalone page of ours, and with a ``<body>`` tag)?"""
    return not _is_ours(page) and _BODY.search(page) is not None
