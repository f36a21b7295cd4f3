"""Stable name and path of the sandboxed kernel; the code lives in :mod:`graders.grading.sandbox`.

Two things outside this package name this file and must keep working after an upgrade:
installed kernel specs run it as a script (``python -I .../graders/sandbox.py run -f ...``) and
courses' ``nbgrader_config.py`` import ``configure`` from it.
"""
from __future__ import annotations

import sys

from graders.grading.sandbox import *  # noqa: F401,F403
from graders.grading.sandbox import configure, install_kernelspec, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
