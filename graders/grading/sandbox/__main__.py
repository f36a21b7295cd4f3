"""``python -m graders.grading.sandbox ...``: runs :func:`.cli.main`."""
import sys

from .cli import main

sys.exit(main())
