"""``python -m graders.course.lms``: the same as ``rnn-course lms`` (:mod:`.cli`)."""
import sys

from .cli import main

sys.exit(main())
