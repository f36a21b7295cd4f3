"""Where Gradescope puts things (``docs/specs.md``): the paths both sides of the autograder
agree on, under one root that ``RNN_COURSE_AUTOGRADER_ROOT`` moves (tests).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = "/autograder"
ENV_ROOT = "RNN_COURSE_AUTOGRADER_ROOT"
ENV_PYTHON = "RNN_COURSE_AUTOGRADER_PYTHON"


@dataclass(frozen=True)
class Layout:
    """Where Gradescope puts things (``docs/specs.md``), all under one root."""

    root: Path

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Layout":
        environ = os.environ if environ is None else environ
        return cls(Path(environ.get(ENV_ROOT) or DEFAULT_ROOT))

    @property
    def source(self) -> Path:
        """The autograder zip, unpacked."""
        return self.root / "source"

    @property
    def data(self) -> Path:
        """The released data files, copied beside each notebook before it runs."""
        return self.source / "data"

    @property
    def submission(self) -> Path:
        """The student's files, as uploaded."""
        return self.root / "submission"

    @property
    def results(self) -> Path:
        return self.root / "results" / "results.json"

    @property
    def venv(self) -> Path:
        """The virtualenv setup.sh builds."""
        return self.root / "venv"
