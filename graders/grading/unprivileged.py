"""The grading kernel as an unprivileged user, where the bubblewrap sandbox cannot run.

Gradescope runs the autograder as root in a container of its own, where user namespaces, and
so bubblewrap (:mod:`graders.grading.sandbox`), are usually not available. The grades are
decided in the grading process (:func:`graders.grading.judging.judge_notebook`, from the
kernel's evidence, a probe kept in memory and the course's files), so what is left to student
code in a kernel of root's is its power over the files and processes it can reach: it could
rewrite ``results.json``, the installed package (the judge) or the course's data, or leave a
process behind that does so once the grader is done. Here the kernel runs as another user:

* :func:`notebook_client_kwargs` gives ``nbclient.NotebookClient`` a kernel manager
  (:func:`manager_class`) whose kernel spec is made in memory (no kernel spec is installed):
  ``python -I -m graders.grading.unprivileged --user NAME {connection_file}``. That launcher,
  the only part that runs as root, reads the connection file (jupyter_client writes it 0600
  root), caps the user's processes and threads (``RLIMIT_NPROC``, :data:`PROCESS_LIMIT`: a fork
  bomb stops there), makes the kernel the out-of-memory killer's first choice
  (``oom_score_adj`` 1000, which the user cannot lower), drops every group and switches gid and
  uid (real, effective and saved), sets ``no_new_privs`` (no setuid program gives root back),
  checks that root cannot be regained (uids, gids, groups, capabilities), writes the connection
  file's copy (0600, the user's own) and a home folder in the kernel's folder, and ``exec``\\ s
  ipykernel with the capture extension, ``HOME``/``MPLCONFIGDIR`` in that home and the grading
  mark :data:`graders.kernel.limits.GRADING_ENV`.
* :func:`hand_over`: the kernel's scratch folder (made by root, 0700) becomes the user's; the
  files root copied into it stay root's, readable (the kernel reads the course's data, it cannot
  change them; the judge reads its own copies anyway).
* :func:`kill_processes`: after each notebook, every process of the user is killed
  (``kill(-1, SIGKILL)`` sent as the user, which reaches all of its processes at once, then
  ``/proc`` is read until none is left), so nothing lingers to write after the grader.
* :func:`probe`: can it work here? Only root can switch users, the user must exist, and the user
  must be able to run the interpreter and import the kernel (a Python below ``/root`` cannot).

The user is :data:`KERNEL_USER`, a system account Gradescope's ``setup.sh`` creates
(:func:`graders.course.gradescope.setup_sh`), else ``nobody``. Every process of that user is
killed after each notebook: it must be an account nothing else on the machine runs as.

What it does not do: cut the network, cap the kernel's memory (the container's is the limit),
hide the autograder's files (they can be read, not changed; the package is no secret, the
grades are decided outside the kernel).

CLI (the kernel spec's command, and the probe's)::

    python -I -m graders.grading.unprivileged --user NAME CONNECTION_FILE [ipykernel args...]
    python -I -m graders.grading.unprivileged --user NAME --check

``-I``: nothing in the kernel's folder, nor any ``PYTHON*`` variable, can replace this module
while it runs as root. Only the standard library is imported at module level.
"""
from __future__ import annotations

import functools
import os
import pwd
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..kernel.limits import GRADING_ENV
from ..errors import MachineryError

#: The account the kernel runs as; Gradescope's setup.sh creates it (a system user, no login).
KERNEL_USER = "rnn-course-kernel"
#: Used when :data:`KERNEL_USER` does not exist.
FALLBACK_USER = "nobody"
MODULE = "graders.grading.unprivileged"
#: The in-memory kernel spec's name (nothing is installed under it).
KERNEL_NAME = "rnn-course-unprivileged"
#: Written in the kernel's folder by the kernel's user: the connection file's copy, its home.
CONNECTION_COPY = ".kernel-connection.json"
HOME_FOLDER = ".kernel-home"
#: Processes and threads the user may have at once (RLIMIT_NPROC; TensorFlow's thread pools
#: on a large machine take a few hundred).
PROCESS_LIMIT = 1024
#: Loaded at the kernel's start, as in the plain kernel (``graders.grading.runner``).
EXTENSIONS = ("graders.kernel.capture",)
#: Environment variables that name root's folders: not passed to the kernel.
_ROOTS_FOLDERS = ("XDG_", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                  "IPYTHONDIR", "MPLCONFIGDIR", "KERAS_HOME")
#: Like ``python -m ipykernel_launcher`` but the module cannot come from the kernel's folder
#: (as in graders.grading.sandbox); IPython puts the folder on sys.path later, for the student.
_LAUNCHER = ("import sys; del sys.path[0]; from ipykernel import kernelapp; "
             "kernelapp.launch_new_instance()")
#: What ``--check`` runs as the user: the interpreter, ipykernel and the extensions load.
_CHECK = ("import sys; del sys.path[0]; import os, ipykernel.kernelapp; "
          + "".join(f"import {ext}; " for ext in EXTENSIONS)
          + "print('unprivileged-ok', os.getuid(), os.getgid(), flush=True)")
PREFIX = "rnn-course unprivileged kernel: "
_PR_SET_NO_NEW_PRIVS = 38


class UnprivilegedError(MachineryError, RuntimeError):
    """The kernel cannot run as the unprivileged user; it must not start."""


# ----------------------------------------------------------------------------- the user
def kernel_user(name: str | None = None) -> pwd.struct_passwd:
    """The account the kernel runs as: ``name``, else :data:`KERNEL_USER`, else ``nobody``."""
    for candidate in [name] if name else [KERNEL_USER, FALLBACK_USER]:
        try:
            entry = pwd.getpwnam(candidate)
        except KeyError:
            continue
        if entry.pw_uid == 0 or entry.pw_gid == 0:
            raise UnprivilegedError(f"the user {candidate} has root's uid or gid")
        return entry
    raise UnprivilegedError(f"no user {name}" if name
                            else f"neither {KERNEL_USER} nor {FALLBACK_USER} exists")


def _limit_processes() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    limit = PROCESS_LIMIT if hard == resource.RLIM_INFINITY else min(hard, PROCESS_LIMIT)
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    try:  # the kernel, not the grader, is killed when the container runs out of memory
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass


def _no_new_privs() -> bool:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _status(pid: int | str = "self") -> dict[str, str]:
    """``/proc/<pid>/status`` as a dict (raises OSError when the process is gone)."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def drop_privileges(entry: pwd.struct_passwd) -> None:
    """Become ``entry`` for good (this process and all it starts); raise if root could be
    regained."""
    if os.geteuid() != 0:
        raise UnprivilegedError("only root can switch to another user")
    uid, gid = entry.pw_uid, entry.pw_gid
    if uid == 0 or gid == 0:
        raise UnprivilegedError(f"the user {entry.pw_name} has root's uid or gid")
    if not _no_new_privs():  # kept across the switch, and no program gives root back
        sys.stderr.write(f"{PREFIX}WARNING: no_new_privs not set\n")
    try:
        _limit_processes()
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        raise UnprivilegedError(f"cannot switch to the user {entry.pw_name}: {exc}") from None
    # root must be out of reach: ids, groups, capabilities
    for regain in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.setgroups([0])):
        try:
            regain()
        except PermissionError:
            continue
        raise UnprivilegedError("root's rights could be regained after switching users")
    status = _status()
    capabilities = [status.get(k, "").strip() for k in ("CapPrm", "CapEff", "CapAmb")]
    if (os.getresuid() != (uid,) * 3 or os.getresgid() != (gid,) * 3 or os.getgroups()
            or any(c and int(c, 16) for c in capabilities)):
        raise UnprivilegedError(f"still privileged after switching to {entry.pw_name}")


# ----------------------------------------------------------------------------- the launcher
def kernel_env(environ, entry: pwd.struct_passwd, home: str) -> dict[str, str]:
    """The kernel's environment: the grader's, without its folders, with the user's home and
    the grading mark (``rnn-course check`` run from a cell does not grade again)."""
    env = {k: v for k, v in environ.items() if not k.startswith(_ROOTS_FOLDERS)}
    env.update(HOME=home, USER=entry.pw_name, LOGNAME=entry.pw_name,
               MPLCONFIGDIR=os.path.join(home, ".config", "matplotlib"))
    env[GRADING_ENV] = "1"
    return env


def kernel_argv(connection_copy: str, kernel_args: list[str]) -> list[str]:
    argv = [sys.executable, "-c", _LAUNCHER, "-f", connection_copy,
            # an extension that cannot load stops the kernel, it does not run without it
            "--InteractiveShellApp.reraise_ipython_extension_failures=True",
            *[f"--ext={ext}" for ext in EXTENSIONS]]
    if not any(a.startswith("--HistoryManager.hist_file") for a in kernel_args):
        argv.append("--HistoryManager.hist_file=:memory:")  # what nbclient gives python3
    return argv + list(kernel_args)


def launch(user: str, connection_file: str, kernel_args: list[str]) -> None:
    """The kernel spec's command: become ``user`` and replace this process by ipykernel, in the
    current folder (the kernel's, handed over by :func:`hand_over`)."""
    entry = kernel_user(user)
    with open(connection_file, "rb") as f:  # 0600 root: read before switching
        connection = f.read()
    folder = os.getcwd()
    copy, home = os.path.join(folder, CONNECTION_COPY), os.path.join(folder, HOME_FOLDER)
    argv, env = kernel_argv(copy, kernel_args), kernel_env(os.environ, entry, home)
    drop_privileges(entry)
    # from here on as the user: what it writes is its own, a link cannot send it elsewhere
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        raise UnprivilegedError(f"the user {entry.pw_name} cannot use the kernel's folder {folder}")
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(connection)
    os.mkdir(home, 0o700)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)


def check(user: str | None) -> None:
    """``--check``: become the user and run the interpreter as it (prints ``unprivileged-ok``)."""
    entry = kernel_user(user)
    env = kernel_env(os.environ, entry, "/nonexistent")
    drop_privileges(entry)
    os.chdir("/")
    os.execve(sys.executable, [sys.executable, "-c", _CHECK], env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3 or argv[0] != "--user":
        sys.stderr.write(f"usage: python -I -m {MODULE} --user NAME "
                         f"(--check | CONNECTION_FILE [ipykernel args...])\n")
        return 2
    user, rest = argv[1], argv[2:]
    try:
        if rest == ["--check"]:
            check(user)
        else:
            launch(user, rest[0], rest[1:])
    except (UnprivilegedError, OSError) as exc:
        sys.stderr.write(f"\n{PREFIX}NOT started: {exc}\n")
        sys.stderr.flush()
        return 3
    return 0  # not reached: exec


# ----------------------------------------------------------------------------- the grader's side
@dataclass(frozen=True)
class Status:
    works: bool
    #: Why not, or who the kernel runs as.
    reason: str
    #: The user's name when it works.
    user: str | None = None


def probe(user: str | None = None, *, timeout: float = 60) -> Status:
    """Can the kernel run as the unprivileged user here? Not only "are we root": the launcher
    switches users and the interpreter runs and imports the kernel as that user."""
    if os.geteuid() != 0:
        return Status(False, "the grader does not run as root, so it cannot switch users")
    try:
        entry = kernel_user(user)
    except UnprivilegedError as exc:
        return Status(False, str(exc))
    try:
        done = subprocess.run([sys.executable, "-I", "-m", MODULE, "--user", entry.pw_name,
                               "--check"], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return Status(False, f"the kernel cannot run as {entry.pw_name}: {exc}")
    if done.returncode != 0 or not done.stdout.startswith("unprivileged-ok"):
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return Status(False, f"the kernel cannot run as {entry.pw_name}: "
                             f"{last.removeprefix(PREFIX + 'NOT started: ')}")
    return Status(True, f"the kernel runs as {entry.pw_name} (uid {entry.pw_uid})",
                  entry.pw_name)


def hand_over(folder: str | Path, user: str) -> pwd.struct_passwd:
    """Make the kernel's scratch folder (root's, 0700) the user's; the files root put in it stay
    root's, readable by all."""
    entry = kernel_user(user)
    folder = Path(folder)
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    return entry


def processes(uid: int) -> list[int]:
    """Live processes (not zombies) whose real, effective or saved uid is ``uid``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = _status(name)
        except OSError:  # gone meanwhile
            continue
        uids = {int(u) for u in fields.get("Uid", "").split()[:3]}
        if uid in uids and not fields.get("State", "").strip().startswith(("Z", "X")):
            found.append(int(name))
    return found


_KILL_ALL = ("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\n"
             "except ProcessLookupError:\n    pass\n")


def kill_processes(user: str, *, seconds: float = 10) -> int:
    """Kill every process of ``user``; return how many there were. ``kill(-1, SIGKILL)`` sent
    as the user reaches all of its processes at once (a process forking meanwhile cannot slip
    through); then the survivors found in ``/proc`` are killed one by one until none is left.
    Raises :class:`UnprivilegedError` if some still run after ``seconds``."""
    entry = kernel_user(user)
    found = processes(entry.pw_uid)
    if not found:
        return 0
    try:
        subprocess.run([sys.executable, "-I", "-S", "-c", _KILL_ALL], user=entry.pw_uid,
                       group=entry.pw_gid, extra_groups=[], cwd="/", stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pass  # no process left to the user (RLIMIT_NPROC): the loop below does it
    deadline = time.monotonic() + seconds
    while left := processes(entry.pw_uid):
        if time.monotonic() > deadline:
            raise UnprivilegedError(f"{len(left)} processes of {entry.pw_name} still run "
                                    f"after being killed: {left[:10]}")
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return len(found)


def launcher_argv(user: str) -> list[str]:
    """The in-memory kernel spec's argv (jupyter_client fills in the connection file)."""
    return [os.path.abspath(sys.executable), "-I", "-m", MODULE, "--user", user,
            "{connection_file}"]


@functools.cache
def manager_class():
    """The kernel manager (a jupyter_client ``AsyncKernelManager``) whose kernel spec is made
    here, in memory, for the user configured as ``c.UnprivilegedKernelManager.kernel_user``.

    Built on first use: the launcher, which imports this module, must not load jupyter_client."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Unicode

    class UnprivilegedKernelManager(AsyncKernelManager):
        kernel_user = Unicode(KERNEL_USER, config=True,
                              help="The user the kernel runs as (graders.grading.unprivileged).")

        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=launcher_argv(self.kernel_user), name=KERNEL_NAME,
                    display_name=f"Python 3 (as {self.kernel_user})", language="python",
                    interrupt_mode="signal", metadata={"debugger": False})
            return self._kernel_spec

    return UnprivilegedKernelManager


def notebook_client_kwargs(user: str) -> dict:
    """kwargs for ``nbclient.NotebookClient(nb, **kwargs)``: the kernel runs as ``user``.
    The client creates its kernel manager, so it shuts the kernel down after ``execute()``."""
    from traitlets.config import Config

    config = Config()
    config.UnprivilegedKernelManager.kernel_user = user
    return {"kernel_name": KERNEL_NAME, "kernel_manager_class": manager_class(),
            "config": config}


if __name__ == "__main__":
    sys.exit(main())
