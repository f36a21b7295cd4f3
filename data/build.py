#!/usr/bin/env python
"""Build the data files of the "RNN Architecture" assignment: ``python data/build.py
[options]`` in a checkout, the same as ``rnn-course data -- [options]``.

A stable name for the command; the code is the package ``graders.course.coursedata`` (its
``build.main``). Run it from anywhere: the course folder is this file's repository, so the
default paths are ``source/rnn_architecture/`` and ``data/manifest.json`` in it.

  python data/build.py              # full build, 8-17 min on 2 CPU cores
  python data/build.py --check      # compare files on disk with the manifest
  python data/build.py --help
"""

import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent

try:
    from graders.course.coursedata import build
except ImportError:  # run by path from a checkout without the package installed
    sys.path.insert(0, str(COURSE))
    from graders.course.coursedata import build


def main(argv=None) -> int:
    return build.main(argv, course=COURSE)


if __name__ == "__main__":
    sys.exit(main())
