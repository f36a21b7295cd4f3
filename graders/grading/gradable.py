"""Is a student's notebook still gradable, and what would be lost if not?

Read from the notebook's own nbgrader metadata (written by ``nbgrader generate_assignment`` into
the released notebook), so no instructor file is needed. Each problem says what the autograder
will do about it and what the student loses.
"""
from __future__ import annotations

from collections import Counter

from nbgrader.utils import compute_checksum

from ..instructions import Instruction


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata (empty for a plain cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    """A cell's nbgrader ``grade_id``, or None."""
    return nbgrader_meta(cell).get("grade_id")


def problems(nb, instructions: list[Instruction]) -> list[str]:
    """Everything about the notebook's structure that will cost points or work."""
    found = []
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id")]
    for grade_id, n in Counter(ids).items():
        if n > 1:
            found.append(f"The cell '{grade_id}' appears {n} times (a copied cell keeps its "
                         f"autograder id): the autograder treats only the last copy as "
                         f"'{grade_id}' and restores it if it is read-only. Delete the extra "
                         f"copies so that what you see is what gets graded.")
    present = set(ids)
    for solution_cell in dict.fromkeys(i.solution_cell for i in instructions):
        if solution_cell not in present:
            lost = [i for i in instructions if i.solution_cell == solution_cell]
            points = sum(i.points for i in lost)
            found.append(f"Your answer cell '{solution_cell}' was deleted or lost its autograder "
                         f"id: put your code back into the released cell, or "
                         f"{points:g} points ({', '.join(i.title for i in lost)}) may be lost.")
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("locked") or meta.get("grade") or "checksum" not in meta:
            continue
        if compute_checksum(cell) != meta["checksum"]:
            found.append(f"You changed the read-only cell '{meta.get('grade_id')}': the "
                         f"autograder puts the original back, so your change there is lost. "
                         f"Move any code of yours into your own answer cells.")
    for instruction in instructions:
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if meta.get("grade_id") == instruction.solution_cell and meta.get("solution") and \
                    "checksum" in meta and compute_checksum(cell) == meta["checksum"]:
                found.append(f"'{instruction.title}': your answer cell is still as released, so "
                             f"it scores 0 ({instruction.points:g} points).")
                break
    return found


def cell_errors(executed_nb) -> list[str]:
    """Cells other than the autograder's that stopped with an error when run top to bottom."""
    out = []
    for index, cell in enumerate(executed_nb.cells, start=1):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                where = meta.get("grade_id") or f"cell {index}"
                value = str(output.get("evalue", "")).strip().splitlines()
                out.append(f"Running the notebook from the top, '{where}' stopped with "
                           f"{output.get('ename')}: {value[0] if value else ''}")
    return out
