"""Fresh probe inputs: new random inputs for every grading run, chosen where no student code runs.

Before a notebook runs, the grader writes :data:`PROBE_FILE` beside it (the kernel's folder);
``run_check`` reads it and exports the student's model's predictions on those inputs with the
probe's ``nonce``. The judge, which kept the probe, computes the same predictions itself. So
evidence from another run (a classmate's, the instructor's) cannot be replayed, and a made-up
description of a model fails unless its author implements the model.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np

from .codec import BadEvidence, decode_array, encode_array
from .evidence import Probe

#: The file the grader writes beside the notebook before it runs.
PROBE_FILE = ".rnn-course-probe.json"
EXPLODING_SHAPE = (16, 20)
VANISHING_SHAPE = (4, 24, 1)


def new_probe() -> Probe:
    """New random inputs and a new nonce (the operating system's randomness)."""
    rng = np.random.default_rng(secrets.randbits(128))
    return Probe(nonce=secrets.token_hex(16),
                 exploding=rng.normal(0.0, 2.0, EXPLODING_SHAPE).astype(np.float32),
                 vanishing=rng.normal(0.0, 1.0, VANISHING_SHAPE).astype(np.float32))


def to_json(probe: Probe) -> str:
    return json.dumps({"nonce": probe.nonce, "exploding": encode_array(probe.exploding),
                       "vanishing": encode_array(probe.vanishing)})


def from_json(text: str) -> Probe:
    try:
        data = json.loads(text)
    except ValueError:
        raise BadEvidence("the probe file is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("nonce"), str):
        raise BadEvidence("the probe file has no nonce")
    exploding = decode_array(data.get("exploding"), "the exploding probe").astype(np.float32)
    vanishing = decode_array(data.get("vanishing"), "the vanishing probe").astype(np.float32)
    if exploding.shape != EXPLODING_SHAPE or vanishing.shape != VANISHING_SHAPE:
        raise BadEvidence("the probe inputs have other shapes than the grader's")
    return Probe(data["nonce"][:64], exploding, vanishing)


def write(folder) -> Probe:
    """A new probe, written into ``folder`` (where the kernel will run)."""
    probe = new_probe()
    (Path(folder) / PROBE_FILE).write_text(to_json(probe), encoding="utf-8")
    return probe


def read(folder) -> Probe | None:
    """The probe in ``folder``, or None (missing or unreadable)."""
    path = Path(folder) / PROBE_FILE
    try:
        return from_json(path.read_text(encoding="utf-8"))
    except (OSError, BadEvidence, UnicodeDecodeError):
        return None


def remove(folder) -> None:
    try:
        (Path(folder) / PROBE_FILE).unlink()
    except OSError:
        pass
