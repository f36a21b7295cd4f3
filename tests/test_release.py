"""Is the committed student release exactly what nbgrader makes from source/ today?"""
import filecmp
import json

import pytest

from conftest import run_nbgrader
from graders.instructions import NOTEBOOKS
from helpers import ASSIGNMENT, RELEASE, SOURCE


def cells(path):
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]), json.dumps(c["metadata"], sort_keys=True))
            for c in nb["cells"]]


def test_release_is_fresh_against_source(released_course):
    """Would `nbgrader generate_assignment` change anything in release/? (run `make release`)"""
    fresh = released_course / "release" / ASSIGNMENT
    for notebook in NOTEBOOKS:
        assert cells(fresh / f"{notebook}.ipynb") == cells(RELEASE / f"{notebook}.ipynb"), (
            f"release/{ASSIGNMENT}/{notebook}.ipynb is stale: run `make release` and commit it")
    fresh_files = sorted(p.name for p in fresh.iterdir())
    assert sorted(p.name for p in RELEASE.iterdir()) == fresh_files
    for name in fresh_files:
        if not name.endswith(".ipynb"):
            assert filecmp.cmp(fresh / name, RELEASE / name, shallow=False), name


def test_release_has_everything_a_student_needs():
    """Can a student run the release alone: every file the setup cells open is there?"""
    for name in ("exploding_data.npz", "vanishing_data.npz", "model_weights.h5",
                 "pretrain_history.json", "gated_weights.h5", "gated_history.json"):
        assert (RELEASE / name).stat().st_size > 0, name
        assert (SOURCE / name).exists(), name
