"""Stable name of the course config's hook (``from graders.require_verdict import install``)."""
from .grading.judging import FLAGGED, FreshProbe, Judge, ScreenTampering, install  # noqa: F401
