"""Write the demo's sample submissions (tests/files/submissions/) from tests/variants.py.

Run after `make release` whenever the release changes: python tests/make_samples.py
"""
import nbformat

from helpers import ASSIGNMENT, REPO, fill
from variants import SAMPLES

if __name__ == "__main__":
    for student, variants in SAMPLES.items():
        folder = REPO / "tests" / "files" / "submissions" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for variant in variants:
            nbformat.write(fill(variant.notebook, variant.cells), folder / f"{variant.notebook}.ipynb")
            print(folder / f"{variant.notebook}.ipynb")
