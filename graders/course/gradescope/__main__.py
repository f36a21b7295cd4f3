"""``python -m graders.course.gradescope run`` (what ``run_autograder`` calls): runs
:func:`.container.main`."""
import sys

from .container import main

sys.exit(main())
