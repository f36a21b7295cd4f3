"""The sandbox's command line: the prlimit + bubblewrap argv that runs the kernel (or any
process) with the binds, namespaces, environment and tmpfs the package docstring describes,
and the paths it needs (the ipc socket directory, the files view).

:class:`SandboxError` is raised where that command cannot be built; the kernel must not start.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from graders.errors import MachineryError
from graders.kernel.limits import (
    DEFAULT_EXTENSIONS, DEFAULT_MEMORY, DEFAULT_OUTPUT, DEFAULT_SCRATCH, ENV_EXTENSIONS,
    ENV_MEMORY, ENV_OUTPUT, ENV_SCRATCH, GRADING_ENV, parse_size as _parse_size)

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # .../graders (bound into the sandbox)
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


class SandboxError(MachineryError, RuntimeError):
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
                 # fd 1/2 stay the launcher's pipe (see watchdog._apply_limits), not the notebook's
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
