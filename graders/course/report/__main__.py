"""``python -m graders.course.report ...``: runs :func:`.cli.main`."""
from .cli import main

raise SystemExit(main())
