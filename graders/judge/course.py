"""The course's own files, as the judge reads them: never the student's folder.

``CourseFiles(folder)`` is the assignment's folder of the course (``source/<assignment>/`` in
the course, what a batch task carries, the release for a student's own check). Everything is
read with NumPy, h5py and json only (``allow_pickle=False``; no Keras), once per folder.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import CourseError

EXPLODING_DATA = "exploding_data.npz"
WEIGHTS_FILE = "model_weights.h5"
HISTORY_FILE = "pretrain_history.json"


class CourseFileMissing(CourseError, FileNotFoundError):
    """A file of the assignment is missing from the course: the course's fault, never the
    student's (grading stops loudly instead of scoring anyone 0)."""


class CourseFiles:
    """Read-only access to one assignment's data files."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        path = self.folder / name
        if not path.is_file():
            raise CourseFileMissing(
                f"The assignment file {name!r} is missing from {self.folder}: the judge reads "
                f"the course's own copy (source/<assignment>/ or the release).")
        return path

    def exploding_data(self) -> dict[str, np.ndarray]:
        return _npz(*_key(self.path(EXPLODING_DATA)))

    def pretrained_weights(self) -> list[np.ndarray]:
        return _weights(*_key(self.path(WEIGHTS_FILE)))

    def pretrained_digests(self) -> list[tuple[tuple[int, ...], str]]:
        """Each pretrained array's shape and the SHA-256 of its little-endian float32 bytes,
        computed here from the course's file."""
        return _digests(*_key(self.path(WEIGHTS_FILE)))

    def pretrain_history(self) -> dict:
        return _json(*_key(self.path(HISTORY_FILE)))


def h5_weights(path) -> list[np.ndarray]:
    """The arrays in a legacy-layout Keras H5 weights file, in layer order (read with h5py)."""
    return [w.copy() for w in _weights(*_key(Path(path)))]


def _key(path: Path) -> tuple[str, int, int]:
    """A file's cache key: its path, modification time and size (a changed file is read again)."""
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _digests(path: str, *stat) -> list[tuple[tuple[int, ...], str]]:
    return [(w.shape, hashlib.sha256(np.ascontiguousarray(w, dtype="<f4").tobytes())
             .hexdigest()) for w in _weights(path, *stat)]


@functools.lru_cache(maxsize=8)
def _npz(path: str, *_stat) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: np.asarray(data[k]) for k in data.files}


@functools.lru_cache(maxsize=8)
def _json(path: str, *_stat) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=4)
def _weights(path: str, *_stat) -> list[np.ndarray]:
    """The arrays in a legacy-layout Keras H5 weights file, in layer order."""
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        out = []
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = group[layer]
            for name in g.attrs["weight_names"]:
                name = name.decode() if isinstance(name, bytes) else name
                out.append(np.asarray(g[name]))
        return out
