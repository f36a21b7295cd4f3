"""What travels between the coordinator and the workers, as data: the course bundle (sent once
per worker), one student's submission, and the execution a worker sends back.

Dask pickles these by their module path (``graders.grading.batch.wire``); a worker imports
them from there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..coursedir import files_digest


@dataclass
class CourseBundle:
    """What every worker needs of the course, sent once per worker."""

    assignment: str
    #: Text of the course's ``nbgrader_config.py``.
    config_text: str
    #: A SQLite gradebook with the assignment's structure only (no students).
    gradebook: bytes
    #: The assignment's files besides notebooks (data, weights), by relative path.
    source_files: dict[str, bytes]
    threads_per_kernel: int = 1
    #: Pin each LocalCluster worker's kernels to one core (``BatchGrading.pin_cpus``).
    pin_cpus: bool = False

    def data_manifest(self) -> str:
        return files_digest(self.source_files)


@dataclass
class Submission:
    """One student's submitted folder, as data."""

    student: str
    files: dict[str, bytes]
    digest: str


@dataclass
class Execution:
    """What a worker sends back: the executed notebooks, or why there are none."""

    student: str
    digest: str
    #: Notebook name -> the notebook as ``Execute`` left it (nbformat JSON text).
    notebooks: dict[str, str] = field(default_factory=dict)
    #: Notebook name -> why it could not be executed (kernel died, timed out, ...).
    failed: dict[str, str] = field(default_factory=dict)
    #: Notebook name -> the probe its kernel was given (JSON text, :mod:`graders.judge.probe`).
    probes: dict[str, str] = field(default_factory=dict)
    #: The log of the worker's ``nbgrader autograde`` and of the kernels.
    log: str = ""
    seconds: float = 0.0
    worker: str = ""
