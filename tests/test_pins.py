"""Every pin of requirements.lock installs on each Python the course promises, from its first
release on (3.11.0 is Ubuntu 22.04's python3.11, which Gradescope's setup.sh installs; Debian
12's python3 is 3.11.2): the bundle's `pip install -r requirements.txt` must work there."""
import json
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.specifiers import SpecifierSet

from graders.course import bundle

#: The first release of each promised Python: the lowest patch a student or an image may have.
LOWEST = [f"{minor}.0" for minor in bundle.PYTHONS]
#: Linux x86_64 (the autograder, Gradescope, Colab, most students): TensorFlow 2.21's wheels
#: are manylinux_2_27, older pins manylinux2014.
LINUX_X86_64 = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_27_x86_64",
                "manylinux_2_28_x86_64", "linux_x86_64"]
#: What pip adds beyond the lock on Linux (build tools some pins require, unpinned by
#: `pip freeze`), besides the package itself.
UNPINNED = {"setuptools", "wheel", "rnn-course"}


def test_every_pin_accepts_the_first_release_of_each_promised_python():
    """Does each pinned distribution's Requires-Python (as installed in this virtualenv, which
    `make install` builds from the lock) accept 3.11.0, 3.12.0 and 3.13.0? soupsieve 4.1.3
    wanted >= 3.11.5, so the bundle did not install on Debian 12 or Gradescope's Ubuntu 22.04."""
    wrong = []
    for name, pin in bundle.read_lock().items():
        version = pin.split("==", 1)[1]
        try:
            installed = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{pin}: not installed here (make install)")
            continue
        if installed.version != version:
            wrong.append(f"{pin}: {installed.version} installed here (make install)")
            continue
        requires = installed.metadata.get("Requires-Python")
        refused = [v for v in LOWEST if requires and not SpecifierSet(requires).contains(v)]
        if refused:
            wrong.append(f"{pin}: Requires-Python {requires} refuses {', '.join(refused)}")
    assert not wrong, "\n".join(wrong)


def test_the_promise_is_what_the_package_and_bundle_say():
    """Do the package's Requires-Python and the bundle README state the same Pythons?"""
    requires = bundle.project().requires_python
    assert all(SpecifierSet(requires).contains(v) for v in LOWEST)
    readme = bundle.readme(assignment="a", notebooks=["x.ipynb"])
    assert f"Python {bundle.PYTHONS[0]} to {bundle.PYTHONS[-1]}" in readme
    assert f"{bundle.PYTHONS[0]}.0 included" in readme


@pytest.mark.slow
@pytest.mark.parametrize("python", LOWEST)
def test_pip_resolves_the_bundle_requirements_for_the_first_release(python, tmp_path):
    """pip's own resolver, told it installs for exactly this Python on Linux x86_64 (binary
    wheels only, as a student's pip without compilers), resolves the bundle's requirements.txt
    to the lock's versions, none of them yanked (pip installs a yanked pin with a warning:
    soupsieve 3.0.x was yanked because it breaks on Python < 3.11.5). Needs PyPI."""
    wheel_name, wheel = bundle.package_wheel()
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / wheel_name).write_bytes(wheel)
    (tmp_path / "requirements.txt").write_text(
        bundle.requirements_txt(wheel=f"./wheels/{wheel_name}"))
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
         "--disable-pip-version-check", "--only-binary=:all:", "--python-version", python,
         *[a for p in LINUX_X86_64 for a in ("--platform", p)],
         "--target", str(tmp_path / "target"), "--report", str(report),
         "-r", "requirements.txt"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "yanked" not in output, [line for line in output.splitlines() if "yanked" in line]
    resolved = {bundle._canonical(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    pinned = {name: pin.split("==", 1)[1] for name, pin in bundle.read_lock().items()}
    assert {n: v for n, v in resolved.items() if n not in UNPINNED} == pinned
