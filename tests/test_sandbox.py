"""The sandboxed grading kernel (graders/sandbox.py), end to end.

Real nbgrader, real gradebook, real kernels (bubblewrap + prlimit), no mocks.
The tiny course lives in tests/files/sandbox/ and does not depend on the real
assignment notebooks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # graders/ may not be pip-installed in the venv
    sys.path.insert(0, str(REPO))

from graders.grading import sandbox  # noqa: E402
from graders.kernel.limits import ENV_STATUS  # noqa: E402

FILES = Path(__file__).parent / "files" / "sandbox"
VENV_BIN = Path(sys.executable).parent
ASSIGNMENT = "sbx"
HIDDEN_MARKER = "SBX_HIDDEN_MARKER_5e1f"
LINGER_CMDLINE = "sleep\x00987654"

pytestmark = pytest.mark.skipif(
    not (shutil.which("bwrap") and shutil.which("prlimit")),
    reason="bubblewrap/prlimit not installed (apt-get install bubblewrap)",
)


@pytest.fixture(scope="session", autouse=True)
def kernelspec():
    """Install the kernel spec into this venv if it is not there yet."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(sandbox.KERNEL_NAME)
    except NoSuchKernel:
        sandbox.install_kernelspec()
    return KernelSpecManager().get_kernel_spec(sandbox.KERNEL_NAME)


@pytest.fixture(scope="session")
def kernel_env():
    """Environment for kernels/nbgrader started by these tests.

    The kernel refuses to start when an extension is missing; should
    ``graders.kernel.capture`` (a separate module) be absent, load no extension.
    """
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if importlib.util.find_spec("graders.kernel.capture") is None:
        env[sandbox.ENV_EXTENSIONS] = ""
    return env


@pytest.fixture
def use_kernel_env(kernel_env, monkeypatch):
    for key, value in kernel_env.items():
        monkeypatch.setenv(key, value)


def run_notebook(nb, cwd):
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=180, resources={"metadata": {"path": str(cwd)}},
                   **sandbox.notebook_client_kwargs()).execute()
    return nb


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.extend(str(v) for v in out.get("data", {}).values())
        parts.extend(out.get("traceback", []))
        parts.append(out.get("evalue", ""))
    return "".join(parts)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def lingering_processes() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and LINGER_CMDLINE in (proc / "cmdline").read_text():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


# --------------------------------------------------------------------------- 3.
def test_configure_sets_ipc_and_absolute_private_ip():
    from traitlets.config import Config

    c = Config()
    sandbox.configure(c)
    assert c.Execute.kernel_name == sandbox.KERNEL_NAME
    assert c.KernelManager.transport == "ipc"
    ip = c.KernelManager.ip
    assert os.path.isabs(ip)
    sockdir = Path(ip).parent
    assert sockdir.is_dir() and not sockdir.is_symlink()
    assert sockdir.stat().st_mode & 0o777 == 0o700
    assert sockdir.stat().st_uid == os.getuid()

    kwargs = sandbox.notebook_client_kwargs()
    assert kwargs["kernel_name"] == sandbox.KERNEL_NAME
    assert kwargs["config"].KernelManager.transport == "ipc"
    assert kwargs["config"].KernelManager.ip == ip
    km = sandbox.kernel_manager()
    assert (km.kernel_name, km.transport, km.ip) == (sandbox.KERNEL_NAME, "ipc", ip)


def test_kernelspec_uses_absolute_paths_and_message_interrupts(kernelspec):
    argv = kernelspec.argv
    assert os.path.isabs(argv[0]) and Path(argv[0]).exists()
    # the stable script path that installed kernel specs name (graders/sandbox.py)
    assert "-I" in argv and Path(argv[2]).resolve() == sandbox.LAUNCH_SCRIPT.resolve()
    assert sandbox.LAUNCH_SCRIPT.name == "sandbox.py" and sandbox.LAUNCH_SCRIPT.parent.name == "graders"
    assert kernelspec.interrupt_mode == "message"
    assert kernelspec.env.get("TF_CPP_MIN_LOG_LEVEL") == "3"


def test_memory_limit_is_configurable(tmp_path, monkeypatch):
    cf = tmp_path / "kernel.json"
    cf.write_text(json.dumps({"transport": "ipc", "ip": sandbox.ipc_ip()}))
    monkeypatch.setenv(sandbox.ENV_MEMORY, "2GiB")
    argv = sandbox.kernel_command(str(cf), str(tmp_path), inner=[
        sys.executable, "-c", "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
    assert int(out) == 2 << 30


# --------------------------------------------------------------------------- loud failures
def _wrapper(tmp_path, env, transport="ipc"):
    cf = tmp_path / "kernel.json"
    cf.write_text(json.dumps({"transport": transport, "ip": str(tmp_path / "k")}))
    return subprocess.run([sys.executable, "-I", str(sandbox.LAUNCH_SCRIPT), "run", "-f", str(cf)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_missing_bwrap_fails_loudly(tmp_path, kernel_env):
    res = _wrapper(tmp_path, dict(kernel_env, PATH=str(VENV_BIN)))  # no /usr/bin
    assert res.returncode != 0
    assert "apt-get install bubblewrap" in res.stderr and "NOT started" in res.stderr


def test_tcp_transport_is_refused(tmp_path, kernel_env):
    res = _wrapper(tmp_path, kernel_env, transport="tcp")
    assert res.returncode != 0 and "ipc" in res.stderr


def test_extension_is_loaded_and_failure_is_loud(tmp_path, use_kernel_env, monkeypatch):
    (tmp_path / "sbx_probe_ext.py").write_text(
        "def load_ipython_extension(ip):\n    ip.user_ns['SBX_EXT'] = 'loaded'\n")
    # an already autograded notebook next to the running one must not be readable: it is
    # not in the kernel's scratch folder, and unreadable in the read-only view of the folder
    (tmp_path / "graded_before.ipynb").write_text(HIDDEN_MARKER)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nassert not os.path.exists('graded_before.ipynb')\ntry:\n"
        f"    open('{sandbox.FILES_VIEW}/graded_before.ipynb').read()\n"
        "except PermissionError:\n    print(SBX_EXT, 'hidden')")])
    monkeypatch.setenv(sandbox.ENV_EXTENSIONS, "sbx_probe_ext")
    assert outputs_text(run_notebook(nb, tmp_path).cells[0]).strip() == "loaded hidden"
    assert (tmp_path / "graded_before.ipynb").read_text() == HIDDEN_MARKER

    # an extension that cannot be loaded stops the kernel instead of grading without it
    monkeypatch.setenv(sandbox.ENV_EXTENSIONS, "sbx_no_such_extension")
    km = sandbox.kernel_manager()
    km.start_kernel(cwd=str(tmp_path), stderr=subprocess.PIPE)
    kc = km.client()
    try:
        kc.start_channels()
        with pytest.raises(RuntimeError, match="died"):
            kc.wait_for_ready(timeout=60)
        assert "sbx_no_such_extension" in km.provisioner.process.stderr.read().decode()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# --------------------------------------------------------------------------- 2.
def test_tensorflow_fits_inside_sandbox(tmp_path, use_kernel_env):
    nb = run_notebook(nbformat.read(FILES / "tf_fit.ipynb", as_version=4), tmp_path)
    assert "TF 2." in outputs_text(nb.cells[0])
    assert "FIT_OK 3 True True" in outputs_text(nb.cells[1])
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, resource\n"
        "print(os.getpid(), resource.getrlimit(resource.RLIMIT_AS)[0], os.listdir('/'))")])
    pid, limit, *_ = outputs_text(run_notebook(probe, tmp_path).cells[0]).split(maxsplit=2)
    assert pid == "1" and int(limit) == sandbox.memory_limit()


def test_grading_kernel_runs_tf_data_without_autotuning(tmp_path, use_kernel_env):
    """The default extensions include graders.kernel.tfdata (tests/test_kernel_tfdata.py)."""
    assert "graders.kernel.tfdata" in sandbox.extensions()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import tensorflow as tf\n"
        "ds = tf.data.Dataset.range(3).prefetch(tf.data.AUTOTUNE)\n"
        "print(ds.options().autotune.enabled, [int(x) for x in ds.as_numpy_iterator()])")])
    assert outputs_text(run_notebook(nb, tmp_path).cells[0]).strip() == "False [0, 1, 2]"


# --------------------------------------------------------------------------- 1.
STUDENTS = {"alice": "correct.py", "bob": "wrong.py", "mallory": "hostile.py"}
EXPECTED = {"alice": 2.0, "bob": 0.0, "mallory": 2.0}


@pytest.fixture
def course(kernel_env):
    """A throw-away course directory.

    Deliberately not under /tmp: the sandbox mounts its own private tmpfs on
    /tmp, so for a course under /tmp the notebook folder's parents would be
    (harmless, throw-away) writable directories inside the sandbox and the
    hostile notebook could not tell that its writes went nowhere.
    """
    base = Path(tempfile.mkdtemp(prefix="sbx-course-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    root = base / "course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "source" / ASSIGNMENT / "sbx.ipynb").write_bytes((FILES / "sbx.ipynb").read_bytes())
    (root / "nbgrader_config.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})  # graders/ may not be pip-installed\n"
        "from graders.sandbox import configure\n"
        "from graders.require_verdict import install\n"
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        "c.CourseDirectory.course_id = 'sbxcourse'\n"
        "c.Execute.timeout = 240\n"
        "configure(c)\n"
        "install(c)  # the sandbox kernel runs under nbgrader autograde only with the judge\n")
    nbgrader(root, kernel_env, "generate_assignment", ASSIGNMENT)
    yield root
    shutil.rmtree(base, ignore_errors=True)


def nbgrader(root, env, *args):
    res = subprocess.run([str(VENV_BIN / "nbgrader"), *args], cwd=root, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def submit(root: Path, student: str, solution: str):
    nb = nbformat.read(root / "release" / ASSIGNMENT / "sbx.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "square"]
    cell.source = solution
    dest = root / "submitted" / student / ASSIGNMENT
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "sbx.ipynb")


def test_autograde_hostile_batch(course, kernel_env):
    root = course
    source_nb = root / "source" / ASSIGNMENT / "sbx.ipynb"
    source_hash = sha(source_nb)
    assert HIDDEN_MARKER in source_nb.read_text()

    # A listener on the grader's loopback: the hostile kernel must not reach it.
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    for student, snippet in STUDENTS.items():
        submit(root, student, (FILES / snippet).read_text().replace("{{PORT}}", str(port)))
    others_before = {s: tree_hashes(root / "submitted" / s) for s in ("alice", "bob")}

    t0 = time.perf_counter()
    res = nbgrader(root, kernel_env, "autograde", ASSIGNMENT)
    elapsed = time.perf_counter() - t0
    log = res.stdout + res.stderr

    # nobody phoned home
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()

    # gradebook intact, scores right, hostile graded on its own merits
    from nbgrader.api import Gradebook

    gradebook = root / "gradebook.db"
    assert gradebook.is_file()
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in STUDENTS}
        hidden_in_db = gb.find_source_cell("test_square", "sbx", ASSIGNMENT).source
    assert scores == EXPECTED, log
    assert HIDDEN_MARKER in hidden_in_db  # the gradebook still holds the hidden tests

    # source untouched, other students untouched
    assert sha(source_nb) == source_hash
    assert {s: tree_hashes(root / "submitted" / s) for s in ("alice", "bob")} == others_before
    for student in ("alice", "bob"):
        assert not list((root / "autograded" / student).rglob("pwned*"))
    # what the kernel wrote went to its scratch tmpfs, thrown away with it
    stray = [p for p in root.rglob("*") if "pwned" in p.name or p.name == "mallory-was-here.txt"]
    assert stray == []

    # what the hostile notebook printed
    graded = nbformat.read(root / "autograded" / "mallory" / ASSIGNMENT / "sbx.ipynb", as_version=4)
    printed = "".join(outputs_text(c) for c in graded.cells)
    assert "HOSTILE_DONE" in printed, printed
    for good in ("DB_SAFE rm gradebook", "DB_SAFE write gradebook", "SOURCE_SAFE", "SCAN_DONE",
                 "NET_BLOCKED grader loopback", "NET_BLOCKED internet", "OTHERS_SAFE",
                 "FORKED 40", "MEM_DENIED"):
        assert good in printed, printed
    found_dbs = [line.split()[1] for line in printed.splitlines() if line.startswith("DB_FOUND")]
    assert all(db.startswith(sandbox.SANDBOX_HOME + "/") for db in found_dbs), found_dbs
    for bad in ("DB_TAMPERED", "SOURCE_TAMPERED", "LEAK", "NET_OPEN", "OTHERS_TAMPERED", "MEM_GOT"):
        assert bad not in printed, printed
    assert HIDDEN_MARKER not in printed
    assert HIDDEN_MARKER not in log
    assert lingering_processes() == []  # the pid namespace died with the kernel
    print(f"nbgrader autograde of 3 sandboxed submissions: {elapsed:.1f}s")


def test_tmp_tmpfs_is_mounted_before_the_binds(tmp_path):
    """Does a course or venv living below /tmp (a CI clone) stay visible in the sandbox?"""
    cf = tmp_path / "kernel.json"
    cf.write_text(json.dumps({"transport": "ipc", "ip": sandbox.ipc_ip()}))
    argv = sandbox.kernel_command(str(cf), str(tmp_path), inner=["true"])
    first_bind = min(i for i, a in enumerate(argv) if a in ("--ro-bind", "--bind"))
    assert argv.index("--tmpfs") < first_bind


def test_each_grading_process_has_its_own_socket_directory():
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        other = pool.apply(sandbox.ipc_ip)
    assert os.path.dirname(other) != os.path.dirname(sandbox.ipc_ip())


# --------------------------------------------------------------------------- process limit
@pytest.mark.timeout(300)
def test_fork_bomb_is_stopped_in_seconds_with_a_reason(tmp_path, use_kernel_env, monkeypatch):
    """Is a fork bomb contained by the pids cgroup and its kernel stopped by the sandbox (not
    by this test), with the reason on the kernel's stderr, and is the cgroup removed
    afterwards? (The stop is the watchdog's: the bomb itself never ends.)"""
    monkeypatch.setenv(sandbox.ENV_PIDS, "64")
    if sandbox._pids_root() is None:
        pytest.skip("no pids cgroup controller on this machine")
    stderr = open(tmp_path / "kernel-stderr.log", "w+")
    km = sandbox.kernel_manager()
    km.start_kernel(cwd=str(tmp_path), stderr=stderr)
    launcher = km.provisioner.pid  # the process that joined the kernel's cgroup
    assert launcher
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                   "        pass\n")
        deadline = time.monotonic() + 120  # generous: only a bomb never stopped fails here
        while km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not km.is_alive(), "the sandbox never stopped the fork bomb's kernel (120 s)"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline and sandbox.STOPPED_PREFIX not in text:
        stderr.seek(0)
        text = stderr.read()
        time.sleep(0.2)
    assert sandbox.STOPPED_PREFIX + "more than 64 processes" in text, text[-2000:]
    ours = f"kernel-{launcher}-*"  # other kernels (other tests) may be running
    groups = sandbox._own_group(sandbox._pids_root(), "pids") / "rnn-course"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and list(groups.glob(ours)):
        time.sleep(0.2)
    assert not list(groups.glob(ours)), "the kernel's cgroup was left behind"


def test_tensorflow_kernel_stays_below_the_default_process_limit(tmp_path, use_kernel_env):
    """Does an honest TensorFlow kernel use far fewer tasks than the default limit?"""
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import tensorflow as tf, os\n"
        "print(len(os.listdir('/proc/self/task')))")])
    tasks = int(outputs_text(run_notebook(probe, tmp_path).cells[0]).split()[-1])
    assert tasks < sandbox.DEFAULT_PIDS // 4, tasks


def test_disk_filler_meets_the_scratch_cap_and_course_files_stay_read_only(tmp_path, use_kernel_env,
                                                                          monkeypatch):
    """Does a kernel that writes without end stop at its scratch cap (the host's disk
    untouched), and can it read but not change the course's data files?"""
    monkeypatch.setenv(sandbox.ENV_SCRATCH, "64M")
    (tmp_path / "model_weights.h5").write_bytes(b"course weights")
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\n"
        "print('READ', open('model_weights.h5', 'rb').read())\n"
        "try:\n    open('model_weights.h5', 'wb').write(b'mine')\nexcept OSError as e:\n"
        "    print('WEIGHTS_READ_ONLY', type(e).__name__)\n"
        "written = 0\n"
        "try:\n"
        "    for i in range(1000):\n"
        "        with open(f'fill{i}.bin', 'wb') as f:\n"
        "            f.write(b'x' * (1 << 20))\n"
        "        written += 1 << 20\n"
        "except OSError as e:\n"
        "    print('FULL', written >> 20, e.errno)\n")])
    text = outputs_text(run_notebook(probe, tmp_path).cells[0])
    assert "READ b'course weights'" in text and "WEIGHTS_READ_ONLY" in text, text
    full = text.split("FULL", 1)[1].split()
    assert int(full[0]) <= 64 and full[1] == "28", text  # ENOSPC at the cap
    assert (tmp_path / "model_weights.h5").read_bytes() == b"course weights"
    assert not list(tmp_path.glob("fill*"))


def test_output_flood_is_cut_inside_the_kernel(tmp_path, use_kernel_env, monkeypatch):
    """Is a flood of prints cut at the per-cell cap inside the kernel (one line says so),
    and does the next cell print normally again?"""
    monkeypatch.setenv("RNN_COURSE_KERNEL_OUTPUT", "10K")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("for i in range(200000):\n    print('flood', i)"),
        nbformat.v4.new_code_cell("print('after')")])
    run_notebook(nb, tmp_path)
    flood = outputs_text(nb.cells[0])
    assert len(flood) < 12_000, len(flood)
    assert "output cut by the autograder" in flood
    assert outputs_text(nb.cells[1]).strip() == "after"


# --------------------------------------------------------------------------- limits set in config
@pytest.mark.timeout(300)
def test_notebook_time_limit_from_config_stops_the_kernel_with_a_reason(tmp_path, use_kernel_env,
                                                                        capfd, monkeypatch):
    """Does ``c.KernelLimits.notebook_timeout`` (course config, through nbclient's kernel
    manager) stop a notebook that runs too long in all, although no cell hits its own
    timeout, and say why: on its stderr for people, and as data in the status file the
    grader names (what batch grading reads)?"""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from traitlets.config import Config

    status = tmp_path.parent / f"{tmp_path.name}-status.json"
    monkeypatch.setenv(ENV_STATUS, str(status))
    config = Config()
    config.KernelLimits.notebook_timeout = 4
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(2)"),
                                         nbformat.v4.new_code_cell("time.sleep(3600)")])
    with pytest.raises(DeadKernelError):
        NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}},
                       **sandbox.notebook_client_kwargs(config)).execute()
    # the notebook limit stopped it (its reason), not the 120 s cell timeout (CellTimeoutError)
    assert (sandbox.STOPPED_PREFIX + "the notebook ran longer than 4 s") in capfd.readouterr().err
    assert (sandbox.read_status(status) or "").startswith("the notebook ran longer than 4 s")


@pytest.mark.timeout(300)
def test_memory_of_all_the_kernels_processes_together_is_capped(tmp_path, use_kernel_env,
                                                               monkeypatch, capfd):
    """Is the memory limit also a limit on the kernel's processes together (each one alone
    stays below its own address-space limit), with the kernel stopped and the reason said?"""
    if sandbox._controller_root("memory") is None:
        pytest.skip("no memory cgroup controller on this machine")
    monkeypatch.setenv(sandbox.ENV_MEMORY, "1G")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import subprocess, sys, time\n"
        "kids = [subprocess.Popen([sys.executable, '-c', \"b = b'x' * (300 << 20)\\n"
        "import time\\ntime.sleep(3600)\"]) for _ in range(6)]\n"
        "time.sleep(3600)\n")])  # ends only when stopped (else: the 180 s cell timeout)
    from nbclient.exceptions import DeadKernelError

    with pytest.raises(DeadKernelError):  # the kernel died: no cell timed out
        run_notebook(nb, tmp_path)
    assert (sandbox.STOPPED_PREFIX + "the 1 GiB memory limit") in capfd.readouterr().err


@pytest.mark.timeout(300)
def test_kernel_output_below_python_is_capped_and_kept_off_the_graders_stdout(
        tmp_path, use_kernel_env, monkeypatch, capfd):
    """Does what a kernel writes to its file descriptors directly (os.write, C libraries)
    stay out of the grader's stdout and the notebook, cut at the output cap on the grader's
    stderr?"""
    monkeypatch.setenv(sandbox.ENV_OUTPUT, "64K")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nfor i in range(100_000):\n"
                                  "    os.write(1, b'fd flood %d\\n' % i)\n"
                                  "os.write(2, b'fd two\\n')"),
        nbformat.v4.new_code_cell("print('after')")])
    run_notebook(nb, tmp_path)
    assert "fd flood" not in outputs_text(nb.cells[0])
    assert outputs_text(nb.cells[1]).strip() == "after"
    # the watchdog forwards what is left in the pipe, then says where it cut: wait for that line
    out = err = ""
    deadline = time.monotonic() + 60
    while "stdout/stderr cut after 64 KiB" not in err and time.monotonic() < deadline:
        captured = capfd.readouterr()
        out, err = out + captured.out, err + captured.err
        time.sleep(0.2)
    assert "stdout/stderr cut after 64 KiB" in err, f"the cut was never reported (60 s): {err[-2000:]}"
    captured = capfd.readouterr()
    out, err = out + captured.out, err + captured.err
    assert "fd flood" not in out
    assert "fd flood 0\n" in err
    assert len(err) < 200_000


@pytest.mark.timeout(900)
def test_plain_nbgrader_autograde_applies_the_courses_kernel_limits(course, kernel_env):
    """Does ``c.KernelLimits`` in a course's nbgrader_config.py reach the kernels of plain
    ``nbgrader autograde`` (nbgrader's Execute picks its own kernel manager class, so the
    limits travel through the kernel spec's provisioner), stopping the notebook with the
    reason in nbgrader's output?"""
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "c.KernelLimits.notebook_timeout = 6\n")
    # the cell would sleep for an hour, far beyond this test's own timeout: the autograde can
    # only end (and the reason be printed) if the 6 s notebook limit stopped the kernel
    submit(course, "slow", "import time\ntime.sleep(3600)\ndef square(x):\n    return x * x\n")
    res = subprocess.run([str(VENV_BIN / "nbgrader"), "autograde", ASSIGNMENT], cwd=course,
                         env=kernel_env, capture_output=True, text=True, timeout=600)
    assert sandbox.STOPPED_PREFIX + "the notebook ran longer than 6 s" in res.stdout + res.stderr


def test_kernel_runs_on_the_cpus_it_is_given(tmp_path, use_kernel_env, monkeypatch):
    """Does RNN_COURSE_KERNEL_CPUS (set by a batch worker) pin the kernel and its threads?"""
    cpus = sorted(os.sched_getaffinity(0))
    monkeypatch.setenv(sandbox.ENV_CPUS, str(cpus[-1]))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, threading\nprint(sorted(os.sched_getaffinity(0)))")])
    assert outputs_text(run_notebook(nb, tmp_path).cells[0]).strip() == str([cpus[-1]])
