"""Benchmark: what grading in the sandbox costs, against a plain kernel, in the same run.

    .venv/bin/python tests/bench_sandbox.py [--repeat N]

Grades the instructor's solution notebooks with the runner (the checks of the hidden test
cells) in the sandboxed kernel and in a plain local ``python3`` kernel, alternating, and prints
the wall time of each, the ratio sandboxed / plain, and the verdicts (which must be equal).
Target: ratio <= 1.15 (the sandbox adds process set-up, not compute). Exits 1 above it or when
the verdicts differ.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from graders.instructions import NOTEBOOKS  # noqa: E402
from graders.grading.runner import grade_notebook  # noqa: E402

SOURCE = HERE.parent / "source" / "rnn_architecture"
TARGET_RATIO = 1.15


def timed(notebook: str, sandboxed: bool):
    start = time.perf_counter()
    grade = grade_notebook(SOURCE / f"{notebook}.ipynb", files_from=SOURCE, sandboxed=sandboxed)
    return time.perf_counter() - start, [(r.instruction, r.points) for r in grade.results]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="runs per notebook and kernel")
    args = ap.parse_args()
    ok = True
    print(f"{'notebook':22} {'plain s':>9} {'sandbox s':>10} {'ratio':>6}  verdicts equal")
    for notebook in NOTEBOOKS:
        plain, boxed = [], []
        for _ in range(args.repeat):
            t_plain, v_plain = timed(notebook, sandboxed=False)
            t_boxed, v_boxed = timed(notebook, sandboxed=True)
            plain.append(t_plain)
            boxed.append(t_boxed)
            ok &= v_plain == v_boxed
        ratio = statistics.median(boxed) / statistics.median(plain)
        ok &= ratio <= TARGET_RATIO
        print(f"{notebook:22} {statistics.median(plain):9.1f} {statistics.median(boxed):10.1f} "
              f"{ratio:6.2f}  {v_plain == v_boxed}")
    print(f"target: ratio <= {TARGET_RATIO}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
