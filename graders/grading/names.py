"""Which released notebook a submitted file is: the one renaming rule of the package.

Students upload ``exploding_gradients (1).ipynb`` (a browser's re-download name),
``Exploding_Gradients-2.ipynb`` (Canvas's repeated upload), ``Copy of ...``: the LMS import
(:mod:`graders.course.lms`), ``rnn-course grade``, ``rnn-course check``, the pytest plugin and
Gradescope's autograder all take such a file for the released notebook by
:func:`released_name`, and :func:`choose` picks the one file graded per notebook.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

_COPY_MARKS = [re.compile(p, re.IGNORECASE) for p in (
    r"\s*\(\d+\)$",         # exploding_gradients (1)   (browsers, Windows)
    r"\s*-\s*\d+$",         # exploding_gradients-2     (Canvas renames a repeated upload)
    r"_\d+$",               # exploding_gradients_2
    r"\s+\d+$",             # exploding_gradients 2     (macOS)
    r"\s*-?\s*copy$",       # exploding_gradients - Copy
    r"^copy of\s+",         # Copy of exploding_gradients
)]


def released_name(filename: str, released: list[str]) -> str | None:
    """The released notebook (one of ``released``, file names) an uploaded file is a copy
    of, or None.

    Other case, spaces or hyphens for underscores, and the marks browsers and LMSes add to a
    repeated file name (``(1)``, ``-2``, ``- Copy``) are accepted; a mark is only taken off
    when the name without it is a released notebook (a notebook named ``ps2`` stays ``ps2``).
    """
    stem, ext = os.path.splitext(os.path.basename(filename))
    if ext.lower() != ".ipynb":
        return None
    names = {os.path.splitext(r)[0].lower(): r for r in released}
    frontier, seen = [stem], set()
    while frontier:
        current = frontier.pop(0)
        key = re.sub(r"[\s\-]+", "_", current.strip().lower())
        if key in names:
            return names[key]
        seen.add(current)
        for mark in _COPY_MARKS:
            shorter = mark.sub("", current)
            if shorter and shorter != current and shorter not in seen:
                frontier.append(shorter)
    return None


def copy_number(filename: str) -> int:
    """2 for ``x-2.ipynb`` or ``x (2).ipynb``: a later copy when nothing else tells."""
    m = re.search(r"(?:\((\d+)\)|[-_ ](\d+))\s*$", os.path.splitext(filename)[0])
    return int(m.group(1) or m.group(2)) if m else 0


@dataclass
class Choice:
    """The submitted files sorted out: which one is graded as which released notebook."""

    #: released file name -> the submitted file (relative path) graded as it
    chosen: dict[str, str] = field(default_factory=dict)
    #: what the instructor and the student should know (renamed, other copies)
    notes: list[str] = field(default_factory=list)

    @property
    def renamed(self) -> dict[str, str]:
        """released file name -> submitted file, for the files not under their released name."""
        return {name: path for name, path in self.chosen.items()
                if os.path.basename(path) != name}


def choose(files: list[str], released: list[str], newer=None) -> Choice:
    """Which of ``files`` (paths relative to the submission folder) is graded as each of the
    ``released`` notebooks. Several for one notebook: the one with the released name, else the
    newest (``newer(path)``: a sort key, larger is newer; default the copy number), the
    others are noted, never graded. Files in sub-folders and other notebooks are left alone
    (as nbgrader leaves them)."""
    newer = newer or copy_number
    by_name: dict[str, list[str]] = {}
    for path in files:
        if os.path.dirname(path) or os.path.basename(path).startswith("."):
            continue
        name = released_name(path, released)
        if name is not None:
            by_name.setdefault(name, []).append(path)
    choice = Choice()
    for name in released:
        candidates = by_name.get(name, [])
        if not candidates:
            continue
        candidates.sort(key=lambda p: (p != name, -newer(p), p))
        chosen = choice.chosen[name] = candidates[0]
        if chosen != name:
            choice.notes.append(f"{chosen} was graded as {name} (its released name)")
        for other in candidates[1:]:
            choice.notes.append(f"{other} is another copy of {name} and was not graded")
    return choice
