"""The probe: can the sandbox run here? The one answer for every caller, found by starting a
trivial process with the kernel's very command line (:func:`probe`).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .command import SandboxError, _require_tools, ipc_ip, kernel_command
from .kernelspec import KERNEL_NAME

#: ``auto`` (default): use the sandbox where :func:`probe` finds it works; ``off``: never;
#: ``on``: always, and stop if it does not work. Read by ``rnn-course check``.
ENV_SANDBOX = "RNN_COURSE_SANDBOX"


@dataclass(frozen=True)
class SandboxStatus:
    works: bool
    #: Why not, or how it was decided.
    reason: str


def probe(environ=None, *, switch: str = ENV_SANDBOX, timeout: float = 60,
          kernel_spec: bool = False) -> SandboxStatus:
    """Can the sandbox run here? The one answer for every caller (``rnn-course check``,
    Gradescope's autograder, the pytest plugin, the tests). Not only "is bwrap installed": a
    trivial process is started with the very command line of the kernel (user, pid and
    network namespaces, the binds, prlimit), which fails where unprivileged user namespaces
    are off (some distributions, most containers). With ``kernel_spec``, the installed kernel
    spec (:data:`KERNEL_NAME`) is required too. ``environ[switch]`` (``auto``/``on``/``off``)
    forces the answer; with ``on``, a sandbox that does not work raises
    :class:`SandboxError`."""
    import subprocess
    import tempfile

    environ = os.environ if environ is None else environ
    forced = (environ.get(switch) or "auto").strip().lower()
    if forced == "off":
        return SandboxStatus(False, f"{switch}=off")
    try:
        _require_tools()
        if kernel_spec:
            from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

            try:
                KernelSpecManager().get_kernel_spec(KERNEL_NAME)
            except NoSuchKernel:
                raise SandboxError(f"the kernel spec {KERNEL_NAME} is not installed (python -m "
                                   f"graders.sandbox install)") from None
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
