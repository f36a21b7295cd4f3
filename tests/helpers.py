"""Building student notebooks from the released ones, as a student would fill them in."""
import importlib.resources
from pathlib import Path

import nbformat

from graders.grading.gradable import grade_id  # noqa: F401 - re-exported for the tests

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "rnn_architecture"
SOURCE = REPO / "source" / ASSIGNMENT
RELEASE = REPO / "release" / ASSIGNMENT
#: The demo's sample class, shipped in the package (right, partly wrong, empty).
SAMPLES_DIR = Path(str(importlib.resources.files("graders.course") / "samples"))
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def fill(notebook: str, cells: dict, base: Path = RELEASE) -> nbformat.NotebookNode:
    """The released notebook with each solution cell's stub replaced by the given code."""
    nb = nbformat.read(base / f"{notebook}.ipynb", as_version=4)
    for cell in nb.cells:
        code = cells.get(grade_id(cell))
        if code is not None:
            assert STUB in cell.source, f"{grade_id(cell)} has no stub to replace"
            cell.source = cell.source.replace(STUB, code.strip())
    return nb


def write_submission(directory: Path, variant) -> Path:
    """Write ``variant`` as ``directory/<notebook>.ipynb``; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{variant.notebook}.ipynb"
    nbformat.write(fill(variant.notebook, variant.cells), path)
    return path
