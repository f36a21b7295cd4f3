"""The sandbox's limits at run time: ``run`` (the kernel spec's entry point) puts the kernel
about to start in fresh cgroups capping its processes and their memory together, forks a
watchdog outside them that also enforces the notebook's wall time and forwards the kernel's
own stdout/stderr up to the output cap, then execs the command of :mod:`.command`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from graders.kernel.limits import (
    DEFAULT_OUTPUT, DEFAULT_PIDS, DEFAULT_SECONDS, ENV_CPUS, ENV_OUTPUT, ENV_PIDS, ENV_SECONDS,
    ENV_STATUS, parse_size as _parse_size)

from .command import SandboxError, kernel_command, memory_limit

#: How the watchdog announces a stopped kernel (graders.grading.batch reads it back).
STOPPED_PREFIX = "rnn-course sandbox: kernel stopped: "
#: How the watchdog says it cut the kernel's own stdout/stderr (batch lists it as a limit met).
STDERR_CUT = "[rnn-course sandbox: the kernel's stdout/stderr cut"


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


def write_status(reason: str, environ=None) -> None:
    """Say why the kernel was stopped, as data, in the file ``environ[ENV_STATUS]`` names (when
    the grader named one): ``{"stopped": reason}``. Written outside the sandbox, by the
    launcher; a file that cannot be written costs only the reason (the log line stays)."""
    import json

    path = (os.environ if environ is None else environ).get(ENV_STATUS)
    if path:
        try:
            Path(path).write_text(json.dumps({"stopped": reason}), encoding="utf-8")
        except OSError:
            pass


def read_status(path: str | Path) -> str | None:
    """The reason :func:`write_status` left in ``path``, or None (no file: not stopped)."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    reason = data.get("stopped") if isinstance(data, dict) else None
    return str(reason) if reason else None


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
            os.write(2, f"\n{STOPPED_PREFIX}{reason}\n".encode())  # for the people reading logs
            write_status(reason)
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
