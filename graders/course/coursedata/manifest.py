"""The manifest of a build (``data/manifest.json`` of the course): its content, made in one
place; reading it; ``--check`` of the files on disk against it; and the detection of files
edited by hand since it was written.  Paths in it are relative to the course folder."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from . import BuildError
from .artifacts import ARTIFACTS, HISTORY_KEYS, sha256_bytes, sha256_file, write_atomic
from .datasets import ARRANGEMENT_SEED, DATA_SEED, EXPLODING_SEED
from .pretrain import TRAIN_SEED, model_description

# What we measured about reproducibility of the pretraining (see data/README.md).
WEIGHTS_REPRODUCIBILITY = (
    "With keras.utils.set_random_seed and "
    "tf.config.experimental.enable_op_determinism(), separate full builds on "
    "the same 2-core CPU machine gave bit-identical model_weights.h5 and "
    "pretrain_history.json (same sha256). A different CPU, thread count or "
    "TensorFlow build may change the last bits of the trained weights, so "
    "the tests compare the .npz data files byte for byte with a rebuild, "
    "compare weights and history byte for byte only between two tiny builds "
    "on the same machine, and check the shipped weights against this "
    "manifest's sha256 and by loading them."
)


# --------------------------------------------------------------------------
# paths as the manifest records them


def rel(path: Path, course: Path) -> str:
    """Path relative to the course folder if inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(course).as_posix()
    except ValueError:
        return str(path)


def from_rel(path_str: str, course: Path) -> Path:
    p = Path(path_str)
    return p if p.is_absolute() else (course / p)


# --------------------------------------------------------------------------
# reading, overwrite protection, --check


def load_manifest(path: Path, course: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read manifest {rel(path, course)}: {exc}") from exc


def hand_edited(out_dir: Path, manifest_path: Path, course: Path) -> list[str]:
    """Existing artifacts whose sha256 is not the one recorded in the manifest."""
    manifest = load_manifest(manifest_path, course) or {}
    recorded = {
        from_rel(entry["path"], course).resolve(): entry["sha256"]
        for entry in manifest.get("artifacts", {}).values()
    }
    problems = []
    for name in ARTIFACTS:
        path = (out_dir / name).resolve()
        if not path.exists():
            continue
        want = recorded.get(path)
        if want is None:
            problems.append(
                f"{rel(path, course)}: exists but is not recorded in "
                f"{rel(manifest_path, course)}, so it may have been made or edited by hand"
            )
        elif sha256_file(path) != want:
            problems.append(
                f"{rel(path, course)}: sha256 differs from {rel(manifest_path, course)} "
                "(edited by hand since the last build?)"
            )
    return problems


def check(manifest_path: Path, course: Path) -> int:
    """--check: 0 when every file the manifest lists has its sha256, else 1 naming each."""
    try:
        manifest = load_manifest(manifest_path, course)
    except BuildError as exc:
        print(f"check FAILED: {exc}", file=sys.stderr)
        return 1
    if manifest is None:
        print(f"check FAILED: no manifest at {rel(manifest_path, course)}", file=sys.stderr)
        return 1
    bad = []
    for name, entry in manifest.get("artifacts", {}).items():
        path = from_rel(entry["path"], course)
        if not path.exists():
            bad.append(f"  MISSING  {entry['path']}")
        elif sha256_file(path) != entry["sha256"]:
            bad.append(
                f"  DIFFERS  {entry['path']} (sha256 {sha256_file(path)[:12]}..., "
                f"manifest says {entry['sha256'][:12]}...)"
            )
    if bad:
        print(
            f"check FAILED: {len(bad)} file(s) do not match {rel(manifest_path, course)}:",
            file=sys.stderr,
        )
        for line in bad:
            print(line, file=sys.stderr)
        print("Rebuild with: python data/build.py (add --force to overwrite edits)",
              file=sys.stderr)
        return 1
    print(f"check OK: {len(manifest.get('artifacts', {}))} files match "
          f"{rel(manifest_path, course)}")
    return 0


# --------------------------------------------------------------------------
# the content


def library_versions() -> dict:
    import h5py
    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "scikit-learn": sklearn.__version__,
        "h5py": h5py.__version__,
    }


def _fit(epochs: int, batch_size: int, cfg: dict, n_val: int) -> str:
    return (f"epochs={epochs}, batch_size={batch_size}, shuffle=True, "
            f"train on first {cfg['samples'] - n_val} rows, "
            f"validation_data = last {n_val} rows")


def _first_steps_effect(probe: tuple[int, float], effect: dict) -> dict:
    return {
        "what": (
            f"max |change of the sigmoid output| over the validation rows "
            f"when the first {probe[0]} values are mirrored (x -> {probe[1]} - x)"
        ),
        **effect,
    }


def _final(history: dict) -> dict:
    return {k: history[k][-1] for k in HISTORY_KEYS}


def _range(history: dict, key: str) -> list:
    return [min(history[key]), max(history[key])]


def content(*, tiny: bool, command: str, seconds: float, cfg: dict, n_val: int,
            source: dict, probe: tuple[int, float], rnn, gated, files: dict,
            out_dir: Path, course: Path) -> dict:
    """The manifest of a build: ``rnn`` and ``gated`` are the two pretrain.Trained results,
    ``files`` the artifacts.Artifact of each file written into ``out_dir``."""
    reached = [i + 1 for i, v in enumerate(gated.history["val_accuracy"]) if v >= 0.9]
    return {
        "description": "Data files of the 'RNN Architecture' assignment, written by data/build.py",
        "variant": "tiny" if tiny else "full",
        "build_command": command,
        "build_seconds": seconds,
        "seeds": {
            "data": DATA_SEED,
            "train_validation_arrangement": ARRANGEMENT_SEED,
            "keras.utils.set_random_seed": TRAIN_SEED,
            "make_regression random_state": EXPLODING_SEED,
        },
        "exploding": {
            "generator": "sklearn.datasets.make_regression(n_samples=1000, "
                         f"n_features=20, noise=0.1, random_state={EXPLODING_SEED})",
            "split": "first 500 rows X_train/y_train, last 500 rows X_test/y_test",
        },
        "vanishing": {
            "source": source,
            "X": "float32 (samples, timesteps, 1)",
            "y": "int64 (samples,), 0/1",
            "validation": (
                f"last {n_val} rows ({cfg['validation_fraction']:.0%}, the same rows "
                f"keras' validation_split={cfg['validation_fraction']} takes); "
                "each class is exactly half of the first and of the last part"
            ),
        },
        "pretraining": {
            "model": model_description("SimpleRNN", cfg["units"]),
            "compile": "loss='binary_crossentropy', optimizer='sgd' (learning_rate 0.01), "
                       "metrics=['accuracy']",
            "fit": _fit(cfg["epochs"], cfg["batch_size"], cfg, n_val),
            "epochs": cfg["epochs"],
            "units": cfg["units"],
            "op_determinism": rnn.determinism,
            "first_steps_effect": _first_steps_effect(probe, rnn.effect),
            "train_seconds": round(rnn.seconds, 1),
            "final": _final(rnn.history),
            "val_accuracy_range": _range(rnn.history, "val_accuracy"),
            "accuracy_range": _range(rnn.history, "accuracy"),
            "weights_layout": "legacy Keras H5 (keras.src.legacy.saving.legacy_h5_format."
                              "save_weights_to_hdf5_group); load with model.load_weights('model_weights.h5')",
            "input_sensitivity": {
                "what": (
                    f"mean |d y_hat / d x_t| of the trained model over the first "
                    f"{rnn.probe_rows} validation rows (tf.GradientTape on the input), "
                    "at the first step, the largest over the signal steps, the last step; "
                    "the notebook plots the whole curve"
                ),
                **rnn.sensitivity,
            },
            "reproducibility": WEIGHTS_REPRODUCIBILITY,
        },
        "gated": {
            "why": (
                "the remedy the notebook shows beside the flat SimpleRNN curve: a gated "
                "recurrent cell trained on the same rows and validated on the same rows"
            ),
            "model": model_description("GRU", cfg["gated_units"]),
            "compile": f"loss='binary_crossentropy', optimizer=Adam(learning_rate="
                       f"{cfg['gated_learning_rate']}), metrics=['accuracy']",
            "fit": _fit(cfg["gated_epochs"], cfg["gated_batch_size"], cfg, n_val),
            "differs_from_the_simplernn_pretraining": (
                "GRU cell, 32 units instead of 600, Adam(0.01) instead of SGD(0.01), "
                "batch 32 instead of 256, 30 epochs instead of 100; same data, same rows, "
                "same seed (keras.utils.set_random_seed after clear_session)"
            ) if not tiny else "tiny variant",
            "epochs": cfg["gated_epochs"],
            "units": cfg["gated_units"],
            "op_determinism": gated.determinism,
            "first_steps_effect": _first_steps_effect(probe, gated.effect),
            "input_sensitivity": {
                "what": "as pretraining.input_sensitivity, for the gated model",
                **gated.sensitivity,
            },
            "train_seconds": round(gated.seconds, 1),
            "final": _final(gated.history),
            "first_epoch_val_accuracy_at_least_0.9": reached[0] if reached else None,
            "val_accuracy_range": _range(gated.history, "val_accuracy"),
            "weights_layout": "legacy Keras H5, as model_weights.h5; load with "
                              "model.load_weights('gated_weights.h5')",
        },
        "sizes": dict(cfg),
        "versions": library_versions(),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "artifacts": {
            name: {
                "path": rel(out_dir / name, course),
                "sha256": sha256_bytes(artifact.data),
                "bytes": len(artifact.data),
                "arrays": artifact.arrays,
            }
            for name, artifact in files.items()
        },
    }


def write(path: Path, manifest: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(manifest, indent=2) + "\n").encode())
