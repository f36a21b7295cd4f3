"""On the instructor's machine: Gradescope's autograder zip (``rnn-course gradescope``) and its
two scripts, rendered from ``templates/gradescope/`` (``setup.sh.j2``, ``run_autograder.j2``).
"""
from __future__ import annotations

from pathlib import Path

from ...grading import unprivileged
from .. import bundle as _bundle
from ..templating import templates
from .layout import DEFAULT_ROOT, ENV_PYTHON, ENV_ROOT, Layout


def _script(name: str, **values) -> str:
    """The shell script ``templates/gradescope/<name>``, rendered with ``values``."""
    return templates("gradescope", autoescape=False).get_template(name).render(**values)


def setup_sh() -> str:
    """The image's set-up script (Gradescope runs it once, as root, in ``/autograder/source``)."""
    layout = Layout(Path(DEFAULT_ROOT))
    return _script("setup.sh.j2", user=unprivileged.KERNEL_USER, venv=layout.venv,
                   source=layout.source)


def run_autograder_sh() -> str:
    """The script Gradescope runs for every submission (working directory ``/autograder``)."""
    return _script("run_autograder.j2", env_root=ENV_ROOT, env_python=ENV_PYTHON,
                   default_root=DEFAULT_ROOT)


def autograder_zip(*, course: str | Path, assignment: str, to: str | Path) -> Path:
    """Write Gradescope's autograder zip for ``assignment`` of ``course`` to ``to``; return it.

    The data files come from the course's ``release/<assignment>/`` (what students got). The
    same files give the same bytes.
    """
    released = _bundle.released_files(course, assignment)
    wheel_name, wheel = _bundle.package_wheel()
    entries = {f"data/{name}": data for name, data in released.items()
               if not name.endswith(".ipynb") and "/" not in name}
    entries["setup.sh"] = setup_sh().encode()
    entries["run_autograder"] = run_autograder_sh().encode()
    entries[wheel_name] = wheel
    entries["requirements.txt"] = _bundle.requirements_txt(wheel=f"./{wheel_name}").encode()
    return _bundle.write_zip(entries, to, executable={"setup.sh", "run_autograder"})
