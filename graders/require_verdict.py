"""Stable name imported by courses' ``nbgrader_config.py``; see :mod:`graders.grading.require_verdict`."""
from .grading.require_verdict import RequireVerdict, ScreenTampering, install  # noqa: F401
