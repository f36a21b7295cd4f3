"""Stable home of the course config's hook, ``graders.require_verdict.install``.

The judge (:mod:`graders.grading.judging`) replaced the checks that lived here: a test cell
scores from the judge's verdict on its evidence, decided in the grading process, and the
static screen lists a notebook for review instead of zeroing it (unless the course sets
``c.ScreenTampering.zero_flagged = True``).
"""
from __future__ import annotations

from .judging import FLAGGED, FreshProbe, Judge, ScreenTampering, install  # noqa: F401
