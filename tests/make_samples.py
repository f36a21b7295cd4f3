"""Write the demo's sample submissions (graders/course/samples/) from tests/variants.py.

Run after `make release` whenever the release changes: python tests/make_samples.py
"""
import nbformat

from helpers import ASSIGNMENT, SAMPLES_DIR, fill
from variants import SAMPLES

if __name__ == "__main__":
    for student, variants in SAMPLES.items():
        folder = SAMPLES_DIR / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for variant in variants:
            nbformat.write(fill(variant.notebook, variant.cells), folder / f"{variant.notebook}.ipynb")
            print(folder / f"{variant.notebook}.ipynb")
