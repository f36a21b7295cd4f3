"""Loading the package's template files: the one place that builds a Jinja environment.

The templates live as files in ``graders/course/templates/<folder>/`` (package data, so they
reach installed wheels) and are loaded with :class:`jinja2.PackageLoader` through
:func:`templates`; no module keeps a template as a Python string.

Two kinds of folder:

* ``autoescape=True``: HTML (``report``). Every value is escaped unless it is
  :class:`markupsafe.Markup`; the file's final newline is not rendered.
* ``autoescape=False``: text written to the letter, such as shell scripts (``gradescope``).
  Nothing is escaped and the final newline stays. As shell writes ``{#`` (``${#name}``), a
  Jinja comment is ``<# ... #>`` there, and ``{#`` is text.

In both, a block tag or comment alone on its line leaves no line behind (``trim_blocks``,
``lstrip_blocks``; ``{%+ ... +%}`` keeps it), and an undefined name is an error
(:class:`jinja2.StrictUndefined`), never an empty string.
"""
from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined

#: The package and the folder in it that hold the template folders.
PACKAGE = "graders.course"
FOLDER = "templates"


@functools.lru_cache(maxsize=None)
def templates(folder: str, *, autoescape: bool) -> Environment:
    """The environment of ``templates/<folder>/``: HTML if ``autoescape``, else text to the
    letter (see the module's docstring). Built once per folder and kind."""
    text = {} if autoescape else {"keep_trailing_newline": True, "comment_start_string": "<#",
                                  "comment_end_string": "#>"}
    return Environment(loader=PackageLoader(PACKAGE, f"{FOLDER}/{folder}"),
                       autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, **text)
