"""The judge in nbgrader's pipeline: probes before ``Execute``, verdicts right after it.

``nbgrader autograde`` with the course's ``nbgrader_config.py`` (and so ``rnn-course grade``,
whose coordinator replays that pipeline) runs

1. :class:`FreshProbe`, before ``Execute``: new random probe inputs written beside the notebook
   (:mod:`graders.judge.probe`) and kept in the pipeline's resources;
2. ``Execute``: the student's notebook in the sandboxed kernel; each hidden test cell's
   ``run_check`` exports evidence (and prints the live message for the student);
3. :class:`Judge`, right after ``Execute``, in the grading process, where no student code runs:
   every test cell of ours gets the judge's verdict on its evidence (:mod:`graders.judge`), all
   of its kernel outputs replaced (``execute_result`` and stderr included): a passed
   instruction shows its message, a failed one an ``InstructionFailed`` error, which is how
   nbgrader scores it 0. The evidence leaves the notebook and is kept, with the probe, under
   ``<output_dir>/<assignment>/evidence/<student>/<notebook>.json`` (``rnn-course grade
   --rejudge`` judges it again without executing anything). The static screen
   (:mod:`graders.grading.screen`) and any evidence that does not hold together put the notebook
   on the review list (kept in that file and in the grading record); they change no score
   unless the course sets ``c.ScreenTampering.zero_flagged = True``.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Unicode
from traitlets.config import Configurable

from ..instructions import Instruction, by_test_cell
from ..judge import CourseFiles, Judgement, judge_cell_outputs, probe as probes
from ..judge.codec import CAPS, EVIDENCE_VERSION
from ..judge.evidence import Probe
from ..kernel.result import RESULT_MIMETYPE, CheckResult
from .gradable import grade_id
from .records import write_atomically

#: The error name of a failed instruction (nbgrader scores a test cell with an error 0).
FAILED = "InstructionFailed"
#: The error name of every test cell of a notebook zeroed by the screen (``zero_flagged``).
FLAGGED = "Flagged"
#: Key of the pipeline's resources where the probe and the review list travel.
RESOURCES = "rnn_course"


class ScreenTampering(Configurable):
    """What the static screen's findings do (:mod:`graders.grading.screen`)."""

    zero_flagged = Bool(False, help=(
        "Score 0 on every instruction of a notebook whose code reaches into the grading "
        "machinery (the static screen's findings). Off by default: the judge decides scores "
        "from evidence it checks, and the findings only list the notebook for review.")
    ).tag(config=True)


def our_test_cells(nb) -> list[tuple[object, Instruction]]:
    """The notebook's code cells that are test cells of an instruction, with it."""
    out = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        instruction = by_test_cell(grade_id(cell)) if meta.get("grade") else None
        if instruction is not None and cell.cell_type == "code":
            out.append((cell, instruction))
    return out


def verdict_outputs(result: CheckResult) -> list:
    """What a judged test cell shows: the verdict (machine-readable) and the message."""
    data = new_output("display_data", data={RESULT_MIMETYPE: result.to_json()})
    if result.passed:
        text = (f"{result.title}: passed ({result.points:g}/{result.max_points:g} points). "
                f"{result.message}\n")
        return [new_output("stream", name="stdout", text=text), data]
    evalue = f"{result.title} (0/{result.max_points:g} points): {result.message}"
    return [data, new_output("error", ename=FAILED, evalue=evalue,
                             traceback=[f"{FAILED}: {evalue}"])]


def judge_notebook(nb, course: CourseFiles, probe: Probe | None, *,
                   zero_flagged: bool = False) -> dict:
    """Judge every test cell of ``nb`` in place; return what to keep (evidence, verdicts,
    review list).

    Each test cell's outputs are replaced by the judge's verdict. Evidence over the
    notebook's cap is refused (that instruction scores 0).
    """
    from .screen import flag_message, screen_notebook

    kept = {"version": EVIDENCE_VERSION, "cells": {}, "verdicts": {}, "review": []}
    budget = CAPS["notebook_bytes"]
    judged: list[tuple[object, Judgement]] = []
    for cell, instruction in our_test_cells(nb):
        size = sum(len(json.dumps(o.get("data", {}))) for o in cell.get("outputs", [])
                   if isinstance(o.get("data"), dict))
        if size > budget:
            reason = (f"the evidence of this notebook is over its cap of "
                      f"{CAPS['notebook_bytes']:,} characters")
            judgement = Judgement(CheckResult(instruction.id, instruction.title, 0.0,
                                              instruction.points, False,
                                              f"Not graded: {reason}."), [reason])
        else:
            budget -= size
            judgement = judge_cell_outputs(instruction.id, cell, course, probe)
        live = (judgement.evidence or {}).get("live")
        if isinstance(live, dict) and live.get("passed") is not judgement.result.passed:
            judgement.review.append(f"the kernel's live verdict ({'passed' if live.get('passed') else 'failed'}) "
                                    f"differs from the judge's")
        judged.append((cell, judgement))
        kept["verdicts"][instruction.id] = json.loads(judgement.result.to_json())
        if judgement.evidence is not None:
            kept["cells"][instruction.id] = judgement.evidence
        else:  # what the cell showed instead (its error, if any), to judge it again the same way
            kept.setdefault("without_evidence", {})[instruction.id] = {
                "execution_count": cell.get("execution_count"),
                "outputs": [dict(o) for o in cell.get("outputs", [])
                            if o.get("output_type") == "error"][:1]}
        kept["review"] += [f"{instruction.title}: {why}" for why in judgement.review]
    findings = screen_notebook(nb)
    if findings:
        kept["review"].append(flag_message(findings, zeroed=zero_flagged))
        kept["screen"] = [str(f) for f in findings]
    for cell, judgement in judged:
        result = judgement.result
        if findings and zero_flagged:
            result = CheckResult(result.instruction, result.title, 0.0, result.max_points, False,
                                 flag_message(findings, zeroed=True),
                                 details={"flagged": kept["screen"]})
        cell.outputs = verdict_outputs(result)
    if probe is not None:
        kept["probe"] = json.loads(probes.to_json(probe))
    return kept


class FreshProbe(NbGraderPreprocessor):
    """Write new probe inputs beside the notebook before it runs (see :mod:`graders.judge.probe`)."""

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path") or "."
        resources.setdefault(RESOURCES, {})["probe"] = probes.write(folder)
        return nb, resources


class Judge(NbGraderPreprocessor):
    """Replace every test cell's outputs with the judge's verdict on its evidence."""

    course_files = Unicode("", help=(
        "Folder of the assignment's files the judge reads (data, pretrained weights, "
        "history). Default: the course's source/<assignment>/. Never the student's folder.")
    ).tag(config=True)
    evidence_dir = Unicode("", help=(
        "Folder where each graded notebook's evidence is kept. Default: "
        "<BatchGrading.output_dir>/<assignment>/evidence/<student>/ in the course.")
    ).tag(config=True)

    def _course(self, resources) -> CourseFiles:
        if self.course_files:
            return CourseFiles(self.course_files)
        from .coursedir import coursedir

        cd = coursedir(self.config)
        assignment = resources["nbgrader"]["assignment"]
        return CourseFiles(cd.format_path(cd.source_directory, ".", assignment))

    def _evidence_path(self, resources) -> Path:
        info = resources["nbgrader"]
        if self.evidence_dir:
            return Path(self.evidence_dir) / f"{info['notebook']}.json"
        from .coursedir import coursedir
        from .settings import BatchGrading

        root = Path(coursedir(self.config).root)
        output = BatchGrading(config=self.config).output_dir
        return evidence_path(root / output / info["assignment"], info["student"],
                             info["notebook"])

    def preprocess(self, nb, resources):
        ours = resources.get(RESOURCES, {})
        probe = ours.get("probe")
        folder = resources.get("metadata", {}).get("path")
        if folder:
            probes.remove(folder)
        kept = judge_notebook(nb, self._course(resources), probe,
                              zero_flagged=ScreenTampering(config=self.config).zero_flagged)
        kept["judged_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for line in kept["review"]:
            self.log.warning("for review: %s", line)
        ours["review"] = kept["review"]
        resources[RESOURCES] = ours
        write_atomically(self._evidence_path(resources), json.dumps(kept) + "\n")
        return nb, resources


def evidence_path(assignment_dir: Path, student: str, notebook: str) -> Path:
    """Where the judge keeps a notebook's evidence (``<grading>/<a>/evidence/<s>/<nb>.json``)."""
    return Path(assignment_dir) / "evidence" / student / f"{notebook}.json"


def review_of(assignment_dir: Path, student: str) -> list[str]:
    """The review list the judge kept for a student's notebooks (``notebook: why``)."""
    folder = Path(assignment_dir) / "evidence" / student
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            review = json.loads(path.read_text(encoding="utf-8")).get("review") or []
        except (OSError, ValueError, AttributeError):
            continue
        out += [f"{path.stem}: {line}" for line in review]
    return out


def restore_evidence(nb, kept: dict) -> None:
    """Put the kept evidence back into a judged notebook's test cells, as the kernel left it
    (for judging again: ``rnn-course grade --rejudge``)."""
    from ..judge.codec import EVIDENCE_MIMETYPE, dumps

    for cell, instruction in our_test_cells(nb):
        data = (kept.get("cells") or {}).get(instruction.id)
        if data is not None:
            cell.outputs = [new_output("display_data", data={EVIDENCE_MIMETYPE: dumps(data)})]
            continue
        instead = (kept.get("without_evidence") or {}).get(instruction.id) or {}
        cell.execution_count = instead.get("execution_count")
        cell.outputs = [new_output("error", ename=o.get("ename", ""), evalue=o.get("evalue", ""),
                                   traceback=o.get("traceback", []))
                        for o in instead.get("outputs", [])]


def install(c) -> None:
    """Put :class:`FreshProbe` right before nbgrader's ``Execute`` and :class:`Judge` right
    after it in ``nbgrader autograde`` (courses' configs call this under its stable name
    ``graders.require_verdict.install``)."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    at = steps.index(Execute)
    steps[at:at + 1] = [FreshProbe, Execute, Judge]
    c.Autograde.autograde_preprocessors = steps


def has_judge(steps) -> bool:
    """Does an autograde pipeline hold the judge (right after its execution step)?"""
    from traitlets.utils.importstring import import_item

    classes = [import_item(s) if isinstance(s, str) else s for s in steps]
    return any(isinstance(c, type) and issubclass(c, Judge) for c in classes)
