"""The pieces of batch grading that need no kernel: pipelines, gradebook template, records,
the command line's options."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, SaveAutoGrades
from traitlets.config import Config

from graders.grading import replay
from graders.grading.gradebook import read_scores, structure_copy
from graders.grading.records import Record, Store
from graders.grading.settings import BatchGrading
from helpers import ASSIGNMENT

BIN = Path(sys.executable).parent


def test_worker_pipeline_stops_after_execute_and_course_pipeline_replays_it():
    """Does the worker run the course's steps up to Execute only, and the course replace
    Execute and keep every other step (the course's own ones included)?"""
    from graders.grading.judging import FreshProbe, Judge

    config = Config()
    config.Autograde.autograde_preprocessors = [FreshProbe, Execute, Judge, SaveAutoGrades]
    assert replay.execution_only(config) == [FreshProbe, Execute, replay.KeepExecuted]
    assert replay.replaying(config) == [FreshProbe, replay.ReplayExecution, Judge,
                                        SaveAutoGrades]
    default = replay.replaying(Config())  # nbgrader's default pipeline
    assert replay.ReplayExecution in default and Execute not in default
    with pytest.raises(ValueError, match="no Execute step"):
        bad = Config()
        bad.Autograde.autograde_preprocessors = [SaveAutoGrades]
        replay.execution_only(bad)


def test_template_gradebook_has_the_cells_and_no_student(released_course):
    """Does a worker's private gradebook hold every cell of the assignment and no student?"""
    url = f"sqlite:///{released_course / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_student("someone")
    copy = structure_copy(url, released_course / "template.db")
    with Gradebook(f"sqlite:///{copy}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        assert sorted(nb.name for nb in assignment.notebooks) == ["exploding_gradients",
                                                                  "vanishing_gradients"]
        assert sum(len(nb.grade_cells) for nb in assignment.notebooks) == 6
        assert sum(len(nb.source_cells) for nb in assignment.notebooks) > 6
        assert gb.students == []
    assert read_scores(f"sqlite:///{copy}", ASSIGNMENT) == {}


def test_records_are_written_whole_and_a_damaged_one_means_grade_again(tmp_path):
    store = Store(tmp_path, ASSIGNMENT)
    record = Record(student="ann", assignment=ASSIGNMENT, outcome="graded", reason=None,
                    score=4.0, max_score=9.0, digest="abc")
    store.write(record)
    assert store.read("ann") == record
    assert [p.name for p in store.records_dir.iterdir()] == ["ann.json"]  # no temp file left
    store.record_path("bob").write_text('{"student": "bob", "outc')  # killed mid-write by hand
    assert store.read("bob") is None and [r.student for r in store.all()] == ["ann"]


def test_cli_options_carry_the_configuration_help():
    """Is the help of `rnn-course grade` the help written once on the traitlets?"""
    out = subprocess.run([str(BIN / "rnn-course"), "grade", "--help"], capture_output=True,
                         text=True, check=True).stdout
    flat = " ".join(out.split())
    for name in ("workers", "scheduler"):
        assert " ".join(BatchGrading.class_traits()[name].help.split())[:60] in flat
    for option in ("--course", "--assignment", "--student", "--force"):
        assert option in out


def test_course_configuration_sets_the_grading_options(course):
    """Do `c.BatchGrading.*` lines in nbgrader_config.py reach the batch grader?"""
    from graders.grading.coursedir import load_config

    config_file = course / "nbgrader_config.py"
    config_file.write_text(config_file.read_text() + "\nc.BatchGrading.workers = 7\n")
    assert BatchGrading(config=load_config(course)).resolved_workers() == 7


def test_grade_outside_a_course_says_where_to_run_it(tmp_path):
    out = subprocess.run([str(BIN / "rnn-course"), "grade", "--course", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "nbgrader_config.py" in out.stderr
    assert "Traceback" not in out.stderr


def test_grade_before_release_says_release_first(course):
    out = subprocess.run([str(BIN / "rnn-course"), "grade", "--course", str(course)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "release it first" in out.stderr, out.stderr


def test_stable_names_outside_the_code_still_work():
    """Do the names stored in notebooks, kernel specs and course configs still import?"""
    from graders import notebook, require_verdict, sandbox

    assert callable(notebook.run_check) and callable(require_verdict.install)
    assert callable(sandbox.configure)
    assert sandbox.LAUNCH_SCRIPT == Path(sandbox.__file__).resolve()
    out = subprocess.run([sys.executable, "-I", str(sandbox.LAUNCH_SCRIPT), "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "selftest" in out.stdout


def test_limits_met_are_read_from_the_executed_notebooks_and_the_kernel_log():
    """Does ``limits_hit`` name a MemoryError, an output cut inside the kernel, a full
    scratch disk and a cut kernel stream, per notebook, and nothing for a clean notebook?"""
    import nbformat

    from graders.grading.batch import OUTPUT_CUT, STDERR_CUT, limits_hit
    from graders.grading.settings import KernelLimits

    v4 = nbformat.v4
    hit = v4.new_notebook(cells=[
        v4.new_code_cell("x", outputs=[v4.new_output("error", ename="MemoryError", evalue="",
                                                     traceback=[])]),
        v4.new_code_cell("y", outputs=[v4.new_output("stream", name="stdout",
                                                     text=f"a\n{OUTPUT_CUT}: more than 1 MiB]")]),
        v4.new_code_cell("z", outputs=[v4.new_output(
            "error", ename="OSError", evalue="[Errno 28] No space left on device", traceback=[])])])
    clean = v4.new_notebook(cells=[v4.new_code_cell("print(1)", outputs=[
        v4.new_output("stream", name="stdout", text="1\n")])])
    limits = KernelLimits(memory="4G", output="1M", scratch="1G")
    found = limits_hit({"nb1": nbformat.writes(hit), "nb2": nbformat.writes(clean)},
                       f"...\n{STDERR_CUT} after 1 MiB]\n", limits)
    assert found[0] == "nb1: the 4G memory limit (MemoryError)"
    assert any(f.startswith("nb1: the 1M output limit") for f in found)
    assert any(f.startswith("nb1: the 1G disk limit (OSError") for f in found)
    assert found[-1].startswith("the 1M limit on the kernel's own stdout/stderr")
    assert not any(f.startswith("nb2") for f in found)
    assert limits_hit({"nb2": nbformat.writes(clean)}, "", limits) == []


def test_local_cluster_workers_get_a_core_each_round_robin():
    """Does each worker of an embedded LocalCluster get its own core for its kernels (and
    none when pinning is off)?"""
    import os

    from graders.grading import batch, sandbox

    cpus = sorted(os.sched_getaffinity(0))
    with batch.dask_client(workers=len(cpus) + 1, scheduler="", allowed_failures=0) as client:
        names = {w["name"]: address for address, w in client.scheduler_info()["workers"].items()}

        def on(i, pin):  # what a task on worker i is given
            return client.submit(batch._placement, pin, workers=[names[i]], pure=False).result()

        got = [on(i, True).get(sandbox.ENV_CPUS) for i in range(len(cpus) + 1)]
        assert got == [str(c) for c in cpus] + [str(cpus[0])]
        assert on(0, False) == {}


def test_what_the_cluster_prints_goes_to_the_runs_log_not_the_terminal(tmp_path, capfd):
    """A worker process's stderr (Dask's heartbeat errors at shutdown, warnings, tracebacks)
    and the errors of the nannies and scheduler in this process land in grade.log; the
    instructor's terminal stays calm (it showed a worker's heartbeat traceback once)."""
    import logging

    from graders.grading.batch import cluster

    log_file = tmp_path / "grade.log"
    dask_log = logging.getLogger("distributed")
    before = dask_log.handlers[:], dask_log.propagate

    def shout(tag):  # in the worker process, after its start-up
        import sys
        logging.getLogger("distributed.worker").error("worker logged %s", tag)
        print(f"worker printed {tag}", file=sys.stderr, flush=True)
        return True

    with cluster._logging_to(log_file):
        with cluster.dask_client(workers=1, scheduler="", allowed_failures=0,
                                 log_file=log_file) as client:
            assert client.submit(shout, "w1", pure=False).result()
            logging.getLogger("distributed.scheduler").error("scheduler logged s1")
        logging.getLogger("graders.grading.batch").info("after the cluster")
    err = capfd.readouterr().err
    text = log_file.read_text()
    for line in ("worker logged w1", "worker printed w1", "scheduler logged s1",
                 "after the cluster"):
        assert line in text
        assert line not in err
    assert err == ""
    # and after the run, Dask's loggers write where they did before
    assert (dask_log.handlers, dask_log.propagate) == before


@pytest.mark.timeout(600)
def test_submissions_go_to_the_cluster_one_per_free_worker_thread_longest_first():
    """Does ``in_window`` keep no more submissions on the cluster than it has worker threads
    (a worker takes the next one only when it is free), run them in the order given, let a
    long one hold up only its own worker, and cancel what is left when the caller stops?

    No clock decides anything here: the long submission is held on a ``distributed.Event``
    until every short one has come back, each task takes a number from a counter on the
    scheduler when it starts, and the short ones start only once the long one has."""
    from distributed import Event, Lock, Variable

    from graders.grading import batch

    LONG = 2.0

    def in_flight(dask_scheduler):  # our tasks the scheduler holds that have not finished
        return sum(1 for key, ts in dask_scheduler.tasks.items()
                   if str(key).startswith("window-") and ts.state not in (
                       "memory", "erred", "released", "forgotten"))

    def task(shared, item):
        from distributed import get_client, get_worker

        def started():  # the next number of the counter on the scheduler
            with Lock("window-order"):
                counter = Variable("window-order")
                n = counter.get()
                counter.set(n + 1)
                return n

        busy = get_client().run_on_scheduler(in_flight)
        if item == LONG:
            order = started()
            Event("window-long-started").set()
            released = Event("window-long-release").wait(timeout=300)
        elif item == "hold":  # runs until the test lets it go
            order, released = started(), Event("window-hold").wait(timeout=300)
        else:
            # started after the long one, whatever the machine's load: false only if a short
            # one was handed out before the long one
            released = Event("window-long-started").wait(timeout=120)
            order = started()
        return {"busy": busy, "order": order, "worker": get_worker().address,
                "shared": shared, "released": released}

    with batch.dask_client(workers=2, scheduler="", allowed_failures=0) as client:
        Variable("window-order", client=client).set(0)
        shared = client.submit(lambda: "bundle", pure=False)
        items = [LONG, 0.4, 0.35, 0.3, 0.25]  # longest first, as grade_class orders them
        got = []
        for item, future in batch.in_window(client, task, shared, items,
                                            key=lambda s: f"window-{s}", poll=0.5):
            got.append((item, future.result()))
            if len(got) == len(items) - 1:  # every short one is back: let the long one end
                Event("window-long-release", client=client).set()
        assert sorted(item for item, _ in got) == sorted(items)
        results = dict(got)
        assert all(r["shared"] == "bundle" for r in results.values())
        assert max(r["busy"] for r in results.values()) <= 2  # never more than the 2 threads
        assert [item for item, _ in got][-1] == LONG and results[LONG]["released"], \
            "the long submission did not outlast the short ones (it ended without its event)"
        assert all(r["released"] for r in results.values()), \
            "a short submission started before the long one had"
        by_start = sorted(items, key=lambda item: results[item]["order"])
        assert by_start == items, by_start
        assert all(r["worker"] != results[LONG]["worker"] for item, r in got if item != LONG), \
            "a short submission waited behind the long one while the other worker was free"

        stop = batch.in_window(client, task, shared, [0.2, "hold", "hold", "hold"],
                               key=lambda s: f"window-{s}", poll=0.5)
        next(stop)
        assert client.run_on_scheduler(in_flight) > 0  # held: something to cancel
        stop.close()  # the caller stops (Ctrl-C): what is running or queued is cancelled
        deadline = time.monotonic() + 120
        while client.run_on_scheduler(in_flight) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.run_on_scheduler(in_flight) == 0, \
            "the held submissions were never cancelled (120 s)"
        Event("window-hold", client=client).set()  # the cancelled tasks' threads end


def test_the_watchdogs_stop_reason_travels_as_data(tmp_path):
    """The sandbox's launcher writes why it stopped a kernel into the file the grader named;
    batch grading reads it back as data (no parsing of the kernel's stderr), and a notebook
    nobody stopped has no reason."""
    from graders.grading import sandbox
    from graders.grading.batch import failure_reason
    from graders.kernel.limits import ENV_STATUS

    status = tmp_path / "status.json"
    assert sandbox.read_status(status) is None
    sandbox.write_status("the 4 GiB memory limit", {ENV_STATUS: str(status)})
    assert sandbox.read_status(status) == "the 4 GiB memory limit"
    assert failure_reason(RuntimeError("Kernel died"), sandbox.read_status(status)) == \
        "stopped: the 4 GiB memory limit"
    assert failure_reason(RuntimeError("Kernel died"), None).endswith("(RuntimeError: Kernel died)")
    sandbox.write_status("ignored", {})  # no file named: nothing written, nothing raised
    status.write_text("not json")
    assert sandbox.read_status(status) is None
