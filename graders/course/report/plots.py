"""The report's figures: the PNGs the student's plot cell displayed (checked and re-encoded,
never the notebook's raw string) and the expected plot, drawn with matplotlib from the course's
``pretrain_history.json`` at the size of the student's figure.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.gradable import grade_id
from ...instructions import Instruction

# one logger for the package, named as when it was one module
log = logging.getLogger(__package__)

HISTORY_FILE = "pretrain_history.json"
#: Inline images larger than this (decoded) are not embedded.
MAX_PNG_BYTES = 5 * 1024 * 1024
#: Pixel size of the expected plot when the student showed none (matplotlib inline default).
DEFAULT_PLOT_SIZE = (556, 434)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Plot:
    """A PNG to embed, as clean base64 (re-encoded by us, never the notebook's raw string)."""

    png_base64: str
    width: int
    height: int


def _png_of(data) -> Plot | None:
    """A displayed ``image/png`` output as a Plot, or None if it is not a sane PNG."""
    if isinstance(data, list):
        data = "".join(data)
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_PNG_MAGIC) or len(raw) < 24 or len(raw) > MAX_PNG_BYTES:
        return None
    width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if not (0 < width <= 10000 and 0 < height <= 10000):
        return None
    return Plot(base64.b64encode(raw).decode("ascii"), width, height)


def student_plots(nb, instruction: Instruction) -> list[Plot]:
    """Every PNG the solution cell of ``instruction`` displayed, in order."""
    plots = []
    for cell in nb.cells:
        if grade_id(cell) != instruction.solution_cell or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            plot = _png_of(output.get("data", {}).get("image/png"))
            if plot is not None:
                plots.append(plot)
    return plots


def sane_size(plot: Plot) -> bool:
    """Is the student's figure a size the expected one can be drawn at, readably?"""
    return 300 <= plot.width <= 1600 and 200 <= plot.height <= 1200 and \
        0.5 <= plot.width / plot.height <= 2.5


@functools.lru_cache(maxsize=8)
def _render_expected(history_json: str, width: int, height: int) -> Plot:
    """The expected figure: both accuracy curves of the pretraining, with a legend."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    history = json.loads(history_json)
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(history["accuracy"], label="Training accuracy")
    ax.plot(history["val_accuracy"], label="Validation accuracy")
    ax.set_title("Model accuracy")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Accuracy")
    ax.legend(loc="upper left")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return Plot(base64.b64encode(buf.getvalue()).decode("ascii"), width, height)


def expected_plot(config, assignment: str, student_dir: Path,
                  size: tuple[int, int]) -> tuple[Plot | None, str | None]:
    """The expected plot at ``size``, from the first usable history file (the student's
    autograded folder, then the course's source and release folders), or why there is none."""
    for folder in (student_dir, cdir.assignment_folder(config, "source", assignment),
                   cdir.assignment_folder(config, "release", assignment)):
        path = folder / HISTORY_FILE
        if path.is_file():
            try:
                text = path.read_text()
                return _render_expected(text, *size), None
            except Exception as exc:  # a damaged copy: try the next folder
                log.warning("expected plot: %s is not usable (%s: %s)", path,
                            type(exc).__name__, exc)
    return None, f"the expected plot could not be drawn: no usable {HISTORY_FILE} was found."
