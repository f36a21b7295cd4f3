"""The Jupyter glue: the ``rnn-course-sandbox`` kernel spec (written, or made sure of, where
this interpreter's Jupyter finds it) and the settings that make nbgrader, nbclient and
jupyter_client start their kernels in the sandbox over ipc sockets.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .command import PACKAGE_DIR, SandboxError, ipc_ip, runtime_dir

KERNEL_NAME = "rnn-course-sandbox"
DISPLAY_NAME = "Python 3 (rnn-course sandbox)"
#: The script the kernel spec runs: a stable path (installed kernel specs name it).
LAUNCH_SCRIPT = PACKAGE_DIR / "sandbox.py"
#: The kernel spec's provisioner (graders.grading.kernels.SandboxProvisioner, pyproject.toml).
PROVISIONER_NAME = KERNEL_NAME


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
