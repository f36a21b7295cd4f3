"""The six files a build writes, as bytes: their names, deterministic .npz, legacy Keras H5
weights and JSON histories, the description of the arrays each holds, sha256, and the atomic
write that puts bytes on disk."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

EXPLODING = "exploding_data.npz"
VANISHING = "vanishing_data.npz"
WEIGHTS = "model_weights.h5"
HISTORY = "pretrain_history.json"
GATED_WEIGHTS = "gated_weights.h5"
GATED_HISTORY = "gated_history.json"
ARTIFACTS = (EXPLODING, VANISHING, WEIGHTS, HISTORY, GATED_WEIGHTS, GATED_HISTORY)
HISTORY_KEYS = ("accuracy", "val_accuracy", "loss", "val_loss")

# Fixed zip entry timestamp so that .npz files are byte-identical across builds.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


class Artifact(NamedTuple):
    """One file's bytes and the arrays it holds (name -> shape and dtype)."""

    data: bytes
    arrays: dict


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Like np.savez, but with fixed zip metadata, so equal arrays give equal bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # unix
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arr), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def describe_arrays(arrays: dict[str, np.ndarray]) -> dict:
    return {
        k: {"shape": list(np.asarray(v).shape), "dtype": str(np.asarray(v).dtype)}
        for k, v in arrays.items()
    }


def weights_h5_bytes(model) -> bytes:
    """The model's weights in the legacy (Keras 2 / tf.keras) H5 layout.

    Keras 3's model.save_weights only writes the new '.weights.h5' layout;
    its loader for plain '.h5' files expects the legacy layout, written by
    keras' own legacy writer used here.  h5py does not store timestamps by
    default, so equal weights give equal bytes.
    """
    import h5py
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        save_weights_to_hdf5_group(f, model)
    return buf.getvalue()


def weights_artifact(model) -> Artifact:
    """The model's legacy H5 weights file and the shape and dtype of each weight."""
    return Artifact(
        weights_h5_bytes(model),
        {w.path: {"shape": list(w.shape), "dtype": str(w.dtype)} for w in model.weights},
    )


def history_bytes(history: dict) -> bytes:
    return (json.dumps({k: history[k] for k in HISTORY_KEYS}, indent=1) + "\n").encode()


def history_artifact(history: dict) -> Artifact:
    """The per-epoch history as its JSON file, one float list per key."""
    return Artifact(
        history_bytes(history),
        {k: {"shape": [len(history[k])], "dtype": "float"} for k in HISTORY_KEYS},
    )


def npz_artifact(arrays: dict[str, np.ndarray]) -> Artifact:
    return Artifact(npz_bytes(arrays), describe_arrays(arrays))


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def build_files(exploding: dict, vanishing: dict, rnn, gated) -> dict[str, Artifact]:
    """The six files of a build, in ARTIFACTS order, from the two data sets' arrays and the
    two pretrain.Trained results."""
    return {
        EXPLODING: npz_artifact(exploding),
        VANISHING: npz_artifact(vanishing),
        WEIGHTS: rnn.weights,
        HISTORY: history_artifact(rnn.history),
        GATED_WEIGHTS: gated.weights,
        GATED_HISTORY: history_artifact(gated.history),
    }
