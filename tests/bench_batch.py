"""Benchmark: grading a class on Dask (rnn-course grade) against one plain `nbgrader autograde`.

    .venv/bin/python tests/bench_batch.py [--students N] [--workers W] [--rounds R] [--keep DIR]
                                           [--skip-stock] [--skip-exec] [--no-warmup]

One run, one class of N submissions (students s01..sNN cycling over the shipped samples
``graders/course/samples/{alice_right,bob_partly_wrong,carol_empty}``: right, partly wrong,
empty), three measurements:

1. stock: a fresh course folder, ONE serial ``python -m nbgrader autograde rnn_architecture``
   (wall time T_stock);
2. batch: another fresh course folder, ``graders.course.verbs.grade(workers=W)`` (T_batch;
   W defaults to the grader's own default: one per core, each pinned to its core);
3. execution baseline: every notebook of every submission run once, serially, top to bottom
   in the sandboxed kernel with ``graders.grading.runner.grade_notebook`` and nothing else
   (T_exec, the sum), with the kernels' thread pools set as batch grading sets them
   (``BatchGrading.threads_per_kernel``), so one baseline kernel does what one worker's does.

After the batch phase it times the judge alone: every graded notebook's kept evidence judged
again (median and max seconds per notebook; goal <= 0.2 s).

It then checks that the stock and batch gradebooks hold the same scores, cell by cell, prints a
table per student and: T_stock, T_batch, speed-up T_stock / T_batch (goal >= 1.8 on 2 cores),
T_exec and the overhead of batch grading over plain execution in core-seconds,
(T_batch * C - T_exec) / T_exec with C = min(W, cores) (goal <= 10 %), also per submission:
what the machine spent beyond executing the notebooks once, serially.

With ``--rounds R`` it measures R rounds, each in fresh course folders with its phases in
turn in opposite orders, prints each round and judges the goals on the medians of the rounds'
own ratios: on the 2-core VM the same phase takes 8-15 % more or less from one run to the
next, as much as the gap to a goal, so one round decides nothing close (``--rounds 3``).

Creating the course folders (nbgrader generate_assignment) is not timed. Unless --no-warmup, the
empty sample's notebooks are run once, untimed, first, so that no phase pays for a cold disk
cache. Every log goes to the work folder (a temporary one, or --keep DIR). Exits 1 when the
scores differ or batch grading could not grade a student; the goals are reported, not enforced.
Run it with the course's virtualenv and nothing else busy on the machine: the default class
takes ~15 minutes of every core.
"""
from __future__ import annotations

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from statistics import median  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from graders.grading.tools import tools_env  # noqa: E402
from graders.grading.batch import THREAD_VARIABLES, environment  # noqa: E402
from graders.grading.settings import BatchGrading  # noqa: E402

ASSIGNMENT = "rnn_architecture"
SAMPLES = HERE.parent / "graders" / "course" / "samples"
#: The sample class, in the order the students cycle over it.
KINDS = ("alice_right", "bob_partly_wrong", "carol_empty")
TARGET_SPEEDUP = 1.8
TARGET_OVERHEAD = 0.10
MARKER = ".bench_batch"
BIN = Path(sys.executable).parent


# ----------------------------------------------------------------------------- helpers
def say(text: str, end: str = "\n") -> None:
    print(text, end=end, flush=True)


@contextlib.contextmanager
def output_to(path: Path):
    """Send this process's fds 1 and 2 (and so its children's: kernels, Dask workers) to
    ``path`` for the duration of a phase; the terminal stays calm."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def nbgrader(course: Path, log: Path, *args: str) -> int:
    """``python -m nbgrader ARGS`` in ``course``, its whole output appended to ``log``."""
    with open(log, "ab") as f:
        f.write(f"$ nbgrader {' '.join(args)}\n".encode())
        f.flush()
        return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                              env=tools_env(), stdout=f, stderr=subprocess.STDOUT).returncode


def class_of(n: int) -> dict[str, str]:
    """Student name -> sample kind, s01..sNN cycling over the samples."""
    width = max(2, len(str(n)))
    return {f"s{i + 1:0{width}d}": KINDS[i % len(KINDS)] for i in range(n)}


def make_course(root: Path, students: dict[str, str], log: Path) -> Path:
    """A fresh course folder in ``root``: source, config, the assignment generated, and every
    student's submission in ``submitted/<student>/rnn_architecture/``."""
    root.mkdir(parents=True)
    shutil.copytree(REPO / "source", root / "source")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    if nbgrader(root, log, "generate_assignment", ASSIGNMENT, "--force"):
        raise RuntimeError(f"nbgrader generate_assignment failed in {root}; see {log}")
    for student, kind in students.items():
        shutil.copytree(SAMPLES / kind / ASSIGNMENT, root / "submitted" / student / ASSIGNMENT)
    return root


def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def work_folder(keep: Path | None):
    """The folder everything happens in: ``keep`` (emptied if a previous run left it), or a
    temporary one removed at the end."""
    if keep is None:
        return tempfile.TemporaryDirectory(prefix="rnn-course-bench-batch-")
    keep = keep.resolve()
    if keep.exists() and any(keep.iterdir()):
        if not (keep / MARKER).exists():
            raise SystemExit(f"--keep {keep}: not empty and not a folder of this benchmark; "
                             f"give an empty or new folder")
        shutil.rmtree(keep)
    keep.mkdir(parents=True, exist_ok=True)
    (keep / MARKER).write_text("made by tests/bench_batch.py; emptied by its next run\n")
    return contextlib.nullcontext(str(keep))


# ----------------------------------------------------------------------------- phases
def warm_up(release: Path, log: Path) -> float:
    """Run the empty sample's notebooks once, untimed in the results: the kernel, TensorFlow
    and the data come from a warm disk cache in every phase."""
    from graders.grading.runner import grade_notebook

    start = time.perf_counter()
    with output_to(log):
        for path in sorted((SAMPLES / KINDS[-1] / ASSIGNMENT).glob("*.ipynb")):
            grade_notebook(path, files_from=release, sandboxed=True)
    return time.perf_counter() - start


def run_stock(course: Path, log: Path) -> tuple[float, int]:
    start = time.perf_counter()
    code = nbgrader(course, log, "autograde", ASSIGNMENT)
    return time.perf_counter() - start, code


def run_batch(course: Path, workers: int, log: Path):
    from graders.course.verbs import grade

    with output_to(log):
        start = time.perf_counter()
        run = grade(course=course, assignment=ASSIGNMENT, workers=workers)
        seconds = time.perf_counter() - start
    return seconds, run


def run_exec(students: dict[str, str], course: Path, release: Path, threads: int,
             log: Path, pinned: bool = False) -> tuple[float, int, list[str]]:
    """Every student's notebooks, one after the other, in the sandboxed kernel; returns the
    summed wall time, the number of notebooks and the problems reported (a dead kernel...).
    ``pinned``: each kernel on one core, as a pinned batch worker runs it."""
    from graders.grading.runner import grade_notebook
    from graders.grading.sandbox import ENV_CPUS

    env = {k: str(threads) for k in THREAD_VARIABLES} if threads else {}
    if pinned:
        env[ENV_CPUS] = str(sorted(os.sched_getaffinity(0))[0])
    total, count, problems = 0.0, 0, []
    with environment(env), output_to(log):
        for student in students:
            for path in sorted((course / "submitted" / student / ASSIGNMENT).glob("*.ipynb")):
                start = time.perf_counter()
                verdict = grade_notebook(path, files_from=release, sandboxed=True)
                seconds = time.perf_counter() - start
                total += seconds
                count += 1
                print(f"{student} {path.stem}: {seconds:.1f} s, {verdict.points:g} points, "
                      f"{len(verdict.results)} results, problems: {verdict.problems}", flush=True)
                problems += [f"{student}/{path.stem}: {p}" for p in verdict.problems
                             if "stopped running" in p]
    return total, count, problems


# ----------------------------------------------------------------------------- report
def _num(x) -> str:
    return "-" if x is None else f"{x:g}"


def compare(students: dict[str, str], stock: dict | None, batch: dict) -> tuple[str, list[str]]:
    """The per-student table and the students whose scores differ (cell by cell)."""
    rows = [("student", "sample", "stock", "batch", "equal")]
    differ = []
    for student, kind in students.items():
        b = batch.get(student)
        b_text = f"{_num(b.score)}/{_num(b.max_score)}" if b else "-"
        if stock is None:
            rows.append((student, kind, "(skipped)", b_text, "-"))
            continue
        s = stock.get(student)
        s_text = f"{_num(s.score)}/{_num(s.max_score)}" if s else "-"
        equal = (s is not None and b is not None and s.score is not None
                 and s.score == b.score and dict(s.cells) == dict(b.cells))
        if not equal:
            differ.append(student)
        rows.append((student, kind, s_text, b_text, "yes" if equal else "NO"))
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    lines = ["  ".join(r[k].ljust(widths[k]) for k in range(5)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines), differ


def cell_differences(student: str, stock: dict, batch: dict) -> list[str]:
    s = dict(stock[student].cells) if student in stock else {}
    b = dict(batch[student].cells) if student in batch else {}
    return [f"  {student} {cell}: stock {s.get(cell)} batch {b.get(cell)}"
            for cell in sorted(set(s) | set(b)) if s.get(cell) != b.get(cell)]


def measure(work: Path, students: dict[str, str], args, reverse: bool, warm: bool) -> dict:
    """One round in fresh course folders below ``work``: stock, batch and exec (in that order,
    or the reverse), each phase's time and what it graded."""
    from graders.grading import coursedir as cdir
    from graders.grading.gradebook import read_scores

    start = time.perf_counter()
    batch_course = make_course(work / "batch", students, work / "batch-setup.log")
    stock_course = None if args.skip_stock else make_course(
        work / "stock", students, work / "stock-setup.log")
    if args.no_pin:
        with open(batch_course / "nbgrader_config.py", "a") as f:
            f.write("\nc.BatchGrading.pin_cpus = False\n")
    release = batch_course / "release" / ASSIGNMENT
    threads = BatchGrading(config=cdir.load_config(batch_course)).threads_per_kernel
    say(f"setup: course folders made in {time.perf_counter() - start:.1f} s (not timed)")
    if warm:
        say("warm-up: running the empty sample once ...", end=" ")
        say(f"{warm_up(release, work / 'warmup.log'):.1f} s (not counted)")

    m = {"t_stock": None, "stock_scores": None, "t_exec": None, "t_pinned": None,
         "exec_problems": []}

    def stock():
        say(f"stock: one serial nbgrader autograde of {args.students} submissions ...", end=" ")
        m["t_stock"], code = run_stock(stock_course, work / "stock-autograde.log")
        say(f"{m['t_stock']:.1f} s (exit code {code}; log {work / 'stock-autograde.log'})")
        m["stock_scores"] = read_scores(db_url(stock_course), ASSIGNMENT)

    def batch():
        say(f"batch: rnn-course grade on {args.workers} Dask workers ...", end=" ")
        m["t_batch"], m["run"] = run_batch(batch_course, args.workers, work / "batch-output.log")
        run = m["run"]
        say(f"{m['t_batch']:.1f} s ({len(run.graded)} graded, {len(run.errors)} errors; "
            f"run.seconds {run.seconds:.1f}; logs {batch_course / 'grading' / ASSIGNMENT})")
        m["batch_scores"] = read_scores(db_url(batch_course), ASSIGNMENT)
        times = judge_cost(batch_course)
        m["judge"] = times
        if times:
            say(f"judge: {len(times)} notebooks judged again from their kept evidence: median "
                f"{median(times):.3f} s, max {max(times):.3f} s per notebook (goal <= 0.2 s)")

    def execute():
        say(f"exec: every notebook once, serially, sandboxed kernel "
            f"({threads or 'default'} thread(s) per kernel) ...", end=" ")
        m["t_exec"], count, m["exec_problems"] = run_exec(students, batch_course, release,
                                                          threads, work / "exec.log")
        say(f"{m['t_exec']:.1f} s ({count} notebooks; log {work / 'exec.log'})")
        if args.exec_pinned:
            say("exec, each kernel pinned to one core as a batch worker's ...", end=" ")
            m["t_pinned"], _, _ = run_exec(students, batch_course, release, threads,
                                           work / "exec-pinned.log", pinned=True)
            say(f"{m['t_pinned']:.1f} s (log {work / 'exec-pinned.log'})")

    phases = [(name, phase) for name, phase, skip in (("stock", stock, args.skip_stock),
                                                      ("batch", batch, False),
                                                      ("exec", execute, args.skip_exec))
              if not skip]
    phases = phases[::-1] if reverse else phases
    for _, phase in phases:
        phase()
    m["order"] = ", ".join(name for name, _ in phases)
    return m


def judge_cost(course: Path) -> list[float]:
    """Seconds the judge takes per graded notebook: each notebook's kept evidence put back
    into its autograded copy and judged again (``judge_notebook``, as the preprocessor runs it;
    the first includes reading the course's files, cached afterwards). The course model's
    outputs on a notebook's probe are forgotten before each notebook (the coordinator that
    just graded the class computed them once per notebook, on the same probes)."""
    import json

    import nbformat

    from graders.grading.judging import judge_notebook, restore_evidence
    from graders.judge import CourseFiles
    from graders.judge import probe as probes
    from graders.judge import vanishing

    course_files = CourseFiles(course / "source" / ASSIGNMENT)
    times = []
    for kept_path in sorted((course / "grading" / ASSIGNMENT / "evidence").glob("*/*.json")):
        kept = json.loads(kept_path.read_text())
        path = course / "autograded" / kept_path.parent.name / ASSIGNMENT / f"{kept_path.stem}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        restore_evidence(nb, kept)
        probe = probes.from_json(json.dumps(kept["probe"])) if kept.get("probe") else None
        vanishing._COURSE_OUTPUTS.clear()
        start = time.perf_counter()
        judge_notebook(nb, course_files, probe)
        times.append(time.perf_counter() - start)
    return times


def _s(x) -> str:
    return "-" if x is None else f"{x:.1f}"


def _x(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def _pct(x) -> str:
    return "-" if x is None else f"{x * 100:.1f} %"


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=8, metavar="N",
                    help="submissions in the class (default 8)")
    ap.add_argument("--workers", type=int, default=BatchGrading().resolved_workers(), metavar="W",
                    help="Dask workers of batch grading (default: as rnn-course grade, one per "
                         "core with BatchGrading.pin_cpus)")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="work in DIR (emptied first if a previous run made it) and keep it")
    ap.add_argument("--skip-stock", action="store_true",
                    help="no plain nbgrader autograde (no speed-up, no score comparison)")
    ap.add_argument("--skip-exec", action="store_true",
                    help="no execution baseline (no overhead figure)")
    ap.add_argument("--no-pin", action="store_true",
                    help="batch grading with c.BatchGrading.pin_cpus = False (kernels float "
                         "over all cores)")
    ap.add_argument("--exec-pinned", action="store_true",
                    help="also run the execution baseline with each kernel pinned to one core "
                         "(does pinning alone make a single kernel faster?)")
    ap.add_argument("--rounds", type=int, default=1, metavar="R",
                    help="measure R rounds, each in fresh course folders, its phases in turn "
                         "in opposite orders (stock, batch, exec; then exec, batch, stock; "
                         "...), and judge the goals on the medians of the rounds' own ratios "
                         "(default 1; see below)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="do not run the empty sample once before measuring")
    args = ap.parse_args(argv)
    if args.students < 1 or args.workers < 1 or args.rounds < 1:
        ap.error("--students, --workers and --rounds must be at least 1")

    from graders.grading import sandbox
    from graders.grading.batch import package_version

    students = class_of(args.students)
    cores = os.cpu_count() or 1
    say(f"rnn-course {package_version()}; {cores} cores; W = {args.workers} workers; "
        f"N = {args.students} submissions ({', '.join(f'{k} x{list(students.values()).count(k)}' for k in KINDS)})")
    sandbox.install_kernelspec()  # the kernel nbgrader_config.py asks for (idempotent)

    with work_folder(args.keep) as tmp:
        work = Path(tmp)
        say(f"work folder: {work}{'' if args.keep else ' (removed at the end)'}")
        rounds = []
        for r in range(args.rounds):
            if args.rounds > 1:
                say(f"\nround {r + 1} of {args.rounds}")
            rounds.append(measure(work / f"round-{r + 1}" if args.rounds > 1 else work,
                                  students, args, reverse=r % 2 == 1,
                                  warm=r == 0 and not args.no_warmup))

        # ------------------------------------------------------------------ results
        last = rounds[-1]
        compared = [compare(students, m["stock_scores"], m["batch_scores"]) for m in rounds]
        say("\n" + compared[-1][0])
        differ: list[str] = []
        for r, (m, (_, round_differ)) in enumerate(zip(rounds, compared), 1):
            if round_differ:
                say(f"\nround {r}: scores differ, cell by cell:")
            for student in round_differ:
                say("\n".join(cell_differences(student, m["stock_scores"], m["batch_scores"]))
                    or f"  {student}: totals differ")
            differ += [s for s in round_differ if s not in differ]
        errors = {student: reason for m in rounds for student, reason in m["run"].errors.items()}
        for student, reason in errors.items():
            say(f"batch could not grade {student}: {reason}")
        for problem in (p for m in rounds for p in m["exec_problems"]):
            say(f"exec baseline: {problem}")

        n, w = args.students, args.workers
        c = min(w, cores)
        for m in rounds:  # the paired figures of each round
            m["speedup"] = m["t_stock"] / m["t_batch"] if m["t_stock"] else None
            m["overhead"] = ((m["t_batch"] * c - m["t_exec"]) / m["t_exec"]
                             if m["t_exec"] else None)
            m["overhead_pinned"] = ((m["t_batch"] * c - m["t_pinned"]) / m["t_pinned"]
                                    if m["t_pinned"] else None)
        say("")
        if len(rounds) > 1:
            say("round  order                 T_stock  T_batch  T_exec  T_exec pinned  "
                "speed-up  overhead")
            for r, m in enumerate(rounds, 1):
                say(f"{r:<6} {m['order']:<21} {_s(m['t_stock']):>7}  {_s(m['t_batch']):>7}  "
                    f"{_s(m['t_exec']):>6}  {_s(m['t_pinned']):>13}  "
                    f"{_x(m['speedup']):>8}  {_pct(m['overhead']):>8}")
            say(f"(the figures below: medians of the {len(rounds)} rounds; speed-up and "
                f"overhead are the medians of each round's own ratio)")
        t_batch = median(m["t_batch"] for m in rounds)
        say(f"machine: {cores} cores; W = {w}; N = {n}; rnn-course {package_version()}")
        say(f"T_batch = {t_batch:.1f} s ({t_batch / n:.1f} s per submission)")
        if last["t_stock"] is not None:
            t_stock = median(m["t_stock"] for m in rounds)
            speedup = median(m["speedup"] for m in rounds)
            say(f"T_stock = {t_stock:.1f} s ({t_stock / n:.1f} s per submission)")
            say(f"speed-up T_stock / T_batch = {speedup:.2f} (goal >= {TARGET_SPEEDUP}: "
                f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})")
        if last["t_exec"] is not None:
            t_exec = median(m["t_exec"] for m in rounds)
            overhead = median(m["overhead"] for m in rounds)
            spent = median((m["t_batch"] * c - m["t_exec"]) / n for m in rounds)
            say(f"T_exec = {t_exec:.1f} s ({t_exec / n:.1f} s per submission)")
            say(f"overhead (T_batch*C - T_exec) / T_exec with C = {c} = {overhead * 100:.1f} % "
                f"(goal <= {TARGET_OVERHEAD * 100:.0f} %: "
                f"{'met' if overhead <= TARGET_OVERHEAD else 'NOT met'}); "
                f"(T_batch*C - T_exec) / N = {spent:.1f} s per submission")
        if last["t_pinned"] is not None:
            t_pinned = median(m["t_pinned"] for m in rounds)
            overhead_pinned = median(m["overhead_pinned"] for m in rounds)
            say(f"T_exec pinned = {t_pinned:.1f} s: overhead against it "
                f"{overhead_pinned * 100:.1f} % (the baseline run as the workers run it)")
        if last["stock_scores"] is not None:
            say(f"scores: {'identical, cell by cell' if not differ else 'DIFFER: ' + ', '.join(differ)}"
                f" ({n - len(differ)}/{n} students equal"
                f"{', in every round' if len(rounds) > 1 else ''})")
        if args.keep:
            say(f"kept: {work}")
        return 1 if differ or errors else 0


if __name__ == "__main__":
    sys.exit(main())
