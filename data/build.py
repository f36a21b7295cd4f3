#!/usr/bin/env python
"""Build the data files of the "RNN Architecture" assignment.

One deterministic, seeded command writes everything the notebook loads:

  exploding_data.npz     regression data for the exploding-gradients part
                         (sklearn make_regression, first 500 rows train,
                         last 500 rows test)
  vanishing_data.npz     long sequences X (samples, timesteps, 1) float32 and
                         binary labels y for the vanishing-gradients part
                         (synthetic long-memory task by default, or the longest
                         IMDB reviews with --imdb / --source imdb)
  model_weights.h5       weights of the chapter's SimpleRNN(600) model after
                         100 epochs of plain SGD on vanishing_data.npz, in the
                         LEGACY Keras H5 layout, so that the chapter's line
                         ``model.load_weights('model_weights.h5')`` works
  pretrain_history.json  per-epoch accuracy/val_accuracy/loss/val_loss of
                         that pretraining
  gated_weights.h5       the remedy: weights of a small GRU model trained on
                         the same rows (Adam), same legacy H5 layout
  gated_history.json     its per-epoch accuracy/val_accuracy/loss/val_loss

and records sha256, shapes, parameters, seeds and library versions of the
result in data/manifest.json.  Run it from anywhere; the default paths are
relative to the repository root (the parent of this file's folder):

  python data/build.py              # full build, 8-17 min on 2 CPU cores
  python data/build.py --check      # compare files on disk with the manifest
  python data/build.py --tiny --out /tmp/x --manifest /tmp/x/manifest.json

The course CLI calls ``main(argv)``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import platform
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "source" / "rnn_architecture"
DEFAULT_MANIFEST = ROOT / "data" / "manifest.json"

EXPLODING = "exploding_data.npz"
VANISHING = "vanishing_data.npz"
WEIGHTS = "model_weights.h5"
HISTORY = "pretrain_history.json"
GATED_WEIGHTS = "gated_weights.h5"
GATED_HISTORY = "gated_history.json"
ARTIFACTS = (EXPLODING, VANISHING, WEIGHTS, HISTORY, GATED_WEIGHTS, GATED_HISTORY)
HISTORY_KEYS = ("accuracy", "val_accuracy", "loss", "val_loss")

# Seeds.  DATA_SEED drives the synthetic sequences and the train/validation
# arrangement; TRAIN_SEED goes to keras.utils.set_random_seed before the
# model is built (weight initialisation and per-epoch batch shuffling).
DATA_SEED = 20240
TRAIN_SEED = 42
# keras.datasets.imdb.load_data conventions (its defaults) and our vocab cut.
IMDB_SEED = 113
IMDB_START_CHAR = 1
IMDB_OOV_CHAR = 2
IMDB_INDEX_FROM = 3
IMDB_NUM_WORDS = 10000

# Sizes.  FULL was sized by timing 15 epochs of SimpleRNN(600) on this
# 2-core machine (3200 x 100 at batch 256: 3.3-5.7 s per epoch, other jobs
# running) and extrapolating to 100 epochs: about 7-9 minutes.  Batch 256
# (10 SGD steps per epoch) and 2560 training rows keep the network from
# memorising the noise of the training rows within 100 epochs, so the
# training curve stays near 0.5 too (batch 32/128 on 1280 rows crept up
# to 0.6 by epoch 44 in a trial run).
FULL = {
    "samples": 3200,
    "timesteps": 100,
    "signal_steps": 3,
    "value_scale": 10.0,
    "validation_fraction": 0.2,
    "units": 600,
    "epochs": 100,
    "batch_size": 256,
    # The remedy shown in the notebook: GRU(32) -> Dense(1, sigmoid), Adam.
    # Sized by trial runs on this machine (data/README.md): with batch 32 and
    # Adam(0.01) it reached val_accuracy >= 0.99 within 6-22 epochs for each
    # of 6 seeds tried (2-3 s per epoch); Adam(0.003), batch 64 or LSTM(32)
    # had not learned the task after 30 epochs in the same trials.
    "gated_units": 32,
    "gated_epochs": 30,
    "gated_batch_size": 32,
    "gated_learning_rate": 0.01,
    # Per-step sensitivity mean |d y_hat / d x_t| over this many validation rows.
    "sensitivity_rows": 256,
}
# Same code, small everything: used by the tests.
TINY = {
    "samples": 40,
    "timesteps": 12,
    "signal_steps": 3,
    "value_scale": 10.0,
    "validation_fraction": 0.25,
    "units": 8,
    "epochs": 3,
    "batch_size": 8,
    "gated_units": 4,
    "gated_epochs": 2,
    "gated_batch_size": 8,
    "gated_learning_rate": 0.01,
    "sensitivity_rows": 8,
}

# Fixed zip entry timestamp so that .npz files are byte-identical across builds.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)

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


class BuildError(Exception):
    """A problem the user must fix; printed without a traceback."""


# --------------------------------------------------------------------------
# small helpers


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rel(path: Path) -> str:
    """Path relative to the repository root if inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def from_rel(path_str: str) -> Path:
    p = Path(path_str)
    return p if p.is_absolute() else (ROOT / p)


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


def load_manifest(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read manifest {rel(path)}: {exc}") from exc


# --------------------------------------------------------------------------
# exploding gradients data


def make_exploding() -> dict[str, np.ndarray]:
    """The chapter's regression problem, split 500/500, dtypes as produced."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=1000, n_features=20, noise=0.1, random_state=1)
    n_train = 500
    return {
        "X_train": X[:n_train],
        "X_test": X[n_train:],
        "y_train": y[:n_train],
        "y_test": y[n_train:],
    }


# --------------------------------------------------------------------------
# vanishing gradients data


def make_synthetic_vanishing(
    samples: int, timesteps: int, signal_steps: int, seed: int, scale: float = 10.0
):
    """Long-memory binary task: only the first `signal_steps` values tell the label.

    Returns X (samples, timesteps, 1) float32 and y (samples,) int64, classes
    exactly balanced (samples // 2 of each; samples must be even).  With
    S = scale:
      * y == 1: X[:, :signal_steps] ~ Uniform[S/2, S)
      * y == 0: X[:, :signal_steps] ~ Uniform[0, S/2)
      * X[:, signal_steps:] ~ Uniform[0, S) for both classes (pure noise)
    So y == (X[:, 0, 0] >= S/2) exactly, and everything after the first
    `signal_steps` steps is independent of the label.  At S = 10 the
    SimpleRNN's state forgets its start within ~100 steps (measured on the
    chapter's freshly initialised SimpleRNN(600): flipping the first 3 values
    of a 100-step sequence moves the final hidden state by at most ~1e-6,
    float32 round-off, against ~4e-2 at S = 1), i.e. the gradient that would
    carry the label back to those steps has vanished.
    """
    if samples % 2 or samples < 4:
        raise BuildError(f"samples must be even and >= 4, got {samples}")
    if not 0 < signal_steps < timesteps:
        raise BuildError("need 0 < signal_steps < timesteps")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array([0, 1], dtype=np.int64), samples // 2)
    X = rng.random((samples, timesteps, 1), dtype=np.float32)
    head = rng.random((samples, signal_steps), dtype=np.float32) * np.float32(0.5)
    X[:, :signal_steps, 0] = head + np.float32(0.5) * y[:, None].astype(np.float32)
    return X * np.float32(scale), y


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays (and plain lists/ints) but nothing else, like
    keras.src.datasets.npz_utils does for imdb.npz: a crafted file cannot
    run code."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to unpickle {module}.{name} from an imdb.npz file"
        )


def read_npz_restricted(path) -> dict:
    """np.load(path, allow_pickle=True) for object arrays, but restricted."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            fp = io.BytesIO(archive.read(member))
            try:
                arr = np.lib.format.read_array(fp, allow_pickle=False)
            except ValueError:  # object array: header, then a pickle stream
                fp.seek(0)
                major, _ = np.lib.format.read_magic(fp)
                if major == 1:
                    np.lib.format.read_array_header_1_0(fp)
                else:
                    np.lib.format.read_array_header_2_0(fp)
                arr = _NumpyOnlyUnpickler(fp).load()
            arrays[member[: -len(".npy")]] = arr
    return arrays


def load_imdb_npz(
    path,
    num_words=None,
    skip_top=0,
    seed=IMDB_SEED,
    start_char=IMDB_START_CHAR,
    oov_char=IMDB_OOV_CHAR,
    index_from=IMDB_INDEX_FROM,
):
    """Read a local imdb.npz exactly like keras.datasets.imdb.load_data would.

    keras.datasets.imdb.load_data(path=...) checks a hard-coded sha256 and
    re-downloads a file that does not match, so a local (or test) file is read
    here with the same steps: npz with object arrays x_train, y_train, x_test,
    y_test of int lists (raw word ranks); shuffle each split with
    RandomState(seed); prepend start_char and add index_from; replace words
    outside [skip_top, num_words) by oov_char.  (load_data's `maxlen` filter
    is not reproduced: we never use it.)

    Returns (x_train, y_train), (x_test, y_test) like load_data.
    """
    f = read_npz_restricted(path)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        if key not in f:
            raise BuildError(f"{path}: not an imdb.npz (array {key!r} missing)")
    x_train, labels_train = f["x_train"], f["y_train"]
    x_test, labels_test = f["x_test"], f["y_test"]

    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    elif index_from:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]
    else:
        x_train = [list(x) for x in x_train]
        x_test = [list(x) for x in x_test]

    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if (skip_top <= w < num_words) else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    idx = len(x_train)
    return (
        (np.array(xs[:idx], dtype="object"), labels[:idx]),
        (np.array(xs[idx:], dtype="object"), labels[idx:]),
    )


def load_imdb(path: Path | None, num_words: int):
    """Local file if given, else the real keras loader (downloads imdb.npz)."""
    if path is not None:
        if not Path(path).exists():
            raise BuildError(f"--imdb {path}: file not found")
        return load_imdb_npz(path, num_words=num_words)
    import keras

    try:
        return keras.datasets.imdb.load_data(num_words=num_words)
    except Exception as exc:  # no network here, typically
        raise BuildError(
            "keras.datasets.imdb.load_data could not get imdb.npz "
            f"({type(exc).__name__}: {exc}). Without network, pass a local "
            "copy with --imdb PATH, or use --source synthetic."
        ) from exc


def imdb_long_reviews(xs, ys, samples: int, timesteps: int, num_words: int):
    """The samples//2 longest reviews of each class as (samples, timesteps, 1).

    Ties in length go to the earlier review (order as returned by the
    loader: train then test).  Each review keeps its FIRST `timesteps`
    tokens (start_char included); a shorter one is padded with 0 in front
    (like pad_sequences' default padding='pre').  Scaling: token id /
    num_words, so X is in [0, 1), 0 = padding.
    """
    if samples % 2:
        raise BuildError(f"samples must be even, got {samples}")
    ys = np.asarray(ys).astype(np.int64)
    lengths = np.array([len(x) for x in xs])
    chosen = []
    for label in (0, 1):
        idx = np.flatnonzero(ys == label)
        if len(idx) < samples // 2:
            raise BuildError(
                f"IMDB data has only {len(idx)} reviews with label {label}, "
                f"need {samples // 2}"
            )
        order = idx[np.argsort(-lengths[idx], kind="stable")]
        chosen.append(order[: samples // 2])
    chosen = np.concatenate(chosen)
    X = np.zeros((samples, timesteps, 1), dtype=np.float32)
    for row, i in enumerate(chosen):
        seq = np.asarray(xs[i][:timesteps], dtype=np.float64)
        if len(seq):
            X[row, timesteps - len(seq) :, 0] = (seq / num_words).astype(np.float32)
    y = ys[chosen]
    info = {
        "selected_min_length": int(lengths[chosen].min()),
        "selected_max_length": int(lengths[chosen].max()),
        "reviews_available": int(len(xs)),
    }
    return X, y, info


def arrange_balanced(X, y, n_val: int, seed: int):
    """Shuffle so that both the first len-n_val rows (train) and the last n_val
    rows (validation) hold each class exactly half, when possible."""
    rng = np.random.default_rng(seed)
    parts_train, parts_val = [], []
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == label))
        k = n_val // 2 if label == 0 else n_val - n_val // 2
        parts_val.append(idx[:k])
        parts_train.append(idx[k:])
    train = rng.permutation(np.concatenate(parts_train))
    val = rng.permutation(np.concatenate(parts_val))
    order = np.concatenate([train, val])
    return X[order], y[order]


# --------------------------------------------------------------------------
# pretraining


def build_chapter_model(units: int):
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(None, 1)),
            keras.layers.SimpleRNN(units=units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def first_steps_effect(model, X, k: int, high: float) -> float:
    """Largest change of the model's output when the first k values of each
    sequence are mirrored (x -> high - x; for the synthetic task with
    high = S this turns every label-1 signal into a label-0 one and back)."""
    X2 = X.copy()
    X2[:, :k, 0] = np.float32(high) - X2[:, :k, 0]
    p1 = model.predict(X, verbose=0, batch_size=256)
    p2 = model.predict(X2, verbose=0, batch_size=256)
    return float(np.abs(p1 - p2).max())


def pretrain(X, y, n_val: int, cfg: dict, log=print, probe=None):
    """Train the chapter's model; probe = (k, high) for first_steps_effect."""
    return _train(lambda: build_chapter_model(cfg["units"]), lambda keras: "sgd", X, y, n_val,
                  cfg["epochs"], cfg["batch_size"], "", log, probe)


def build_gated_model(units: int):
    """The remedy: the chapter's model with a GRU in place of the SimpleRNN."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(None, 1)),
            keras.layers.GRU(units=units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def pretrain_gated(X, y, n_val: int, cfg: dict, log=print, probe=None):
    """Train the gated model on the same rows; returns like pretrain()."""
    return _train(lambda: build_gated_model(cfg["gated_units"]),
                  lambda keras: keras.optimizers.Adam(learning_rate=cfg["gated_learning_rate"]),
                  X, y, n_val, cfg["gated_epochs"], cfg["gated_batch_size"], "gated ", log,
                  probe)


def _train(build, optimizer, X, y, n_val: int, epochs: int, batch_size: int, label: str,
           log=print, probe=None):
    """Seed, build, compile (``optimizer(keras)``), fit on all rows but the last ``n_val``
    (the validation rows); returns (model, history, seconds, determinism, effect)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    keras.backend.clear_session()  # fresh layer names -> stable weights file
    keras.utils.set_random_seed(TRAIN_SEED)
    try:
        tf.config.experimental.enable_op_determinism()
        determinism = True
    except Exception as exc:  # pragma: no cover
        log(f"note: op determinism unavailable ({exc})")
        determinism = False

    model = build()
    model.compile(loss="binary_crossentropy", optimizer=optimizer(keras), metrics=["accuracy"])
    X_train, y_train = X[:-n_val], y[:-n_val]
    X_val, y_val = X[-n_val:], y[-n_val:]

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            log(
                f"  {label}epoch {epoch + 1:3d}/{epochs} "
                f"({time.perf_counter() - self.t:5.1f} s): "
                + " ".join(f"{k}={logs[k]:.4f}" for k in HISTORY_KEYS if k in logs)
            )

    effect = {}
    if probe is not None:
        effect["at_initialisation"] = first_steps_effect(model, X_val, *probe)
    t0 = time.perf_counter()
    hist = model.fit(
        X_train,
        y_train,
        validation_data=(X_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=[EpochLog()],
    )
    seconds = time.perf_counter() - t0
    if probe is not None:
        effect["after_training"] = first_steps_effect(model, X_val, *probe)
    history = {k: [float(v) for v in hist.history[k]] for k in HISTORY_KEYS}
    return model, history, seconds, determinism, effect


def input_sensitivity(model, X) -> np.ndarray:
    """mean over the rows of |d y_hat / d x_t| for every time step t (the
    notebook draws the same curve).  y_hat of a row depends only on that row,
    so the gradient of the summed outputs holds every row's own derivative."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(X, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x, training=False)
    grad = tape.gradient(out, x).numpy()[:, :, 0]
    return np.abs(grad).mean(axis=0)


def sensitivity_summary(curve: np.ndarray, k: int) -> dict:
    curve = np.asarray(curve, dtype=np.float64)
    return {
        "first_step": float(curve[0]),
        f"max_over_first_{k}_steps": float(curve[:k].max()),
        "last_step": float(curve[-1]),
        "steps_exactly_zero": int((curve == 0).sum()),
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


def history_bytes(history: dict) -> bytes:
    return (json.dumps({k: history[k] for k in HISTORY_KEYS}, indent=1) + "\n").encode()


# --------------------------------------------------------------------------
# manifest, overwrite protection, --check


def hand_edited(out_dir: Path, manifest_path: Path) -> list[str]:
    """Existing artifacts whose sha256 is not the one recorded in the manifest."""
    manifest = load_manifest(manifest_path) or {}
    recorded = {
        from_rel(entry["path"]).resolve(): entry["sha256"]
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
                f"{rel(path)}: exists but is not recorded in {rel(manifest_path)}, "
                "so it may have been made or edited by hand"
            )
        elif sha256_file(path) != want:
            problems.append(
                f"{rel(path)}: sha256 differs from {rel(manifest_path)} "
                "(edited by hand since the last build?)"
            )
    return problems


def check(manifest_path: Path) -> int:
    try:
        manifest = load_manifest(manifest_path)
    except BuildError as exc:
        print(f"check FAILED: {exc}", file=sys.stderr)
        return 1
    if manifest is None:
        print(f"check FAILED: no manifest at {rel(manifest_path)}", file=sys.stderr)
        return 1
    bad = []
    for name, entry in manifest.get("artifacts", {}).items():
        path = from_rel(entry["path"])
        if not path.exists():
            bad.append(f"  MISSING  {entry['path']}")
        elif sha256_file(path) != entry["sha256"]:
            bad.append(
                f"  DIFFERS  {entry['path']} (sha256 {sha256_file(path)[:12]}..., "
                f"manifest says {entry['sha256'][:12]}...)"
            )
    if bad:
        print(
            f"check FAILED: {len(bad)} file(s) do not match {rel(manifest_path)}:",
            file=sys.stderr,
        )
        for line in bad:
            print(line, file=sys.stderr)
        print("Rebuild with: python data/build.py (add --force to overwrite edits)",
              file=sys.stderr)
        return 1
    print(f"check OK: {len(manifest.get('artifacts', {}))} files match {rel(manifest_path)}")
    return 0


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


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# command line


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python data/build.py",
        description=(
            "Build the data files of the 'RNN Architecture' assignment: "
            "exploding_data.npz (regression data), vanishing_data.npz (long "
            "sequences), model_weights.h5 (the chapter's SimpleRNN(600) after "
            "100 epochs of SGD, legacy Keras H5 layout) and "
            "pretrain_history.json, the remedy gated_weights.h5 (a GRU(32) "
            "trained with Adam) and gated_history.json, plus data/manifest.json "
            "with their sha256. Deterministic and seeded; the full build takes "
            "8-17 minutes (the GRU about 1 of them) "
            "on 2 CPU cores."
        ),
        epilog=(
            "Sources for the vanishing-gradients data: 'synthetic' (default, "
            "offline) is a long-memory task whose label is set by the first "
            "few timesteps only; 'imdb' uses the longest IMDB reviews, from "
            "--imdb PATH or from keras.datasets.imdb.load_data (needs the "
            "network). Existing files whose sha256 differs from the manifest "
            "(hand edits) are never overwritten without --force. "
            "Exit codes: 0 ok, 1 --check found differences, 2 bad usage, "
            "3 refused to overwrite or could not build."
        ),
    )
    parser.add_argument(
        "--out", type=Path, default=None,
        help="folder to write the six files into "
             "(default: source/rnn_architecture in the repository)",
    )
    parser.add_argument(
        "--manifest", type=Path, default=None,
        help="where to write the manifest (default: data/manifest.json)",
    )
    parser.add_argument(
        "--source", choices=("synthetic", "imdb"), default=None,
        help="where vanishing_data.npz comes from (default: synthetic, or "
             "imdb when --imdb is given)",
    )
    parser.add_argument(
        "--imdb", type=Path, default=None, metavar="PATH",
        help="local imdb.npz in the keras.datasets format (x_train, y_train, "
             "x_test, y_test); implies --source imdb",
    )
    parser.add_argument(
        "--tiny", action="store_true",
        help="small fast variant of everything through the same code (for "
             "tests); needs explicit --out and --manifest",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="overwrite files even if they differ from the manifest",
    )
    parser.add_argument(
        "--check", action="store_true",
        help="build nothing: verify the files listed in the manifest against "
             "their sha256 and exit 1 naming each missing or differing file",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only errors and the summary",
    )
    args = parser.parse_args(argv)
    if args.source is None:
        args.source = "imdb" if args.imdb is not None else "synthetic"
    elif args.source == "synthetic" and args.imdb is not None:
        parser.error("--imdb given together with --source synthetic")
    if args.tiny and not args.check and (args.out is None or args.manifest is None):
        parser.error(
            "--tiny needs explicit --out and --manifest, so that the shipped "
            "files and data/manifest.json are not replaced by the test variant"
        )
    return args


def build(args, argv) -> int:
    t_start = time.perf_counter()
    log = (lambda *a, **k: None) if args.quiet else (lambda *a, **k: print(*a, **k, flush=True))
    out_dir = (args.out or DEFAULT_OUT).resolve()
    manifest_path = (args.manifest or DEFAULT_MANIFEST).resolve()
    cfg = dict(TINY if args.tiny else FULL)

    problems = hand_edited(out_dir, manifest_path)
    if problems and not args.force:
        print("Refusing to overwrite (use --force to overwrite anyway):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 3
    for p in problems:
        log(f"--force: overwriting {p}")

    # 1. exploding gradients
    exploding = make_exploding()

    # 2. vanishing gradients
    n_val = int(round(cfg["samples"] * cfg["validation_fraction"]))
    if args.source == "synthetic":
        X, y = make_synthetic_vanishing(
            cfg["samples"], cfg["timesteps"], cfg["signal_steps"], DATA_SEED,
            cfg["value_scale"],
        )
        source = {
            "name": "synthetic",
            "statement": "synthetic, not IMDB",
            "definition": (
                "classes exactly balanced; with S = value_scale: label 1: the "
                "first signal_steps values ~ U[S/2, S), label 0: ~ U[0, S/2); "
                "all later values ~ U[0, S) for both classes (noise), so "
                "y == (X[:,0,0] >= S/2)"
            ),
            "value_scale": cfg["value_scale"],
            "samples": cfg["samples"],
            "timesteps": cfg["timesteps"],
            "signal_steps": cfg["signal_steps"],
            "seed": DATA_SEED,
            "generator": "numpy.random.default_rng(seed).random(float32)",
        }
    else:
        (xa, ya), (xb, yb) = load_imdb(args.imdb, IMDB_NUM_WORDS)
        xs = list(xa) + list(xb)
        ys = np.concatenate([np.asarray(ya), np.asarray(yb)])
        X, y, info = imdb_long_reviews(xs, ys, cfg["samples"], cfg["timesteps"], IMDB_NUM_WORDS)
        source = {
            "name": "imdb",
            "statement": "IMDB reviews",
            "file": (
                f"{args.imdb.name} (local, sha256 {sha256_file(args.imdb)})"
                if args.imdb is not None
                else "keras.datasets.imdb.load_data()"
            ),
            "selection": (
                "samples//2 longest reviews of each label (train+test pooled), "
                "first `timesteps` tokens kept, shorter ones 0-padded in front"
            ),
            "scaling": f"token id / num_words ({IMDB_NUM_WORDS}), float32 in [0, 1)",
            "loader_conventions": {
                "num_words": IMDB_NUM_WORDS, "seed": IMDB_SEED,
                "start_char": IMDB_START_CHAR, "oov_char": IMDB_OOV_CHAR,
                "index_from": IMDB_INDEX_FROM,
            },
            "samples": cfg["samples"],
            "timesteps": cfg["timesteps"],
            **info,
        }
    X, y = arrange_balanced(X, y, n_val, DATA_SEED + 1)
    vanishing = {"X": X.astype(np.float32), "y": y.astype(np.int64)}
    log(f"data: exploding {exploding['X_train'].shape}/{exploding['X_test'].shape}, "
        f"vanishing X{X.shape} ({source['statement']}), validation = last {n_val} rows")

    # 3. pretraining
    log(f"pretraining SimpleRNN({cfg['units']}) for {cfg['epochs']} epochs ...")
    if args.source == "synthetic":
        probe = (cfg["signal_steps"], cfg["value_scale"])
    else:
        probe = (3, 1.0)
    model, history, train_seconds, determinism, effect = pretrain(
        X, y, n_val, cfg, log=log, probe=probe
    )
    log(f"first-steps effect on the output: {effect}")
    X_probe = X[-n_val:][: cfg["sensitivity_rows"]]
    sensitivity = sensitivity_summary(input_sensitivity(model, X_probe), probe[0])
    weights_bytes = weights_h5_bytes(model)  # before the gated model's clear_session
    weight_shapes = {
        w.path: {"shape": list(w.shape), "dtype": str(w.dtype)} for w in model.weights
    }

    # 4. the remedy: a gated model on the same rows
    log(f"training the gated model GRU({cfg['gated_units']}) for "
        f"{cfg['gated_epochs']} epochs ...")
    gated, gated_history, gated_seconds, gated_determinism, gated_effect = pretrain_gated(
        X, y, n_val, cfg, log=log, probe=probe
    )
    log(f"gated model: first-steps effect on the output: {gated_effect}")
    gated_sensitivity = sensitivity_summary(input_sensitivity(gated, X_probe), probe[0])
    gated_shapes = {
        w.path: {"shape": list(w.shape), "dtype": str(w.dtype)} for w in gated.weights
    }
    reached = [i + 1 for i, v in enumerate(gated_history["val_accuracy"]) if v >= 0.9]

    # 5. serialise everything in memory, then write
    payload = {
        EXPLODING: npz_bytes(exploding),
        VANISHING: npz_bytes(vanishing),
        WEIGHTS: weights_bytes,
        HISTORY: history_bytes(history),
        GATED_WEIGHTS: weights_h5_bytes(gated),
        GATED_HISTORY: history_bytes(gated_history),
    }
    arrays = {EXPLODING: describe_arrays(exploding), VANISHING: describe_arrays(vanishing)}
    arrays[WEIGHTS] = weight_shapes
    arrays[HISTORY] = {k: {"shape": [len(history[k])], "dtype": "float"} for k in HISTORY_KEYS}
    arrays[GATED_WEIGHTS] = gated_shapes
    arrays[GATED_HISTORY] = {
        k: {"shape": [len(gated_history[k])], "dtype": "float"} for k in HISTORY_KEYS
    }

    for name, data in payload.items():
        write_atomic(out_dir / name, data)

    final = {k: history[k][-1] for k in HISTORY_KEYS}
    command = "python data/build.py" + "".join(f" {a}" for a in (argv or []))
    manifest = {
        "description": "Data files of the 'RNN Architecture' assignment, written by data/build.py",
        "variant": "tiny" if args.tiny else "full",
        "build_command": command,
        "build_seconds": round(time.perf_counter() - t_start, 1),
        "seeds": {
            "data": DATA_SEED,
            "train_validation_arrangement": DATA_SEED + 1,
            "keras.utils.set_random_seed": TRAIN_SEED,
            "make_regression random_state": 1,
        },
        "exploding": {
            "generator": "sklearn.datasets.make_regression(n_samples=1000, "
                         "n_features=20, noise=0.1, random_state=1)",
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
            "model": f"Sequential([Input(shape=(None, 1)), SimpleRNN(units={cfg['units']}), "
                     "Dense(1, activation='sigmoid')])",
            "compile": "loss='binary_crossentropy', optimizer='sgd' (learning_rate 0.01), "
                       "metrics=['accuracy']",
            "fit": f"epochs={cfg['epochs']}, batch_size={cfg['batch_size']}, shuffle=True, "
                   f"train on first {cfg['samples'] - n_val} rows, "
                   f"validation_data = last {n_val} rows",
            "epochs": cfg["epochs"],
            "units": cfg["units"],
            "op_determinism": determinism,
            "first_steps_effect": {
                "what": (
                    f"max |change of the sigmoid output| over the validation rows "
                    f"when the first {probe[0]} values are mirrored (x -> {probe[1]} - x)"
                ),
                **effect,
            },
            "train_seconds": round(train_seconds, 1),
            "final": final,
            "val_accuracy_range": [min(history["val_accuracy"]), max(history["val_accuracy"])],
            "accuracy_range": [min(history["accuracy"]), max(history["accuracy"])],
            "weights_layout": "legacy Keras H5 (keras.src.legacy.saving.legacy_h5_format."
                              "save_weights_to_hdf5_group); load with model.load_weights('model_weights.h5')",
            "input_sensitivity": {
                "what": (
                    f"mean |d y_hat / d x_t| of the trained model over the first "
                    f"{len(X_probe)} validation rows (tf.GradientTape on the input), "
                    "at the first step, the largest over the signal steps, the last step; "
                    "the notebook plots the whole curve"
                ),
                **sensitivity,
            },
            "reproducibility": WEIGHTS_REPRODUCIBILITY,
        },
        "gated": {
            "why": (
                "the remedy the notebook shows beside the flat SimpleRNN curve: a gated "
                "recurrent cell trained on the same rows and validated on the same rows"
            ),
            "model": f"Sequential([Input(shape=(None, 1)), GRU(units={cfg['gated_units']}), "
                     "Dense(1, activation='sigmoid')])",
            "compile": f"loss='binary_crossentropy', optimizer=Adam(learning_rate="
                       f"{cfg['gated_learning_rate']}), metrics=['accuracy']",
            "fit": f"epochs={cfg['gated_epochs']}, batch_size={cfg['gated_batch_size']}, "
                   f"shuffle=True, train on first {cfg['samples'] - n_val} rows, "
                   f"validation_data = last {n_val} rows",
            "differs_from_the_simplernn_pretraining": (
                "GRU cell, 32 units instead of 600, Adam(0.01) instead of SGD(0.01), "
                "batch 32 instead of 256, 30 epochs instead of 100; same data, same rows, "
                "same seed (keras.utils.set_random_seed after clear_session)"
            ) if not args.tiny else "tiny variant",
            "epochs": cfg["gated_epochs"],
            "units": cfg["gated_units"],
            "op_determinism": gated_determinism,
            "first_steps_effect": {
                "what": (
                    f"max |change of the sigmoid output| over the validation rows "
                    f"when the first {probe[0]} values are mirrored (x -> {probe[1]} - x)"
                ),
                **gated_effect,
            },
            "input_sensitivity": {
                "what": "as pretraining.input_sensitivity, for the gated model",
                **gated_sensitivity,
            },
            "train_seconds": round(gated_seconds, 1),
            "final": {k: gated_history[k][-1] for k in HISTORY_KEYS},
            "first_epoch_val_accuracy_at_least_0.9": reached[0] if reached else None,
            "val_accuracy_range": [min(gated_history["val_accuracy"]),
                                   max(gated_history["val_accuracy"])],
            "weights_layout": "legacy Keras H5, as model_weights.h5; load with "
                              "model.load_weights('gated_weights.h5')",
        },
        "sizes": dict(cfg),
        "versions": library_versions(),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "artifacts": {
            name: {
                "path": rel(out_dir / name),
                "sha256": sha256_bytes(data),
                "bytes": len(data),
                "arrays": arrays[name],
            }
            for name, data in payload.items()
        },
    }
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())
    print(
        f"built {len(payload)} files in {rel(out_dir)} in {manifest['build_seconds']} s; "
        f"final accuracy {final['accuracy']:.3f}, val_accuracy {final['val_accuracy']:.3f}; "
        f"gated model val_accuracy {gated_history['val_accuracy'][-1]:.3f}; "
        f"manifest {rel(manifest_path)}"
    )
    return 0


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    args = parse_args(argv)
    try:
        if args.check:
            return check((args.manifest or DEFAULT_MANIFEST).resolve())
        return build(args, argv)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
