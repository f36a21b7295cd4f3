"""How evidence travels from the student's kernel to the judge, and the caps it must pass.

Evidence is one JSON object per test cell, published by the kernel under
:data:`EVIDENCE_MIMETYPE`. It is untrusted: the student's code ran in the kernel that wrote it.
So it is plain data only — JSON (non-finite numbers as the strings ``"nan"``, ``"inf"``,
``"-inf"``, never as JSON's non-standard tokens) and arrays as raw little-endian float32 or
float64, base64, with a declared shape — and :func:`decode_array` checks the declared shape,
dtype and length against :data:`CAPS` *before* anything is decoded. No pickle, no ``.npz``, no
Keras deserialization.

Arrays too large to travel (the SimpleRNN(600)'s 1.45 MB of weights) travel as their shape and
the SHA-256 of their little-endian float32 bytes (:func:`digest_array`), which the judge compares
with the digest it computes itself from the course's file.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

import numpy as np

from ..errors import StudentError

#: Mimetype of the evidence a hidden test cell publishes (one display output per test cell).
EVIDENCE_MIMETYPE = "application/vnd.rnn-course.evidence+json"
#: Version of the evidence's layout (kept with stored evidence; the judge refuses others).
EVIDENCE_VERSION = 1

#: Limits checked before anything is decoded (per test cell, per notebook, per array).
CAPS = {
    "cell_bytes": 2 << 20,        # one test cell's evidence, as JSON text
    "notebook_bytes": 8 << 20,    # all of one notebook's evidence
    "array_elements": 200_000,    # one array travelling as data
    "arrays": 400,                # arrays in one cell's evidence
    "dims": 4,                    # dimensions of one array
}
DTYPES = {"<f4": np.dtype("<f4"), "<f8": np.dtype("<f8")}


class BadEvidence(StudentError, ValueError):
    """Evidence that is not what the kernel's exporter writes: malformed, over a cap, or for
    another instruction. The instruction scores 0 with this message."""


# ----------------------------------------------------------------------------- numbers
def number(value) -> Any:
    """A float for JSON: non-finite values as strings ``"nan"``, ``"inf"``, ``"-inf"``."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def read_number(value) -> float | None:
    """The float :func:`number` wrote (None stays None); anything else is bad evidence."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadEvidence(f"a number was expected, not {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("nan", "inf", "-inf"):
        return float(value)
    raise BadEvidence(f"a number was expected, not {str(value)[:40]!r}")


# ----------------------------------------------------------------------------- arrays
def encode_array(array, dtype: str = "<f4") -> dict:
    """An array as data: ``{"dtype", "shape", "data"}`` (base64 of its little-endian bytes)."""
    arr = np.ascontiguousarray(np.asarray(array, dtype=DTYPES[dtype]))
    return {"dtype": dtype, "shape": list(arr.shape),
            "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def digest_array(array) -> dict:
    """An array by its shape and the SHA-256 of its little-endian float32 bytes."""
    arr = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    return {"shape": list(arr.shape), "sha256": hashlib.sha256(arr.tobytes()).hexdigest()}


def _shape(value, what: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > CAPS["dims"] or \
            not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in value):
        raise BadEvidence(f"{what}: its declared shape {str(value)[:60]} is not a shape")
    size = 1
    for n in value:
        size *= n
        if size > CAPS["array_elements"]:
            raise BadEvidence(f"{what}: its declared shape {value} has more than "
                              f"{CAPS['array_elements']:,} elements")
    return tuple(value)


def decode_array(value, what: str = "an array") -> np.ndarray:
    """The array :func:`encode_array` wrote, after checking shape, dtype and length."""
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data"}:
        raise BadEvidence(f"{what} is not an encoded array")
    dtype = DTYPES.get(value["dtype"]) if isinstance(value["dtype"], str) else None
    if dtype is None:
        raise BadEvidence(f"{what}: dtype {str(value['dtype'])[:20]!r} is not one the "
                          f"exporter writes ({', '.join(DTYPES)})")
    shape = _shape(value["shape"], what)
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    data = value["data"]
    expected = 4 * math.ceil(size * dtype.itemsize / 3)
    if not isinstance(data, str) or len(data) != expected:
        raise BadEvidence(f"{what}: {size} values of {value['dtype']} need {expected} base64 "
                          f"characters, not {len(data) if isinstance(data, str) else '?'}")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise BadEvidence(f"{what}: its data is not base64") from None
    if len(raw) != size * dtype.itemsize:
        raise BadEvidence(f"{what}: its data holds {len(raw)} bytes, not "
                          f"{size * dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(np.float64)


def read_digest(value, what: str = "an array digest") -> tuple[tuple[int, ...], str]:
    if not isinstance(value, dict) or set(value) != {"shape", "sha256"}:
        raise BadEvidence(f"{what} is not a digest")
    digest = value["sha256"]
    if not isinstance(digest, str) or len(digest) != 64 or \
            any(ch not in "0123456789abcdef" for ch in digest):
        raise BadEvidence(f"{what}: its SHA-256 is not 64 hex digits")
    shape = list(value["shape"]) if isinstance(value["shape"], list) else value["shape"]
    if not isinstance(shape, list) or len(shape) > CAPS["dims"] or \
            not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise BadEvidence(f"{what}: its declared shape is not a shape")
    return tuple(shape), digest


# ----------------------------------------------------------------------------- documents
def dumps(evidence: dict) -> str:
    """Evidence as strict JSON (``allow_nan=False``: a stray NaN is the exporter's bug)."""
    return json.dumps(evidence, allow_nan=False, separators=(",", ":"))


def _refuse_constant(token):
    raise BadEvidence(f"the evidence holds the non-standard JSON token {token}")


def loads(text, what: str = "the evidence") -> dict:
    """Parse one cell's evidence, within the caps; a dict or :class:`BadEvidence`."""
    if isinstance(text, dict):  # a notebook reader already parsed it (nbformat keeps JSON)
        text = json.dumps(text, allow_nan=True)
    if not isinstance(text, str):
        raise BadEvidence(f"{what} is not JSON text")
    if len(text) > CAPS["cell_bytes"]:
        raise BadEvidence(f"{what} is {len(text):,} characters, over the cap of "
                          f"{CAPS['cell_bytes']:,}")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except BadEvidence:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadEvidence(f"{what} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise BadEvidence(f"{what} is not a JSON object")
    if data.get("version") != EVIDENCE_VERSION:
        raise BadEvidence(f"{what} has version {str(data.get('version'))[:20]}, not "
                          f"{EVIDENCE_VERSION}")
    if sum(1 for _ in _arrays(data)) > CAPS["arrays"]:
        raise BadEvidence(f"{what} holds more than {CAPS['arrays']} arrays")
    return data


def _arrays(node, depth: int = 0):
    if depth > 12:
        raise BadEvidence("the evidence is nested too deeply")
    if isinstance(node, dict):
        if set(node) == {"dtype", "shape", "data"}:
            yield node
            return
        for value in node.values():
            yield from _arrays(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, (dict, list)):
                yield from _arrays(value, depth + 1)
