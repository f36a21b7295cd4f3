"""The one probe that says whether the sandbox runs here, and how `rnn-course check` uses it."""
import shutil
import sys

import pytest

from graders.course import cli
from graders.grading import sandbox


def test_probe_says_no_without_bwrap_or_when_switched_off(monkeypatch, tmp_path):
    """Off by the switch, or bwrap/prlimit not on PATH: no, with the reason; forced on: an
    error saying why, never a silent fallback."""
    assert sandbox.probe({sandbox.ENV_SANDBOX: "off"}) == sandbox.SandboxStatus(
        False, f"{sandbox.ENV_SANDBOX}=off")
    monkeypatch.setenv("PATH", str(tmp_path))
    status = sandbox.probe({})
    assert not status.works and status.reason == "bwrap and prlimit not found on PATH"
    with pytest.raises(sandbox.SandboxError, match="RNN_COURSE_SANDBOX=on but the sandbox"):
        sandbox.probe({sandbox.ENV_SANDBOX: "on"})
    assert not sandbox.probe({"OTHER": "off"}, switch="OTHER").works


def test_probe_starts_a_process_in_the_sandbox():
    """bwrap installed is not enough (user namespaces may be off): the probe runs a process
    with the kernel's own command line."""
    if not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed here")
    assert sandbox.probe({}) == sandbox.SandboxStatus(True, "bubblewrap works here")


def test_probe_says_no_when_bwrap_cannot_start(monkeypatch, tmp_path):
    """A bwrap that is installed but fails (user namespaces off) is a no, with its message."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    if not shutil.which("prlimit"):
        pytest.skip("prlimit is not installed here")
    assert sandbox.probe({}) == sandbox.SandboxStatus(
        False, "bwrap: No permissions to create new namespace")


def test_check_says_which_kernel_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "probe", lambda: sandbox.SandboxStatus(False, "no userns"))
    assert cli.choose_kernel() is False
    assert capsys.readouterr().out == ("Kernel: a plain local kernel, because the sandbox can't "
                                       "run here (no userns). Same checks, same verdict.\n")
    assert cli.choose_kernel(no_sandbox=True) is False
    assert capsys.readouterr().out.startswith("Kernel: a plain local kernel (--no-sandbox)")
    works = sandbox.SandboxStatus(True, "bubblewrap works here")
    monkeypatch.setattr(sandbox, "probe", lambda: works)
    monkeypatch.setattr(sandbox, "ensure_kernelspec", lambda: "its kernel spec is installed")
    assert cli.choose_kernel() is True
    assert capsys.readouterr().out == ("Kernel: the bubblewrap sandbox (bubblewrap works here; "
                                       "its kernel spec is installed).\n")


def test_kernel_spec_is_made_where_jupyter_finds_it(monkeypatch, tmp_path):
    """No spec for this interpreter's launcher (here: the package moved), and its prefix not
    searched by Jupyter: the spec is written to the prefix, then, since Jupyter still finds
    another one, to a private folder put first on JUPYTER_PATH for this process."""
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setenv("JUPYTER_PATH", "")  # restored (unset) after the test
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    # patched where ensure_kernelspec looks them up (its module, not the package's re-export)
    monkeypatch.setattr(sandbox.kernelspec, "LAUNCH_SCRIPT", tmp_path / "moved" / "sandbox.py")
    monkeypatch.setattr(sandbox.kernelspec, "runtime_dir", lambda: tmp_path / "private")
    said = sandbox.ensure_kernelspec()
    assert said.startswith(f"its kernel spec written for this run to {tmp_path}/private/jupyter-")
    assert said.endswith(f"/share/jupyter/kernels/{sandbox.KERNEL_NAME}")
    assert (tmp_path / "prefix" / "share" / "jupyter" / "kernels" / sandbox.KERNEL_NAME
            / "kernel.json").exists()  # tried the prefix first
    spec = KernelSpecManager().get_kernel_spec(sandbox.KERNEL_NAME)
    assert spec.argv[:3] == [sys.executable, "-I", str(tmp_path / "moved" / "sandbox.py")]
    assert sandbox.ensure_kernelspec() == "its kernel spec is installed"  # found from now on


def test_kernel_spec_found_in_this_virtualenv():
    """make install (or the first check) installed it: nothing is written."""
    sandbox.install_kernelspec()
    assert sandbox.ensure_kernelspec() == "its kernel spec is installed"
