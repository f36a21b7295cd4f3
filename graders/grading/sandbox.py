"""Run every graded notebook in a sandboxed Jupyter kernel (bubblewrap + prlimit).

Why
---
Stock ``nbgrader autograde`` executes student code with the grader's rights: a
submission doing ``os.remove('../../../gradebook.db')`` or overwriting
``source/`` destroys the batch, and one that reads ``source/`` or the gradebook
can print the hidden tests into its (later released) feedback.  Instead, the
kernel spec ``rnn-course-sandbox`` starts ipykernel through this module::

    python -I /path/to/graders/sandbox.py run -f {connection_file}

which ``exec``s (see :func:`kernel_command` for the full argv)::

    prlimit --as=4GiB --fsize=1GiB -- bwrap
        --unshare-user --disable-userns --cap-drop ALL
        --unshare-pid --as-pid-1 --unshare-net --unshare-ipc --unshare-uts
        --unshare-cgroup-try --die-with-parent --hostname sandbox --clearenv ...
        --ro-bind /usr ... (the Python install, the venv, graders/, /etc pieces)
        --dev /dev --proc /proc --remount-ro /proc --size 1GiB --tmpfs /tmp
        --bind <notebook folder> <same> [--ro-bind /dev/null <each *.ipynb in it>]
        --bind <socket dir> <same>
        --ro-bind <connection file> <same> --remount-ro / --chdir <notebook folder>
        -- python -c "<ipykernel_launcher without cwd on sys.path>" -f <connection file>
           --InteractiveShellApp.reraise_ipython_extension_failures=True --ext=graders.kernel.capture
           --ext=graders.kernel.tfdata

Security reasoning
------------------
* **Filesystem: allow-list, not deny-list.**  The sandbox root is an empty
  tmpfs, remounted read-only at the end.  Only what Python needs is bound
  read-only: ``/usr`` (+ the ``/bin``, ``/lib*``, ``/sbin`` symlinks or dirs), a
  few harmless ``/etc`` files, the base Python install and the venv, and the
  ``graders/`` package directory (for the ``graders.kernel.capture`` extension) --
  never the repository/course root, ``source/``, ``release/``, ``submitted/``,
  other students' folders or ``gradebook.db``: they simply do not exist inside.
  Binding ``/`` read-only would still leak the hidden tests (source notebooks,
  gradebook), so we don't.
* **Writable:** a private scratch folder where the kernel starts, a private
  tmpfs ``/tmp`` (also HOME and MPLCONFIGDIR) and the ipc socket directory (a
  dedicated 0700 directory that holds only kernel sockets, *not* the Jupyter
  runtime dir, which holds other kernels' connection files/keys).  The kernel's
  folder (the cwd jupyter_client chose, i.e. ``autograded/<student>/<a>``) is
  bound **read-only** at ``/run/rnn-course/files`` and the kernel's cwd, at the
  same path as on the host, is a size-capped tmpfs (default 1 GiB, env
  ``RNN_COURSE_KERNEL_SCRATCH``) holding a symlink to each of its files: the
  student's code reads the data as before, but cannot change the course's data
  and weights the checks compare with, and everything it writes goes to the
  scratch tmpfs, which is thrown away with the kernel (a disk filler meets
  ENOSPC at the cap, the host's disk is never touched).  ``*.ipynb`` files get
  no symlink and are made unreadable in the read-only view (see
  :func:`_hide_notebooks`).  The connection file itself is bound read-only.  The
  wrapper refuses a cwd that contains the venv, ``graders/`` or a
  ``gradebook.db`` (e.g. a notebook run from the course root).  (If the folder
  lies under the host's /tmp, its parent directories are throw-away directories
  on the sandbox's own /tmp tmpfs, hence writable but meaningless.)
* **No privileges.**  The grader usually runs as root, and bwrap run by root
  *keeps all capabilities* unless told otherwise (a sandboxed root could simply
  remount the binds read-write).  ``--cap-drop ALL`` empties every capability
  set including the bounding set; ``--unshare-user --disable-userns`` forbids
  creating nested user namespaces (the usual way back to capabilities);
  bwrap sets ``no_new_privs``.  ``/proc`` is remounted read-only because uid 0
  without capabilities may still *write* most ``/proc/sys`` files by DAC
  (e.g. ``kernel/core_pattern`` = host root code execution), and bwrap 0.8 does
  not cover ``/proc/sys`` here.
* **No network:** ``--unshare-net`` (only a private loopback).  The kernel
  therefore speaks ZMQ over unix sockets (``transport='ipc'``); see
  :func:`configure`.
* **No other processes:** ``--unshare-pid`` (the kernel is pid 1 thanks to
  ``--as-pid-1``, otherwise ipykernel's parent poller sees ppid 1 and exits);
  when pid 1 dies the kernel kills every process in the namespace, and
  ``--die-with-parent`` kills the kernel when the grader dies.
* **Resources** (configured as ``c.KernelLimits.*`` traitlets in ``nbgrader_config.py``,
  :class:`graders.grading.settings.KernelLimits`; the kernel spec's provisioner,
  :class:`graders.grading.kernels.SandboxProvisioner`, hands them
  to this launcher as the ``RNN_COURSE_KERNEL_*`` environment variables):
  ``prlimit --as`` caps each process's address space (default 4 GiB; TensorFlow trains fine
  under it), ``--fsize`` the size of any written file, the tmpfs are size-capped.  RLIMIT_NPROC
  is not enforced for uid 0 and an address-space limit is per process, so the kernel is also
  put in cgroups (v1 ``/sys/fs/cgroup/<controller>``, or v2 where the machine has it, nested
  below the grader's own group): **pids** (``pids.max``, default 256 tasks, threads included)
  and **memory** (the same 4 GiB for all its processes together, so six children of 900 MiB
  each cannot take the grader's machine).  A watchdog outside the sandbox (see
  :func:`_apply_limits`) kills every task of the kernel as soon as a fork failed because the
  group is full, the memory limit killed a process, or the notebook's wall time (default
  1200 s; cells have nbgrader's ``Execute.timeout``) is up, and says why on the kernel's
  stderr ("rnn-course sandbox: kernel stopped: more than 256 processes and threads"), which
  :func:`graders.grading.batch.failure_reason` puts in the summary.  The kernel's fd 1 and 2
  (``os.write``, C libraries, crash reports) are a pipe the watchdog forwards to the
  grader's stderr, cut at the output cap (ipykernel's fd capture is off, so that output
  never bypasses the per-cell cap of :mod:`graders.kernel.capture`).  Without a writable
  controller (no root, no delegation) the kernel starts with a warning on stderr.  NOT
  capped: the kernel's share of the CPU (only its wall time is), and the number of files it
  makes in its tmpfs (bounded only by their size and its memory, which tmpfs pages count in).
* **Environment:** cleared; only PATH (venv first), HOME, LANG, MPLCONFIGDIR,
  TF_CPP_MIN_LOG_LEVEL=3, PYTHONPATH (graders/) and the short allow-list
  ``ENV_PASSTHROUGH`` are set: no grader secrets, no PYTHONWARNINGS.
* **Interrupts** use ``interrupt_mode: message``: jupyter_client's default
  SIGINT to the process group would hit bwrap, which dies (and the kernel
  with it); nbgrader interrupts cells on timeout.
* **Launcher hygiene:** the wrapper runs with ``python -I`` and an absolute
  script path, because the kernel's cwd is the student's folder: with
  ``python -m graders.grading.sandbox`` a submitted ``graders/sandbox.py`` would run
  *outside* the sandbox.  For the same reason ipykernel is not started with
  ``-m ipykernel_launcher`` (a submitted ``ipykernel_launcher.py`` would replace
  the kernel and could answer every test with "ok").
* **No silent fallback:** if bwrap/prlimit are missing, or the connection is not
  ipc, the wrapper exits non-zero with a message; the kernel never starts
  unsandboxed.

Not protected:

* by design of in-process grading, student code runs in the same interpreter
  as the hidden tests that follow it and can tamper with them or print them
  (e.g. an IPython input transformer).  The sandbox protects the grader's
  machine, the gradebook and the hidden-test *files*, not the kernel's integrity.
* everything under ``graders/`` is readable by student code.
* kernels share the socket directory: a hostile kernel running *at the same
  time* as another sandboxed kernel of the same user could unlink/re-bind that
  kernel's sockets (messages are HMAC-signed, not encrypted).  nbgrader grades
  one notebook at a time, and a kernel's processes die with it.

Extensions: ipykernel loads ``graders.kernel.capture`` (figures, errors, the per-cell output
cap) and ``graders.kernel.tfdata`` (tf.data without autotuning: the same numbers without
autotuning's idle waits, which cost a kernel pinned to one core a third of its time) at start
(env ``RNN_COURSE_KERNEL_EXTENSIONS``, comma separated, empty = none) and the kernel fails to
start if an extension cannot be loaded.

CLI: ``python -m graders.grading.sandbox install | selftest | run -f CONNECTION_FILE``.
Only the standard library is imported at module level (the ``run`` path must be
fast and must not import anything from the student's folder).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# The limits' names and defaults, one place for the traitlets, this launcher and the kernel
# (re-exported here: graders.grading.sandbox.ENV_MEMORY and the like keep working).
from graders.kernel.limits import (  # noqa: F401
    DEFAULT_EXTENSIONS, DEFAULT_MEMORY, DEFAULT_OUTPUT, DEFAULT_PIDS, DEFAULT_SCRATCH,
    DEFAULT_SECONDS, ENV_CPUS, ENV_EXTENSIONS, ENV_MEMORY, ENV_OUTPUT, ENV_PIDS, ENV_SCRATCH,
    ENV_SECONDS, GRADING_ENV, parse_size as _parse_size)

KERNEL_NAME = "rnn-course-sandbox"
DISPLAY_NAME = "Python 3 (rnn-course sandbox)"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../graders (bound into the sandbox)
#: The script the kernel spec runs: a stable path (installed kernel specs name it).
LAUNCH_SCRIPT = PACKAGE_DIR / "sandbox.py"

#: How the watchdog announces a stopped kernel (graders.grading.batch reads it back).
STOPPED_PREFIX = "rnn-course sandbox: kernel stopped: "
#: How the watchdog says it cut the kernel's own stdout/stderr (batch lists it as a limit met).
STDERR_CUT = "[rnn-course sandbox: the kernel's stdout/stderr cut"
#: The kernel spec's provisioner (graders.grading.kernels.SandboxProvisioner, pyproject.toml).
PROVISIONER_NAME = KERNEL_NAME
FILE_SIZE_LIMIT = "1G"  # RLIMIT_FSIZE: largest file the kernel may write
TMPFS_SIZE = 1 << 30  # /tmp (and HOME) inside the sandbox
#: Where the kernel's folder is seen, read-only, inside the sandbox.
FILES_VIEW = "/run/rnn-course/files"
SANDBOX_HOME = "/tmp/home"

# Small, secret-free parts of /etc that Python, matplotlib & co. may look at.
ETC_FILES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group",
    "nsswitch.conf", "localtime", "hosts", "mime.types", "fonts", "ssl",
)
# Variables passed from the grader's environment into the kernel (nothing else is).
# JPY_PARENT_PID only silences ipykernel's "Ctrl-C will not work" banner: its parent
# poller cannot see that pid from inside the pid namespace and stays idle.
ENV_PASSTHROUGH = (
    "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "JPY_PARENT_PID", "OMP_NUM_THREADS",
    "TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "KERAS_BACKEND",
)

INSTALL_HINT = (
    "The rnn-course sandbox kernel needs bubblewrap (bwrap) and prlimit (util-linux).\n"
    "Install them, e.g.  apt-get install bubblewrap util-linux   (Debian/Ubuntu)\n"
    "                    dnf install bubblewrap util-linux       (Fedora/RHEL)\n"
    "then check with:    python -m graders.grading.sandbox selftest\n"
    "The kernel refuses to run student code unsandboxed."
)


class SandboxError(RuntimeError):
    """The sandbox cannot be set up; the kernel must not start."""


# --------------------------------------------------------------------------- paths
def runtime_dir() -> Path:
    """Private (0700, owned by us, not a symlink) directory for the ipc sockets."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base or not os.path.isdir(base):
        base = "/tmp"
    path = Path(base) / f"rnn-course-sandbox-{os.getuid()}"
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != os.getuid():
        raise SandboxError(f"{path} is not a directory owned by uid {os.getuid()}; remove it")
    os.chmod(path, 0o700)
    return path


def ipc_ip() -> str:
    """Absolute ipc 'ip' for jupyter_client: sockets are created as ``<ip>-<port>``.

    One directory per grading process, so that two graders running at once (two nbgrader
    runs, a test suite beside a self-check) never pick the same socket names, and a kernel
    sees only the sockets of its own grading run.
    """
    path = runtime_dir() / str(os.getpid())
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path / "kernel")



def memory_limit() -> int:
    return _parse_size(os.environ.get(ENV_MEMORY) or DEFAULT_MEMORY)


def extensions() -> list[str]:
    raw = os.environ.get(ENV_EXTENSIONS, DEFAULT_EXTENSIONS)
    return [e.strip() for e in raw.split(",") if e.strip()]


# --------------------------------------------------------------------------- command
def _require_tools() -> tuple[str, str]:
    bwrap, prlimit = shutil.which("bwrap"), shutil.which("prlimit")
    if not bwrap or not prlimit:
        missing = " and ".join(n for n, p in (("bwrap", bwrap), ("prlimit", prlimit)) if not p)
        raise SandboxError(f"{missing} not found on PATH.\n{INSTALL_HINT}")
    return bwrap, prlimit


def _ro_system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    seen = {"/usr"}
    # Base interpreter, venv (sys.prefix is the venv when run by the venv python),
    # and the graders package directory (NOT its parent: that is the course root).
    for path in (sys.base_prefix, sys.prefix, str(PACKAGE_DIR)):
        real = os.path.realpath(path)
        if any(real == s or real.startswith(s + "/") for s in seen):
            continue
        seen.add(real)
        args += ["--ro-bind", real, real]
        if path != real:  # keep the unresolved spelling working too
            args += ["--ro-bind", real, path]
    return args


def scratch_size() -> int:
    return _parse_size(os.environ.get(ENV_SCRATCH) or DEFAULT_SCRATCH)


def _files_view(cwd: str, bound_later: tuple[str, ...] = ()) -> list[str]:
    """The kernel's folder read-only at :data:`FILES_VIEW`, and its cwd a size-capped tmpfs
    with a symlink to each file (notebooks, and paths bound later, excepted)."""
    args = ["--ro-bind", cwd, FILES_VIEW, *_hide_notebooks(cwd, FILES_VIEW),
            "--size", str(scratch_size()), "--tmpfs", cwd]
    for name in sorted(os.listdir(cwd)):
        if not name.endswith(".ipynb") and os.path.join(cwd, name) not in bound_later:
            args += ["--symlink", f"{FILES_VIEW}/{name}", os.path.join(cwd, name)]
    return args


def _hide_notebooks(cwd: str, view: str) -> list[str]:
    """Cover every ``*.ipynb`` below the kernel's folder (as seen at ``view``) with /dev/null.

    bwrap binds are ``nodev``, so opening such a file fails with PermissionError.

    nbgrader autogrades the notebooks of one assignment one after the other into
    the same folder, so while notebook 2 runs, the already autograded notebook 1
    (student code *plus its hidden tests*) lies next to it.  The kernel never
    needs notebook files: nbclient sends the cells over ZMQ.
    """
    args = []
    for dirpath, dirnames, filenames in os.walk(cwd):
        inside = os.path.join(view, os.path.relpath(dirpath, cwd))
        args += [a for f in sorted(filenames) if f.endswith(".ipynb")
                 for a in ("--ro-bind", "/dev/null", os.path.normpath(os.path.join(inside, f)))]
    return args


_LAUNCHER = "import sys; del sys.path[0]; from ipykernel import kernelapp; kernelapp.launch_new_instance()"


def kernel_command(connection_file: str, cwd: str | None = None,
                   inner: list[str] | None = None, kernel_args: tuple[str, ...] = ()) -> list[str]:
    """Full prlimit+bwrap argv running ``inner`` (default: ipykernel) in the sandbox.

    ``kernel_args`` are extra ipykernel arguments (nbgrader appends
    ``--HistoryManager.hist_file=:memory:`` to the kernel spec's argv).
    """
    bwrap, prlimit = _require_tools()
    cwd = os.path.realpath(cwd or os.getcwd())
    if cwd == "/" or os.path.exists(os.path.join(cwd, "gradebook.db")) or any(
            os.path.realpath(p).startswith(cwd + "/") for p in (sys.prefix, str(PACKAGE_DIR))):
        # e.g. a notebook run from the repository root: binding that read-write
        # would expose gradebook.db, source/ and the venv.
        raise SandboxError(f"refusing to bind {cwd} read-write: it contains the course/venv")
    connection_file = os.path.realpath(connection_file)
    with open(connection_file) as f:
        info = json.load(f)
    if info.get("transport") != "ipc" or not os.path.isabs(info.get("ip", "")):
        raise SandboxError(
            "the sandboxed kernel needs transport='ipc' with an absolute ip (the network "
            "is unshared); call graders.sandbox.configure(c) in nbgrader_config.py or use "
            "graders.grading.sandbox.notebook_client_kwargs()")
    socket_dir = os.path.dirname(info["ip"])

    if inner is None:
        # Like ``python -m ipykernel_launcher`` but the module cannot come from the
        # cwd (the student's folder); IPython re-adds cwd after the stdlib later.
        inner = [sys.executable, "-c", _LAUNCHER, "-f", connection_file,
                 "--InteractiveShellApp.reraise_ipython_extension_failures=True",
                 # fd 1/2 stay the launcher's pipe (see _apply_limits), not the notebook's
                 # output, which graders.kernel.capture caps
                 "--IPKernelApp.capture_fd_output=False"]
        inner += [f"--ext={ext}" for ext in extensions()] + list(kernel_args)

    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "MPLCONFIGDIR": f"{SANDBOX_HOME}/.config/matplotlib",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PACKAGE_DIR.parent),  # only graders/ is bound below it
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # `rnn-course check` run from a cell of a notebook being graded does not grade again
        GRADING_ENV: "1",
        # what one cell may print (graders.kernel.capture cuts the rest inside the kernel)
        ENV_OUTPUT: os.environ.get(ENV_OUTPUT) or DEFAULT_OUTPUT,
    }
    env.update({k: os.environ[k] for k in ENV_PASSTHROUGH if k in os.environ})
    mem = memory_limit()
    return [
        prlimit, f"--as={mem}", f"--fsize={_parse_size(FILE_SIZE_LIMIT)}", "--",
        bwrap,
        "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
        "--unshare-pid", "--as-pid-1", "--unshare-net", "--unshare-ipc",
        "--unshare-uts", "--hostname", "sandbox", "--unshare-cgroup-try",
        "--die-with-parent", "--clearenv",
        *[a for k, v in env.items() for a in ("--setenv", k, v)],
        # /tmp first: the course or its venv may live below /tmp (a CI clone), and a tmpfs
        # mounted after their binds would hide them.
        "--size", str(TMPFS_SIZE), "--tmpfs", "/tmp",
        "--dir", SANDBOX_HOME,
        *_ro_system_binds(),
        "--dev", "/dev",
        "--proc", "/proc", "--remount-ro", "/proc",
        *_files_view(cwd, bound_later=(connection_file,)),
        "--bind", socket_dir, socket_dir,
        "--ro-bind", connection_file, connection_file,
        "--remount-ro", "/",
        "--chdir", cwd,
        "--", *inner,
    ]


def pids_limit() -> int:
    return int(os.environ.get(ENV_PIDS) or DEFAULT_PIDS)


def notebook_seconds() -> int:
    """Wall time one kernel (nbgrader starts one per notebook) may live; 0 = no limit."""
    return int(float(os.environ.get(ENV_SECONDS) or DEFAULT_SECONDS))


def _human(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):g} {unit}"
    return f"{size} bytes"


def _controller_root(controller: str) -> Path | None:
    """Where this process's group of ``controller`` lives: cgroup v1's own hierarchy
    (``/sys/fs/cgroup/<controller>``) or the v2 unified one; None without the controller."""
    v1 = Path("/sys/fs/cgroup") / controller
    if (v1 / "cgroup.procs").exists():
        return v1
    v2 = Path("/sys/fs/cgroup")
    try:
        if controller in (v2 / "cgroup.controllers").read_text().split():
            return v2
    except OSError:
        pass
    return None


def _pids_root() -> Path | None:
    return _controller_root("pids")


def _own_group(root: Path, controller: str) -> Path:
    """The group this process is in (kernels' groups nest below it, so a limit set on the
    grader's own group still covers its kernels); the hierarchy's root if unknown."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if (controller in names.split(",") if names else root.name == "cgroup"):
                group = root / path.lstrip("/")
                return group if group.is_dir() else root
    except (OSError, ValueError):
        pass
    return root


def _tasks(group: Path) -> list[int]:
    try:
        return [int(x) for x in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _counter(path: Path, key: str) -> int:
    """A ``key value`` line of a cgroup file (pids.events, memory.oom_control/events)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _limit_hits(group: Path) -> int:
    return _counter(group / "pids.events", "max")


def _oom_kills(group: Path) -> int:
    """Processes the kernel's memory limit killed (v1 memory.oom_control, v2 memory.events)."""
    return max(_counter(group / "memory.oom_control", "oom_kill"),
               _counter(group / "memory.events", "oom_kill"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


@dataclass
class Limits:
    """The kernel's cgroups (one per controller in v1, one in v2) and what they cap."""

    groups: dict  # controller -> Path of the kernel's group
    processes: int = 0
    memory: int = 0
    seconds: float = 0.0

    def paths(self) -> list[Path]:
        return list(dict.fromkeys(self.groups.values()))

    def reason(self, started: float, timed: bool = True) -> str | None:
        """Why the kernel must be stopped now, or None (``timed=False``: the cgroups only)."""
        if "pids" in self.groups and _limit_hits(self.groups["pids"]):
            return f"more than {self.processes} processes and threads (a fork bomb?)"
        if "memory" in self.groups and _oom_kills(self.groups["memory"]):
            return (f"the {_human(self.memory)} memory limit (all its processes together; "
                    f"the system killed one of them)")
        if timed and self.seconds and time.monotonic() - started > self.seconds:
            return f"the notebook ran longer than {self.seconds:g} s (its time limit)"
        return None


def _watch(limits: Limits, kernel: int, started: float, poll: float = 0.1) -> None:
    """The watchdog's loop (outside the sandbox, outside the groups): when a limit is hit
    (a fork failed because the group is full, the memory limit killed a process, the
    notebook's time is up), kill every task of the kernel and say why on its stderr; when
    the kernel is gone, remove its groups. Without groups it watches the kernel's own pid
    (pid 1 of its namespace: everything there dies with it) for the wall time."""
    paths = limits.paths()

    def tasks() -> list[int]:
        if paths:
            return _tasks(paths[0])
        return [kernel] if _alive(kernel) else []

    while paths and not tasks() and _alive(kernel):  # the kernel joins right after the fork
        time.sleep(0.01)
    said = False

    def say(reason: str | None) -> None:
        nonlocal said
        if reason and not said:
            os.write(2, f"\n{STOPPED_PREFIX}{reason}\n".encode())
            said = True

    while running := tasks():
        reason = limits.reason(started)
        if reason:
            say(reason)
            for pid in running:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
        time.sleep(poll)
    say(limits.reason(started, timed=False))  # the memory limit may have killed the kernel
    for group in paths:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


#: What a kernel may do when a controller cannot be used here.
_UNCAPPED = {"pids": "processes are not capped: a fork bomb runs until the notebook's time limit",
             "memory": "memory is capped per process only, not for all of them together"}


def _make_groups(processes: int, memory: int) -> tuple[dict, list[str]]:
    """A fresh group per controller for the kernel about to start, with its caps; and
    what could not be capped here (no controller, no right to write it)."""
    name = f"kernel-{os.getpid()}-{time.monotonic_ns()}"
    groups, missing = {}, []
    for controller, cap, files in (("pids", processes, ("pids.max",)),
                                   ("memory", memory, ("memory.limit_in_bytes", "memory.max"))):
        if cap <= 0:
            continue
        root = _controller_root(controller)
        if root is None:
            missing.append(f"{_UNCAPPED[controller]} (no {controller} cgroup controller)")
            continue
        # cgroup v2: every controller's root is the same, and so is the kernel's group
        group = _own_group(root, controller) / "rnn-course" / name
        try:
            group.mkdir(parents=True, exist_ok=True)
            target = next((group / f for f in files if (group / f).exists()), None)
            if target is None:
                raise OSError(f"{controller} controller not enabled for {group.parent}")
            target.write_text(str(cap))
        except OSError as exc:
            missing.append(f"{_UNCAPPED[controller]} ({controller} cgroup: {exc})")
            if group not in groups.values():
                try:
                    group.rmdir()
                except OSError:
                    pass
            continue
        groups[controller] = group
    return groups, missing


def _apply_limits(processes: int, memory: int, seconds: float) -> list[str]:
    """Put this process (about to exec the kernel) in fresh cgroups capping its processes
    and their memory together, with a watchdog that also enforces the notebook's wall time.
    Returns what is not enforced here (said as a warning on the kernel's stderr).

    The watchdog is double-forked before this process joins the groups, so it stays outside
    them (and outside the sandbox) and is not a child bwrap would have to reap.
    """
    groups, missing = _make_groups(processes, memory)
    if not groups and not seconds:
        return missing
    limits = Limits(groups, processes=processes if "pids" in groups else 0,
                    memory=memory if "memory" in groups else 0, seconds=seconds)
    me, started = os.getpid(), time.monotonic()
    # The kernel's fd 1 and 2 (C libraries, os.write, crash reports) go through a pipe that
    # the watchdog forwards to the grader's stderr, cut at the output cap: a flood written
    # below Python's sys.stdout reaches neither the grader's stdout nor, past the cap, its log.
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the watchdog
        try:
            if os.fork() == 0:
                os.setsid()
                os.close(write_end)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                forward = threading.Thread(target=_forward_capped,
                                           args=(read_end, output_cap()), daemon=True)
                forward.start()
                _watch(limits, me, started)
                forward.join(timeout=5)
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.waitpid(child, 0)
    os.close(read_end)
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    for group in limits.paths():
        (group / "cgroup.procs").write_text(str(me))
    return missing


def output_cap() -> int:
    """Bytes of the kernel's own stdout/stderr (below Python's streams) passed on."""
    return _parse_size(os.environ.get(ENV_OUTPUT) or DEFAULT_OUTPUT)


def _forward_capped(fd: int, cap: int) -> None:
    """Copy the kernel's fd 1/2 pipe to this process's stderr, up to ``cap`` bytes; read
    and drop the rest (so the kernel never blocks), saying once that it was cut."""
    passed, cut = 0, False
    while data := os.read(fd, 65536):
        if passed < cap:
            chunk = data[:cap - passed]
            os.write(2, chunk)
            passed += len(chunk)
            data = data[len(chunk):]
        if data and not cut:
            os.write(2, f"\n{STDERR_CUT} after {_human(cap)}]\n".encode())
            cut = True


def _pin(spec: str) -> None:
    """Run the kernel (all its threads and processes) on the CPUs ``spec`` lists ("0", "0,2")."""
    try:
        os.sched_setaffinity(0, {int(c) for c in spec.split(",") if c.strip()})
    except (OSError, ValueError, AttributeError) as exc:
        sys.stderr.write(f"rnn-course sandbox: WARNING: {ENV_CPUS}={spec!r} not applied ({exc})\n")


def run(connection_file: str, kernel_args: tuple[str, ...] = ()) -> None:
    """Kernel-spec entry point: replace this process by the sandboxed kernel."""
    try:
        argv = kernel_command(connection_file, kernel_args=kernel_args)
    except (SandboxError, OSError) as exc:
        sys.stderr.write(f"\n*** rnn-course sandbox: kernel NOT started ***\n{exc}\n\n")
        sys.stderr.flush()
        sys.exit(3)
    if os.environ.get(ENV_CPUS):
        _pin(os.environ[ENV_CPUS])
    try:
        missing = _apply_limits(pids_limit(), memory_limit(), notebook_seconds())
    except OSError as exc:
        missing = [str(exc)]
    if missing:
        sys.stderr.write(f"rnn-course sandbox: WARNING: {'; '.join(missing)}.\n")
        sys.stderr.flush()
    os.execv(argv[0], argv)


# --------------------------------------------------------------------------- jupyter glue
def install_kernelspec(prefix: str = sys.prefix) -> Path:
    """Write ``<prefix>/share/jupyter/kernels/rnn-course-sandbox/kernel.json``."""
    kdir = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    kdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": _spec_argv(),
        "display_name": DISPLAY_NAME,
        "language": "python",
        # a SIGINT sent to the kernel's process group would kill bwrap itself
        "interrupt_mode": "message",
        "env": {"TF_CPP_MIN_LOG_LEVEL": "3"},
        # graders.grading.kernels.SandboxProvisioner: passes the course's c.KernelLimits
        "metadata": {"debugger": False,
                     "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME}},
    }
    (kdir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return kdir / "kernel.json"


def configure(c) -> None:
    """Make plain ``nbgrader autograde``/``validate`` execute in the sandbox.

    Call from ``nbgrader_config.py``: ``from graders.sandbox import configure; configure(c)``.
    """
    c.Execute.kernel_name = KERNEL_NAME
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = ipc_ip()  # absolute: grader and kernel have different cwds


def notebook_client_kwargs(config=None) -> dict:
    """kwargs for ``nbclient.NotebookClient(nb, **kwargs)`` using the very same sandbox.

    The client creates (and, because it owns it, shuts down) its own kernel
    manager from this config; passing ``km=`` instead would leave the kernel
    running after ``execute()``.  ``config`` (a traitlets Config) is extended.
    """
    from traitlets.config import Config

    config = Config() if config is None else config
    configure(config)
    return {"kernel_name": KERNEL_NAME, "config": config}


def kernel_manager(**kwargs):
    """A jupyter_client KernelManager for the sandbox kernel (caller shuts it down)."""
    from jupyter_client.manager import KernelManager

    return KernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=ipc_ip(), **kwargs)


def _spec_argv() -> list[str]:
    # -I: isolated mode, so nothing in the student's cwd can shadow this module.
    return [os.path.abspath(sys.executable), "-I", str(LAUNCH_SCRIPT), "run", "-f",
            "{connection_file}"]


def _installed_spec_ok() -> bool:
    """Does Jupyter find a ``rnn-course-sandbox`` kernel spec that runs *this* interpreter's
    launcher (not another virtualenv's, nor a moved one's)?"""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return False
    provisioner = spec.metadata.get("kernel_provisioner", {}).get("provisioner_name")
    return spec.argv[:3] == _spec_argv()[:3] and provisioner == PROVISIONER_NAME


def ensure_kernelspec() -> str:
    """Make sure this interpreter's Jupyter finds the sandbox kernel spec; say where it is.

    ``make install`` and Gradescope's ``setup.sh`` install it; a student who only ran ``pip
    install -r requirements.txt`` has none. It is installed into the interpreter's prefix (the
    virtualenv) on first use, or, where that is not writable (a system Python) or another
    spec of that name shadows it, into a private folder put first on ``JUPYTER_PATH`` for this
    process only."""
    if _installed_spec_ok():
        return "its kernel spec is installed"
    try:
        path = install_kernelspec(sys.prefix)
        if _installed_spec_ok():
            return f"its kernel spec now installed in {path.parent}"
    except OSError:
        pass
    import hashlib

    # one folder per interpreter and package: two checks from two virtualenvs at once
    digest = hashlib.sha256(f"{sys.executable}\0{LAUNCH_SCRIPT}".encode()).hexdigest()[:12]
    private = runtime_dir() / f"jupyter-{digest}"
    path = install_kernelspec(str(private))
    data = str(private / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (data, os.environ.get("JUPYTER_PATH", "")) if p)
    if not _installed_spec_ok():
        raise SandboxError(f"the kernel spec {KERNEL_NAME} written to {path} is not found")
    return f"its kernel spec written for this run to {path.parent}"


# --------------------------------------------------------------------------- the probe
#: ``auto`` (default): use the sandbox where :func:`probe` finds it works; ``off``: never;
#: ``on``: always, and stop if it does not work. Read by ``rnn-course check``.
ENV_SANDBOX = "RNN_COURSE_SANDBOX"


@dataclass(frozen=True)
class SandboxStatus:
    works: bool
    #: Why not, or how it was decided.
    reason: str


def probe(environ=None, *, switch: str = ENV_SANDBOX, timeout: float = 60) -> SandboxStatus:
    """Can the sandbox run here? Not only "is bwrap installed": a trivial process is started
    with the very command line of the kernel (user, pid and network namespaces, the binds,
    prlimit), which fails where unprivileged user namespaces are off (some distributions,
    most containers). ``environ[switch]`` (``auto``/``on``/``off``) forces the answer; with
    ``on``, a sandbox that does not work raises :class:`SandboxError`."""
    import subprocess
    import tempfile

    environ = os.environ if environ is None else environ
    forced = (environ.get(switch) or "auto").strip().lower()
    if forced == "off":
        return SandboxStatus(False, f"{switch}=off")
    try:
        _require_tools()
        with tempfile.TemporaryDirectory(prefix="rnn-course-probe-") as tmp:
            folder = Path(tmp) / "notebook"
            folder.mkdir()
            connection = Path(tmp) / "connection.json"
            connection.write_text(json.dumps({"transport": "ipc", "ip": ipc_ip()}))
            argv = kernel_command(str(connection), str(folder),
                                  inner=[sys.executable, "-c", "print('sandbox-ok')"])
            done = subprocess.run(argv, cwd=folder, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0 or "sandbox-ok" not in done.stdout:
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise SandboxError(last)
    except (SandboxError, OSError, subprocess.SubprocessError) as exc:
        reason = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() \
            else type(exc).__name__
        if forced == "on":
            raise SandboxError(
                f"{switch}=on but the sandbox does not work here: {reason}") from None
        return SandboxStatus(False, reason)
    return SandboxStatus(True, "bubblewrap works here")


# --------------------------------------------------------------------------- selftest
_PROBE = r"""
import os, socket, sys
def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + (f"  ({detail})" if detail else ""))
status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
check("no capabilities", int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0)
check("pid namespace", os.getpid() == 1, f"pid {os.getpid()}")
ifaces = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
check("network unshared", ifaces == ["lo"], f"interfaces {ifaces}")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close(); net = False
except OSError as e:
    net = True; err = e
check("no outbound connection", net)
outside = sys.argv[1]
check("course directory invisible", not os.path.exists(outside), outside)
try:
    open("/etc/sandbox-probe", "w"); ro = False
except OSError:
    ro = True
check("root filesystem read-only", ro)
open("probe-ok", "w").write("x"); os.remove("probe-ok")
check("notebook folder writable", True)
try:
    bytearray(int(sys.argv[2]) + (1 << 30)); mem = False
except MemoryError:
    mem = True
check("memory limit enforced", mem, f"{int(sys.argv[2]) >> 20} MiB")
"""


def selftest() -> int:
    """Print whether the sandbox works on this machine; return a shell exit code."""
    import subprocess
    import tempfile

    print(f"python      : {sys.executable}")
    for tool in ("bwrap", "prlimit"):
        path = shutil.which(tool)
        ver = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip() if path else ""
        print(f"{tool:12}: {path or 'MISSING'} {ver}")
    try:
        _require_tools()
    except SandboxError as exc:
        print(exc)
        return 1
    print(f"memory limit: {memory_limit() >> 20} MiB   extensions: {extensions() or 'none'}")
    failed = False
    with tempfile.TemporaryDirectory() as course:
        nbdir = Path(course) / "autograded" / "student" / "assignment"
        nbdir.mkdir(parents=True)
        (Path(course) / "gradebook.db").write_text("secret")
        cf = nbdir.parent / "conn.json"
        cf.write_text(json.dumps({"transport": "ipc", "ip": ipc_ip()}))
        inner = [sys.executable, "-c", _PROBE, f"{course}/gradebook.db", str(memory_limit())]
        argv = kernel_command(str(cf), str(nbdir), inner=inner)
        print("command     :", " ".join(argv[:-len(inner)]), sys.executable, "-c <probe>")
        t0 = time.perf_counter()
        res = subprocess.run(argv, cwd=nbdir, capture_output=True, text=True)
        print(f"probe       : exit {res.returncode} in {time.perf_counter() - t0:.2f}s")
        print(res.stdout + res.stderr, end="")
        failed = res.returncode != 0 or "FAIL" in res.stdout or "PASS" not in res.stdout

        from jupyter_client.kernelspec import NoSuchKernel, KernelSpecManager
        try:
            KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        except NoSuchKernel:
            print(f"kernel spec : {KERNEL_NAME} NOT installed (python -m graders.grading.sandbox install)")
            return 1
        km = kernel_manager()
        t0 = time.perf_counter()
        try:
            km.start_kernel(cwd=str(nbdir))
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            out = []
            reply = kc.execute_interactive(
                "import os; print(os.getpid(), sorted(os.listdir('/')))", timeout=30,
                output_hook=lambda msg: out.append(msg["content"].get("text", "")))
            ok = reply["content"]["status"] == "ok" and "".join(out).startswith("1 ")
            print(f"kernel      : {'PASS' if ok else 'FAIL'} started and executed in "
                  f"{time.perf_counter() - t0:.2f}s; pid, / inside: {''.join(out).strip()}")
            failed |= not ok
            kc.stop_channels()
        except Exception as exc:  # report, don't crash the diagnosis
            print(f"kernel      : FAIL {type(exc).__name__}: {exc} (kernel stderr above; "
                  f"{ENV_EXTENSIONS}={','.join(extensions())!r})")
            failed = True
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    print("sandbox OK" if not failed else "sandbox NOT working")
    return int(failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.grading.sandbox", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_run = sub.add_parser("run", help="start the sandboxed kernel (used by kernel.json)")
    p_run.add_argument("-f", dest="connection_file", required=True)
    p_inst = sub.add_parser("install", help="install the kernel spec into this venv")
    p_inst.add_argument("--prefix", default=sys.prefix)
    sub.add_parser("selftest", help="check that bwrap/prlimit work here")
    args, extra = parser.parse_known_args(argv)
    if extra and args.cmd != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.cmd == "run":
        run(args.connection_file, tuple(extra))
    elif args.cmd == "install":
        print(install_kernelspec(args.prefix))
    elif args.cmd == "selftest":
        return selftest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
