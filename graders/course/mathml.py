"""Feedback pages whose math is rendered when the page is built: MathML, no MathJax, no network.

nbgrader's feedback template (``feedback/index.html.j2``) loads MathJax from a CDN, and
nbconvert leaves every formula of the notebook in the page as raw LaTeX for it (``$\\nabla L$``).
Offline, in a feedback zip opened from an LMS, or behind a Content Security Policy, the student
sees the raw LaTeX. :class:`FeedbackExporter` is the exporter ``nbgrader generate_feedback``
uses in this course (``c.GenerateFeedback.exporter_class``, set by ``nbgrader_config.py``):

* markdown (cells and ``text/markdown`` outputs) goes through nbconvert's own parser, whose math
  tokens (``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``, ``\\begin{env}..\\end{env}``) are
  rendered by :func:`to_mathml` (latex2mathml) instead of being left for MathJax; browsers
  render MathML natively (Chromium since 109, Firefox, Safari);
* a ``text/latex`` output that is only math (sympy, ``IPython.display.Math``) gets a MathML
  ``text/html`` rendering beside it, which the page shows first;
* the template's ``mathjax()`` macro writes no script.

A formula latex2mathml cannot convert stays as its LaTeX source in ``<code class="tex">``
(readable, never a broken page).
"""
from __future__ import annotations

import copy
import html
import re

from jinja2 import PackageLoader, pass_context
from latex2mathml.converter import convert
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets import default

#: nbconvert's ``mathjax.html.j2`` replaced (``templates/nbconvert/``): the same macro, which
#: loads nothing.
NO_MATHJAX_TEMPLATES = ("graders.course", "templates/nbconvert")

#: A formula held by :class:`MathMLRenderer` until the markdown is rendered (its TeX inside).
PLACEHOLDER_CLASS = "rnn-course-formula"
PLACEHOLDER = re.compile(f'<span class="{PLACEHOLDER_CLASS}" data-formula="(\\d+)">.*?</span>',
                         re.DOTALL)
#: A ``text/latex`` output that is one formula (IPython's Math, sympy's ``$\\displaystyle ..$``).
LATEX_OUTPUT = re.compile(r"\s*(?:\$\$(?P<dd>.+?)\$\$|\$(?P<d>.+?)\$|\\\[(?P<b>.+?)\\\]"
                          r"|\\\((?P<p>.+?)\\\))\s*", re.DOTALL)


def to_mathml(latex: str, *, block: bool = False) -> str:
    """``latex`` as a MathML element (display block or inline); its source in ``<code>`` when
    latex2mathml cannot convert it."""
    try:
        return convert(latex.strip(), display="block" if block else "inline")
    except Exception:  # latex2mathml raises its own and plain exceptions on unsupported input
        return f'<code class="tex">{html.escape(latex)}</code>'


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with its math tokens rendered as MathML.

    Each formula is first written as a placeholder holding its TeX (so nbconvert's heading
    anchors, which re-parse a heading with ElementTree, see plain text, as they do for MathJax,
    and never re-serialize MathML with ``ns0:`` prefixes); :meth:`fill` then puts the MathML in.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.formulas: list[str] = []

    def _hold(self, latex: str, *, block: bool) -> str:
        self.formulas.append(to_mathml(latex, block=block))
        fence = "$$" if block else "$"
        return (f'<span class="{PLACEHOLDER_CLASS}" data-formula="{len(self.formulas) - 1}">'
                f"{fence}{self.escape_html(latex)}{fence}</span>")

    def fill(self, html_text: str) -> str:
        """``html_text`` with each placeholder replaced by its formula's MathML."""
        return PLACEHOLDER.sub(lambda m: self.formulas[int(m[1])], html_text)

    def block_math(self, body: str) -> str:
        return self._hold(body, block=True)

    def inline_math(self, body: str) -> str:
        return self._hold(body, block=False)

    def latex_environment(self, name: str, body: str) -> str:
        return self._hold(f"\\begin{{{name}}}{body}\\end{{{name}}}", block=True)


def latex_output_html(latex: str) -> str | None:
    """The MathML of a ``text/latex`` output that is one formula, else None."""
    match = LATEX_OUTPUT.fullmatch(latex)
    if match is None:
        return None
    body = next(v for v in match.groupdict().values() if v is not None)
    return to_mathml(body, block=match["d"] is None)


class FeedbackExporter(HTMLExporter):
    """The HTML exporter of nbgrader's feedback pages, with math rendered at build time."""

    @default("extra_loaders")
    def _no_mathjax(self):
        return [PackageLoader(*NO_MATHJAX_TEMPLATES)]

    @pass_context
    def markdown2html(self, context, source):
        """``HTMLExporter.markdown2html`` (nbconvert 7) with :class:`MathMLRenderer`."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return renderer.fill(MarkdownWithMath(renderer=renderer).render(source))

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)  # the graded notebook itself stays as nbgrader keeps it
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                latex = data.get("text/latex")
                if isinstance(latex, list):
                    latex = "".join(latex)
                if isinstance(latex, str) and "text/html" not in data:
                    rendered = latex_output_html(latex)
                    if rendered is not None:
                        data["text/html"] = rendered
        return super().from_notebook_node(nb, resources, **kw)
