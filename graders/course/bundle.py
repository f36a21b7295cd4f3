"""The zip a student downloads from the LMS and works from on their own machine or on Colab.

``bundle(course=..., assignment=..., to=...)`` writes ``<assignment>/`` into a zip:

* the released notebooks and data files, exactly as ``nbgrader generate_assignment`` made them
  in the course's ``release/<assignment>/``;
* ``requirements.txt``: one ``pip install -r requirements.txt`` installs TensorFlow, Jupyter and
  the ``rnn-course`` command at the versions the autograder uses, on Linux, macOS, Windows and
  Colab (see :func:`requirements_txt` for the environment markers);
* ``wheels/rnn_course-<version>-py3-none-any.whl``: this package, so that ``rnn-course check``
  works offline with the autograder's own checks (see :func:`package_wheel`);
* ``README.md``: how to install, open, self-check and what to upload.

The same pieces (:func:`package_wheel`, :func:`requirements_txt`, :func:`write_zip`) build the
Gradescope autograder (:mod:`graders.course.gradescope`). Every zip is deterministic: sorted
entries, fixed timestamps and modes, so a rebuild from the same files gives the same bytes.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..grading import coursedir as cdir
from ..instructions import INSTRUCTIONS, NOTEBOOKS

#: The ``graders`` package that goes into the wheel (this very code).
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: Every pinned version (package data; the repository's ``requirements.lock`` links to it).
LOCK = Path(__file__).resolve().with_name("requirements.lock")
#: Package data that never goes into a wheel made for students or Gradescope: the demo's
#: sample class (one sample is a full solution).
NOT_FOR_STUDENTS = ("graders/course/samples/",)

#: Timestamp of every zip entry (the zip format cannot store dates before 1980).
ZIP_DATE = (2020, 1, 1, 0, 0, 0)

#: The Pythons the bundle promises students (its README) and the autograder images use: every
#: pin of the lock installs on the first release of each (tests/test_pins.py: 3.11.0 is
#: Ubuntu 22.04's python3.11 on Gradescope, Debian 12 has 3.11.2).
PYTHONS = ("3.11", "3.12", "3.13")

#: tensorflow-cpu has wheels for Linux x86_64 only (this is also Colab); everywhere else
#: (macOS on Apple silicon, Windows, Linux on ARM) the standard ``tensorflow`` build runs on CPU.
TF_CPU_MARKER = 'sys_platform == "linux" and platform_machine == "x86_64"'
TF_MARKER = 'sys_platform != "linux" or platform_machine != "x86_64"'


@dataclass(frozen=True)
class Project:
    """What the package says of itself: the wheel's metadata."""

    version: str
    description: str
    requires_python: str
    #: The direct dependencies as declared (``pyproject.toml``), unpinned where it is.
    dependencies: tuple[str, ...]
    #: ``{group: {name: object reference}}``: console scripts, pytest plugin, provisioner.
    entry_points: dict[str, dict[str, str]]


def project() -> Project:
    """This package's metadata: ``pyproject.toml`` beside the package in a checkout (the
    source of truth there, even before the editable install is refreshed), else the installed
    distribution's (an instructor's ``pip install``)."""
    pyproject = PACKAGE_DIR.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        declared = tomllib.loads(pyproject.read_text())["project"]
        if declared.get("name") == "rnn-course":
            groups = {"console_scripts": declared.get("scripts", {}),
                      **declared.get("entry-points", {})}
            return Project(declared["version"], declared["description"],
                           declared["requires-python"], tuple(declared["dependencies"]),
                           {g: dict(points) for g, points in groups.items() if points})
    from importlib import metadata

    dist = metadata.distribution("rnn-course")
    groups: dict[str, dict[str, str]] = {}
    for point in dist.entry_points:
        groups.setdefault(point.group, {})[point.name] = point.value
    requires = [r for r in dist.requires or [] if "extra ==" not in r]
    return Project(dist.version, dist.metadata["Summary"], dist.metadata["Requires-Python"],
                   tuple(requires), groups)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# ----------------------------------------------------------------------------- pins
def read_lock(path: Path = LOCK) -> dict[str, str]:
    """``requirements.lock`` as ``{canonical name: 'Name==version'}``, in file order."""
    if not path.is_file():
        raise cdir.CourseError(f"{path} not found: the rnn-course installation is incomplete "
                               f"(its lock file pins every version); reinstall it.")
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]
            pins[_canonical(name)] = line
    return pins


def _with_tensorflow_markers(pin: str) -> list[str]:
    """``tensorflow-cpu==V`` -> the CPU build where it exists, the standard build elsewhere."""
    version = pin.split("==", 1)[1]
    return [f"tensorflow-cpu=={version}; {TF_CPU_MARKER}", f"tensorflow=={version}; {TF_MARKER}"]


def requirements_txt(*, wheel: str, lock: Path = LOCK) -> str:
    """A ``requirements.txt`` installing ``wheel`` (a path relative to where pip runs) and every
    version of the lock file, with environment markers for TensorFlow.

    pip adds what a platform needs beyond the lock (``pywin32`` on Windows, ``appnope`` on
    macOS) at the newest compatible version.
    """
    lines = [
        "# Everything the notebooks and `rnn-course check` need, at the versions the autograder uses.",
        "# Install from this folder:  python -m pip install -r requirements.txt",
        "# TensorFlow: the CPU-only build where it exists (Linux x86_64, Colab), the standard build",
        "# elsewhere (macOS on Apple silicon, Windows, Linux on ARM); both run these notebooks on CPU.",
        wheel,
    ]
    for name, pin in read_lock(lock).items():
        lines += _with_tensorflow_markers(pin) if name == "tensorflow-cpu" else [pin]
    return "\n".join(lines) + "\n"


def package_dependencies(lock: Path = LOCK) -> list[str]:
    """The package's direct dependencies (``pyproject.toml``), pinned to the lock's versions,
    with the TensorFlow markers: the wheel's ``Requires-Dist``."""
    pins = read_lock(lock)
    out = []
    for requirement in project().dependencies:
        match = re.match(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?", requirement)
        name, extras = match.group(1), match.group(2) or ""
        pin = pins.get(_canonical(name))
        if pin is None:  # not in the lock: keep the declared requirement as written
            out.append(requirement)
        elif _canonical(name) == "tensorflow-cpu":
            out += _with_tensorflow_markers(pin)
        else:
            out.append(f"{name}{extras}=={pin.split('==', 1)[1]}")
    return out


# ----------------------------------------------------------------------------- the wheel
def _package_sources() -> dict[str, bytes]:
    """Every file of ``graders/`` (modules, templates, the lock: what ``pip install .``
    installs) by archive path, except :data:`NOT_FOR_STUDENTS`, compiled files and hidden
    ones."""
    files = {}
    for path in sorted(PACKAGE_DIR.rglob("*")):
        archived = path.relative_to(PACKAGE_DIR.parent).as_posix()
        parts = archived.split("/")
        if (not path.is_file() or path.suffix in (".pyc", ".pyo")
                or any(p.startswith(".") or p == "__pycache__" for p in parts)
                or archived.startswith(NOT_FOR_STUDENTS)):
            continue
        files[archived] = path.read_bytes()
    return files


def package_wheel(lock: Path = LOCK) -> tuple[str, bytes]:
    """This package as a pure-Python wheel: ``(file name, bytes)``.

    Written directly (a wheel is a zip with three metadata files), not by a build backend: the
    result is byte-for-byte reproducible, needs nothing beyond the standard library, and its
    ``Requires-Dist`` carries the environment markers that ``pyproject.toml`` cannot (the
    grading machines pin ``tensorflow-cpu``, which macOS and Windows do not have).
    """
    meta = project()
    version = meta.version
    dist_info = f"rnn_course-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        "Name: rnn-course",
        f"Version: {version}",
        f"Summary: {meta.description}",
        f"Requires-Python: {meta.requires_python}",
        *[f"Requires-Dist: {d}" for d in package_dependencies(lock)],
    ]
    entry_points = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
                           + "\n" for group, points in meta.entry_points.items() if points)
    files = dict(_package_sources())
    files[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: rnn-course bundle\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    files[f"{dist_info}/top_level.txt"] = b"graders\n"
    record = []
    for name, data in sorted(files.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return f"rnn_course-{version}-py3-none-any.whl", zip_bytes(files)


# ----------------------------------------------------------------------------- zips
def zip_bytes(entries: Mapping[str, bytes], executable: frozenset[str] | set[str] = frozenset()) -> bytes:
    """A deterministic zip of ``entries`` (archive path -> bytes): sorted, fixed dates and modes
    (``0755`` for the paths in ``executable``, ``0644`` otherwise)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix: the mode below is honoured by unzip
            info.external_attr = ((0o100755 if name in executable else 0o100644) << 16)
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def write_zip(entries: Mapping[str, bytes], to: str | Path,
              executable: frozenset[str] | set[str] = frozenset()) -> Path:
    """Write :func:`zip_bytes` to ``to`` (its folder is created); return the path."""
    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_bytes(zip_bytes(entries, executable))
    return to


# ----------------------------------------------------------------------------- the release
def release_folder(course: str | Path, assignment: str) -> Path:
    """``release/<assignment>/`` of the course, checked to hold every graded notebook."""
    course = cdir.find_course(course)
    cd = cdir.coursedir(cdir.load_config(course))
    folder = Path(cd.root) / cd.release_directory / assignment
    if not folder.is_dir():
        raise cdir.CourseError(f"{folder} does not exist: release the assignment first "
                               f"(rnn-course release --assignment {assignment}).")
    missing = [f"{n}.ipynb" for n in NOTEBOOKS if not (folder / f"{n}.ipynb").is_file()]
    if missing:
        raise cdir.CourseError(f"{folder} lacks {', '.join(missing)}: these checks grade "
                               f"{', '.join(f'{n}.ipynb' for n in NOTEBOOKS)}.")
    return folder


def released_files(course: str | Path, assignment: str) -> dict[str, bytes]:
    """Every released file (notebooks, data, weights) by path relative to the release folder."""
    folder = release_folder(course, assignment)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".")
                                       for part in p.relative_to(folder).parts)}


def readme(*, assignment: str, notebooks: list[str]) -> str:
    """The student's README of the bundle."""
    files = " ".join(notebooks)
    graded = "\n".join(
        f"| `{i.notebook}.ipynb` | {i.title} | {i.points:g} |" for i in INSTRUCTIONS.values())
    return f"""\
# {assignment}: exploding and vanishing gradients

Complete the two notebooks, {" and ".join(f"`{n}`" for n in notebooks)}. Keep every file of
this folder together: the notebooks load the data and the pretrained weights next to them.

| notebook | graded instruction | points |
|---|---|---|
{graded}

## 1. Install (once)

Python {PYTHONS[0]} to {PYTHONS[-1]} (any release of them, {PYTHONS[0]}.0 included), 64-bit, on Linux,
macOS (Apple silicon) or Windows. In a terminal, in this folder:

```sh
python -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
python -m pip install -r requirements.txt
```

This installs TensorFlow, Jupyter and the `rnn-course` command, at the versions the autograder
uses (several hundred MB to download).

## 2. Open the notebooks

```sh
jupyter lab
```

Open each notebook from this folder and run its cells from the top: the first, read-only cell
loads the data.

**On Google Colab:** Colab runs each notebook on a machine of its own, so for each notebook:
File > Upload notebook, upload `{assignment}.zip` in the Files panel, then run in a scratch cell
(delete it before you download the notebook: a submitted notebook must not unzip or install
anything):

```
!unzip -q -o /content/{assignment}.zip -d /content
%cd /content/{assignment}
```

Colab's own TensorFlow runs the notebook. To self-check on Colab, save with File > Download >
Download .ipynb, upload that file into `/content/{assignment}/` (Files panel), and run in a
scratch cell `!pip uninstall -q -y tensorflow`, `!pip install -q -r requirements.txt`, then
the `rnn-course check` command below with a `!` in front.

## 3. Check your work before you submit

Save the notebooks, then, in this folder:

```sh
rnn-course check {files}
```

It runs each saved notebook from the top in a fresh kernel with the autograder's own checks
and prints, per instruction, *passed* or the mistake it found, and anything that would stop a
notebook from being graded as you expect. Its first line says which kernel it used: the
autograder's sandbox (bubblewrap) where it runs on your machine (Linux with bubblewrap, e.g.
`sudo apt install bubblewrap`), otherwise a plain local kernel. Both give the same verdict.

## 4. Submit

Upload exactly these files, with their names unchanged: {", ".join(f"`{n}`" for n in notebooks)}.
Do not rename them, do not delete or copy the autograder cells, and do not edit the read-only
cells. The data files, `requirements.txt` and `wheels/` are not part of the submission.
"""


def bundle(*, course: str | Path, assignment: str, to: str | Path) -> Path:
    """Write the student's zip of ``assignment`` (released files, requirements, this package,
    README) to ``to``; return its path. The same course files give the same bytes."""
    files = released_files(course, assignment)
    wheel_name, wheel = package_wheel()
    notebooks = [f"{n}.ipynb" for n in NOTEBOOKS]
    entries = {f"{assignment}/{name}": data for name, data in files.items()}
    entries[f"{assignment}/wheels/{wheel_name}"] = wheel
    entries[f"{assignment}/requirements.txt"] = requirements_txt(
        wheel=f"./wheels/{wheel_name}").encode()
    entries[f"{assignment}/README.md"] = readme(assignment=assignment,
                                                notebooks=notebooks).encode()
    return write_zip(entries, to)
