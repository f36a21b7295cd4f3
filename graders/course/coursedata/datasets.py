"""The assignment's two data sets: the exploding-gradients regression data and the
vanishing-gradients sequences (a synthetic long-memory task, or the longest IMDB reviews read
like ``keras.datasets.imdb.load_data``), arranged into balanced training and validation rows,
each with a description of where it came from for the manifest."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from . import BuildError
from .artifacts import sha256_file

# DATA_SEED drives the synthetic sequences; DATA_SEED + 1 the train/validation arrangement.
DATA_SEED = 20240
ARRANGEMENT_SEED = DATA_SEED + 1
# make_regression's random_state (the chapter's).
EXPLODING_SEED = 1
# keras.datasets.imdb.load_data conventions (its defaults) and our vocab cut.
IMDB_SEED = 113
IMDB_START_CHAR = 1
IMDB_OOV_CHAR = 2
IMDB_INDEX_FROM = 3
IMDB_NUM_WORDS = 10000


# --------------------------------------------------------------------------
# exploding gradients data


def make_exploding() -> dict[str, np.ndarray]:
    """The chapter's regression problem, split 500/500, dtypes as produced."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=1000, n_features=20, noise=0.1,
                           random_state=EXPLODING_SEED)
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
# the vanishing data of a build, with its description


def synthetic_vanishing(cfg: dict):
    """The synthetic task at the sizes of ``cfg``: X, y and its description."""
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
    return X, y, source


def imdb_vanishing(cfg: dict, path: Path | None):
    """The longest IMDB reviews (``path``, or keras' download) at the sizes of ``cfg``: X, y
    and their description."""
    (xa, ya), (xb, yb) = load_imdb(path, IMDB_NUM_WORDS)
    xs = list(xa) + list(xb)
    ys = np.concatenate([np.asarray(ya), np.asarray(yb)])
    X, y, info = imdb_long_reviews(xs, ys, cfg["samples"], cfg["timesteps"], IMDB_NUM_WORDS)
    source = {
        "name": "imdb",
        "statement": "IMDB reviews",
        "file": (
            f"{path.name} (local, sha256 {sha256_file(path)})"
            if path is not None
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
    return X, y, source


def vanishing(cfg: dict, source: str, imdb: Path | None, n_val: int):
    """The vanishing-gradients data of a build from ``source`` ("synthetic" or "imdb"),
    arranged so that the last ``n_val`` rows are the balanced validation rows:
    ``({"X": float32, "y": int64}, description)``."""
    if source == "synthetic":
        X, y, description = synthetic_vanishing(cfg)
    else:
        X, y, description = imdb_vanishing(cfg, imdb)
    X, y = arrange_balanced(X, y, n_val, ARRANGEMENT_SEED)
    return {"X": X.astype(np.float32), "y": y.astype(np.int64)}, description


def probe_of(cfg: dict, source: str) -> tuple[int, float]:
    """(k, high) of the first-steps probe: mirror the first k values (x -> high - x); for the
    synthetic task that turns every label-1 signal into a label-0 one and back."""
    if source == "synthetic":
        return (cfg["signal_steps"], cfg["value_scale"])
    return (3, 1.0)
