"""Tests of the data builder (graders.course.coursedata, run as data/build.py or
``rnn-course data``) and of the data files it ships.

Fast by default: only the tests that load weights or run a --tiny build import
TensorFlow.  The exploding-gradients check trains 2 x 100 epochs and is
marked slow.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from graders.course.coursedata.artifacts import ARTIFACTS, HISTORY_KEYS, npz_bytes
from graders.course.coursedata.build import FULL, TINY
from graders.course.coursedata.build import main as build_main
from graders.course.coursedata.datasets import (imdb_long_reviews, load_imdb_npz,
                                                make_synthetic_vanishing)
from graders.course.coursedata.manifest import from_rel
from graders.course.coursedata.pretrain import (first_steps_effect, input_sensitivity,
                                                sensitivity_summary)

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "data" / "build.py"  # the command's stable name in a checkout
MANIFEST = ROOT / "data" / "manifest.json"
README = ROOT / "data" / "README.md"
SRC = ROOT / "source" / "rnn_architecture"
RELEASE = ROOT / "release" / "rnn_architecture"

NOTEBOOK = SRC / "vanishing_gradients.ipynb"

# Flatness band for the shipped pretraining curves.  Measured on the shipped
# build: see data/README.md (val_accuracy and accuracy both stay well inside).
FLAT_LOW, FLAT_HIGH = 0.35, 0.65
# The gated remedy must really learn the task it is shown beside.
LEARNED = 0.9


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def run_build(*args: str) -> int:
    """Run the builder's main(argv) in this process on this checkout's course, like the
    course CLI."""
    return build_main(list(args), course=ROOT)


def tiny_args(out: Path, *extra: str) -> list[str]:
    return ["--tiny", "--quiet", "--out", str(out), "--manifest", str(out / "manifest.json"), *extra]


def manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def assert_consistent(manifest_path: Path, course: Path = ROOT) -> dict:
    """Every artifact of a manifest exists with the recorded sha256, size and arrays (paths
    relative to the course folder)."""
    m = json.loads(Path(manifest_path).read_text())
    assert sorted(m["artifacts"]) == sorted(ARTIFACTS)
    for name, entry in m["artifacts"].items():
        path = from_rel(entry["path"], course)
        assert path.name == name
        assert path.exists(), f"{entry['path']} missing"
        assert sha256(path) == entry["sha256"], f"{entry['path']} differs from manifest"
        assert path.stat().st_size == entry["bytes"]
        if name.endswith(".npz"):
            arrays = load_npz(path)
            assert sorted(arrays) == sorted(entry["arrays"])
            for key, arr in arrays.items():
                assert list(arr.shape) == entry["arrays"][key]["shape"], (name, key)
                assert str(arr.dtype) == entry["arrays"][key]["dtype"], (name, key)
    history = json.loads(from_rel(m["artifacts"]["pretrain_history.json"]["path"], course).read_text())
    assert list(history) == list(HISTORY_KEYS)
    for key in HISTORY_KEYS:
        assert len(history[key]) == m["sizes"]["epochs"]
        assert history[key][-1] == m["pretraining"]["final"][key]
    gated = json.loads(from_rel(m["artifacts"]["gated_history.json"]["path"], course).read_text())
    assert list(gated) == list(HISTORY_KEYS)
    for key in HISTORY_KEYS:
        assert len(gated[key]) == m["sizes"]["gated_epochs"] == m["gated"]["epochs"]
        assert gated[key][-1] == m["gated"]["final"][key]
    return m


def chapter_models(units: int):
    """The chapter's model built three ways: (a) add() with input_shape,
    (b) keras.Input in a Sequential list, (c) functional."""
    import warnings

    import keras
    from keras.layers import Dense, SimpleRNN

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # input_shape= on a layer warns in Keras 3
        a = keras.Sequential()
        a.add(SimpleRNN(units=units, input_shape=(None, 1)))
        a.add(Dense(1, activation="sigmoid"))
    b = keras.Sequential([keras.Input(shape=(None, 1)), SimpleRNN(units), Dense(1, activation="sigmoid")])
    inp = keras.Input(shape=(None, 1))
    c = keras.Model(inp, Dense(1, activation="sigmoid")(SimpleRNN(units)(inp)))
    return {"add+input_shape": a, "Input": b, "functional": c}


def h5_weights(path: Path) -> list[np.ndarray]:
    """The weights stored in a legacy Keras H5 file, in layer order (the grader's own reader)."""
    from graders.judge.course import h5_weights as pretrained_weights

    return pretrained_weights(path)


def assert_loads_exactly(path: Path, units: int) -> None:
    stored = h5_weights(path)
    assert len(stored) == 5  # kernel, recurrent_kernel, bias, dense kernel, dense bias
    for how, model in chapter_models(units).items():
        model.load_weights(str(path))  # the chapter's exact call, plain '.h5' name
        got = model.get_weights()
        assert len(got) == len(stored), how
        for g, s in zip(got, stored):
            assert g.shape == s.shape and g.dtype == s.dtype, how
            assert np.array_equal(g, s), f"{how}: loaded weights differ from the file"


def gated_model(units: int):
    """The notebook's GRU remedy, built as its read-only cell builds it."""
    import keras

    return keras.Sequential([keras.Input(shape=(None, 1)), keras.layers.GRU(units),
                             keras.layers.Dense(1, activation="sigmoid")], name="gated")


def assert_gated_loads_exactly(path: Path, units: int):
    import keras

    stored = h5_weights(path)
    assert len(stored) == 5  # GRU kernel, recurrent_kernel, bias, dense kernel, dense bias
    model = gated_model(units)
    model.load_weights(str(path))  # plain '.h5' name: Keras 3's legacy loader
    got = model.get_weights()
    assert [g.shape for g in got] == [s.shape for s in stored]
    for g, s in zip(got, stored):
        assert g.dtype == s.dtype and np.array_equal(g, s), "loaded weights differ from the file"
    wrong = keras.Sequential([keras.Input(shape=(None, 1)), keras.layers.GRU(units + 1),
                              keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError):
        wrong.load_weights(str(path))
    return model


def assert_wrong_units_fail(path: Path, units: int) -> None:
    import keras
    from keras.layers import Dense, SimpleRNN

    model = keras.Sequential([keras.Input(shape=(None, 1)), SimpleRNN(units), Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError):
        model.load_weights(str(path))


# --------------------------------------------------------------------------
# the shipped files (no TensorFlow)


def test_shipped_artifacts_match_manifest():
    m = assert_consistent(MANIFEST)
    assert m["variant"] == "full"
    for entry in m["artifacts"].values():
        assert not Path(entry["path"]).is_absolute()
        assert entry["path"].startswith("source/rnn_architecture/")
    assert run_build("--check") == 0
    for lib in ("python", "numpy", "tensorflow", "keras", "scikit-learn", "h5py"):
        assert m["versions"][lib]
    assert m["build_seconds"] > 0


def test_shipped_exploding_data_is_the_chapters():
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=1000, n_features=20, noise=0.1, random_state=1)
    d = load_npz(SRC / "exploding_data.npz")
    assert d["X_train"].shape == (500, 20) and d["X_test"].shape == (500, 20)
    assert d["y_train"].shape == (500,) and d["y_test"].shape == (500,)
    np.testing.assert_array_equal(d["X_train"], X[:500])
    np.testing.assert_array_equal(d["X_test"], X[500:])
    np.testing.assert_array_equal(d["y_train"], y[:500])
    np.testing.assert_array_equal(d["y_test"], y[500:])
    assert d["X_train"].dtype == X.dtype and d["y_train"].dtype == y.dtype


def test_shipped_vanishing_data():
    m = manifest()
    d = load_npz(SRC / "vanishing_data.npz")
    X, y = d["X"], d["y"]
    sizes = m["sizes"]
    assert X.dtype == np.float32 and X.shape == (sizes["samples"], sizes["timesteps"], 1)
    assert y.shape == (sizes["samples"],) and set(np.unique(y)) == {0, 1}
    n_val = int(round(sizes["samples"] * sizes["validation_fraction"]))
    assert y[:-n_val].mean() == 0.5 and y[-n_val:].mean() == 0.5  # balanced train and val
    assert np.isfinite(X).all()
    source = m["vanishing"]["source"]
    if source["name"] == "synthetic":
        assert source["statement"] == "synthetic, not IMDB"
        S, k = source["value_scale"], source["signal_steps"]
        assert (X >= 0).all() and (X < S).all()
        head = X[:, :k, 0] >= S / 2
        assert (head == (y[:, None] == 1)).all()  # the first k steps decide the label


def test_readme_states_the_shipped_source():
    text = README.read_text()
    statement = manifest()["vanishing"]["source"]["statement"]
    assert statement in text
    assert "python data/build.py" in text


def test_shipped_history_is_flat():
    m = manifest()
    h = json.loads((SRC / "pretrain_history.json").read_text())
    assert list(h) == ["accuracy", "val_accuracy", "loss", "val_loss"]
    for key in HISTORY_KEYS:
        assert len(h[key]) == 100, key
        assert all(isinstance(v, float) and np.isfinite(v) for v in h[key]), key
    for key in ("accuracy", "val_accuracy"):
        lo, hi = min(h[key]), max(h[key])
        assert FLAT_LOW <= lo and hi <= FLAT_HIGH, f"{key} not flat: {lo:.3f}..{hi:.3f}"
    assert m["pretraining"]["epochs"] == 100 and m["pretraining"]["units"] == 600


def test_shipped_gated_history_learns():
    """The remedy beside the flat curve really learned the shipped task."""
    m = manifest()
    h = json.loads((SRC / "gated_history.json").read_text())
    assert list(h) == list(HISTORY_KEYS)
    for key in HISTORY_KEYS:
        assert len(h[key]) == m["gated"]["epochs"] == m["sizes"]["gated_epochs"], key
        assert all(isinstance(v, float) and np.isfinite(v) for v in h[key]), key
    assert h["val_accuracy"][0] < 0.65  # it starts at chance, like the SimpleRNN
    assert h["val_accuracy"][-1] >= LEARNED and h["accuracy"][-1] >= LEARNED
    assert max(h["val_accuracy"]) >= 0.99
    first = m["gated"]["first_epoch_val_accuracy_at_least_0.9"]
    assert first is not None and h["val_accuracy"][first - 1] >= LEARNED
    assert all(v < LEARNED for v in h["val_accuracy"][: first - 1])
    # the contrast the notebook draws: the SimpleRNN's validation curve never leaves chance
    flat = json.loads((SRC / "pretrain_history.json").read_text())
    assert max(flat["val_accuracy"]) <= FLAT_HIGH < LEARNED
    # and the early steps matter to the GRU, not to the SimpleRNN
    assert m["gated"]["first_steps_effect"]["after_training"] > 0.5
    assert m["pretraining"]["first_steps_effect"]["after_training"] < 1e-3
    rnn, gru = m["pretraining"]["input_sensitivity"], m["gated"]["input_sensitivity"]
    assert gru["max_over_first_3_steps"] > 1e3 * rnn["max_over_first_3_steps"]


def test_notebook_rebuilds_the_shipped_gated_model():
    """The read-only remedy cell builds the model the build trained, and lists its files."""
    nb = json.loads(NOTEBOOK.read_text())
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"])
             for c in nb["cells"]}
    code = cells["remedy_plot"]
    assert f"keras.layers.GRU({FULL['gated_units']})" in code
    for name in ("gated_weights.h5", "gated_history.json", "pretrain_history.json"):
        assert name in code


def test_readme_lists_every_shipped_file():
    text = README.read_text()
    for name in ARTIFACTS:
        assert f"`{name}`" in text, name


def test_release_copies_equal_source():
    copies = [RELEASE / n for n in ARTIFACTS if (RELEASE / n).exists()]
    if not copies:
        pytest.skip("release/rnn_architecture has no data files yet")
    for path in copies:
        assert path.read_bytes() == (SRC / path.name).read_bytes(), f"{path} differs from source"


# --------------------------------------------------------------------------
# build pieces (no TensorFlow)


def test_help_runs_without_tensorflow():
    r = subprocess.run(
        [sys.executable, str(BUILD), "--help"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0
    for opt in ("--out", "--manifest", "--imdb", "--source", "--tiny", "--force", "--check"):
        assert opt in r.stdout


def test_tiny_needs_explicit_paths():
    with pytest.raises(SystemExit) as exc:
        run_build("--tiny")
    assert exc.value.code == 2


def test_synthetic_task_definition():
    make = make_synthetic_vanishing
    X, y = make(40, 12, 3, 7, 10.0)
    assert X.shape == (40, 12, 1) and X.dtype == np.float32 and y.dtype == np.int64
    assert y.sum() == 20
    np.testing.assert_array_equal(y, (X[:, 0, 0] >= 5.0).astype(np.int64))
    assert ((X[:, :3, 0] >= 5.0) == (y[:, None] == 1)).all()
    X2, y2 = make(40, 12, 3, 7, 10.0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_npz_bytes_are_deterministic():
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([1, 0], dtype=np.int64)}
    data = npz_bytes(arrays)
    assert data == npz_bytes(arrays)
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        assert np.array_equal(f["a"], arrays["a"]) and np.array_equal(f["b"], arrays["b"])
    for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)


def _write_imdb_npz(path: Path, x_train, y_train, x_test, y_test) -> None:
    def obj(seqs):
        arr = np.empty(len(seqs), dtype=object)
        for i, s in enumerate(seqs):
            arr[i] = [int(w) for w in s]  # plain Python ints, as in the real file
        return arr

    np.savez(
        path,
        x_train=obj(x_train), y_train=np.asarray(y_train, dtype=np.int64),
        x_test=obj(x_test), y_test=np.asarray(y_test, dtype=np.int64),
    )


def test_load_imdb_npz_follows_keras_conventions(tmp_path):
    x_train = [[1, 2], [3], [7, 1, 9]]
    x_test = [[4, 5, 6], [2]]
    path = tmp_path / "imdb.npz"
    _write_imdb_npz(path, x_train, [0, 1, 1], x_test, [1, 0])
    (xa, ya), (xb, yb) = load_imdb_npz(path, num_words=9)
    # shuffle exactly like keras: one RandomState(113), train first, then test
    rng = np.random.RandomState(113)
    ia = np.arange(3)
    rng.shuffle(ia)
    ib = np.arange(2)
    rng.shuffle(ib)

    def keras_way(seq):  # start_char=1, index_from=3, words >= num_words -> oov_char=2
        return [1] + [w + 3 if w + 3 < 9 else 2 for w in seq]

    assert [list(x) for x in xa] == [keras_way(x_train[i]) for i in ia]
    assert [list(x) for x in xb] == [keras_way(x_test[i]) for i in ib]
    assert list(ya) == [[0, 1, 1][i] for i in ia] and list(yb) == [[1, 0][i] for i in ib]
    assert xa.dtype == object


def test_load_imdb_npz_refuses_foreign_pickles(tmp_path):
    import datetime

    arr = np.empty(1, dtype=object)
    arr[0] = datetime.date(2020, 1, 1)
    path = tmp_path / "evil.npz"
    np.savez(path, x_train=arr, y_train=np.zeros(1), x_test=arr, y_test=np.zeros(1))
    with pytest.raises(pickle.UnpicklingError):
        load_imdb_npz(path)


def test_imdb_long_reviews_selection():
    xs = [[1] + [5] * n for n in (3, 9, 6, 2, 8, 4)]
    ys = np.array([0, 0, 0, 1, 1, 1])
    X, y, info = imdb_long_reviews(xs, ys, 4, 5, 10)
    # the 2 longest of each class: indices 1, 2 (label 0) and 4, 5 (label 1)
    assert list(y) == [0, 0, 1, 1]
    assert X.shape == (4, 5, 1) and X.dtype == np.float32
    np.testing.assert_allclose(X[0, :, 0], [0.1, 0.5, 0.5, 0.5, 0.5])  # first 5 tokens kept
    np.testing.assert_allclose(X[3, :, 0], [0.1, 0.5, 0.5, 0.5, 0.5])
    assert info["selected_min_length"] == 5 and info["selected_max_length"] == 10
    X, y, _ = imdb_long_reviews(xs, ys, 4, 12, 10)
    np.testing.assert_allclose(X[1, :, 0], [0] * 5 + [0.1] + [0.5] * 6)  # 0-padded in front


def test_check_reports_missing_manifest(tmp_path, capsys):
    assert run_build("--check", "--manifest", str(tmp_path / "nope.json")) == 1
    assert "no manifest" in capsys.readouterr().err


def test_cli_data_checks_the_course_it_is_given(tmp_path, monkeypatch, capsys):
    """``rnn-course data --course DIR``: that course's data/manifest.json, from any folder;
    in a folder that is no course, one line naming the fix (exit 2)."""
    from graders.course.cli import main as cli_main  # nbgrader: a few seconds to import

    monkeypatch.chdir(tmp_path)
    assert cli_main(["data", "--course", str(ROOT), "--", "--check"]) == 0
    assert "check OK: 6 files match data/manifest.json" in capsys.readouterr().out
    assert cli_main(["data", "--", "--check"]) == 2
    assert build_main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("nbgrader_config.py") == 2 and "Traceback" not in err


def test_refuses_unrecorded_existing_file(tmp_path, capsys):
    (tmp_path / "model_weights.h5").write_bytes(b"made by hand")
    rc = run_build(*tiny_args(tmp_path))
    assert rc == 3
    err = capsys.readouterr().err
    assert "model_weights.h5" in err and "--force" in err
    assert (tmp_path / "model_weights.h5").read_bytes() == b"made by hand"
    assert not (tmp_path / "manifest.json").exists()


# --------------------------------------------------------------------------
# tiny rebuilds through the same code (TensorFlow)


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """Two tiny builds: one as a command from another folder, one via main()."""
    base = tmp_path_factory.mktemp("tiny")
    a, b = base / "a", base / "b"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run(
        [sys.executable, str(BUILD), *tiny_args(a)],
        capture_output=True, text=True, cwd=base, env=env, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"built {len(ARTIFACTS)} files" in r.stdout
    assert run_build(*tiny_args(b)) == 0
    return a, b


@pytest.fixture
def fresh_tiny(tmp_path):
    out = tmp_path / "out"
    assert run_build(*tiny_args(out)) == 0
    return out


def test_tiny_build_writes_consistent_artifacts(tiny_pair):
    shipped_exploding = load_npz(SRC / "exploding_data.npz") if (SRC / "exploding_data.npz").exists() else None
    for out in tiny_pair:
        m = assert_consistent(out / "manifest.json")
        assert m["variant"] == "tiny"
        assert m["vanishing"]["source"]["statement"] == "synthetic, not IMDB"
        d = load_npz(out / "vanishing_data.npz")
        t = TINY
        assert d["X"].shape == (t["samples"], t["timesteps"], 1) and d["X"].dtype == np.float32
        assert d["y"].shape == (t["samples"],) and set(np.unique(d["y"])) == {0, 1}
        e = load_npz(out / "exploding_data.npz")
        assert e["X_train"].shape == (500, 20)
        if shipped_exploding is not None:  # the exploding data does not depend on --tiny
            for k in e:
                assert np.array_equal(e[k], shipped_exploding[k])


def test_tiny_builds_are_identical(tiny_pair):
    a, b = tiny_pair
    for name in ("exploding_data.npz", "vanishing_data.npz"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # Pretraining is bit-reproducible on one machine (op determinism on CPU).
    for name in ("model_weights.h5", "pretrain_history.json", "gated_weights.h5",
                 "gated_history.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_tiny_weights_load_in_legacy_layout(tiny_pair):
    path = tiny_pair[0] / "model_weights.h5"
    assert_loads_exactly(path, TINY["units"])
    assert_wrong_units_fail(path, TINY["units"] + 1)


def test_tiny_gated_weights_load_in_legacy_layout(tiny_pair):
    assert_gated_loads_exactly(tiny_pair[0] / "gated_weights.h5", TINY["gated_units"])


def test_tiny_imdb_path_on_a_fake_imdb_file(tmp_path):
    rng = np.random.default_rng(0)
    n = 30
    def reviews():
        return [list(rng.integers(1, 60, size=rng.integers(4, 30))) for _ in range(n)]
    fake = tmp_path / "imdb.npz"
    _write_imdb_npz(fake, reviews(), [i % 2 for i in range(n)], reviews(), [(i + 1) % 2 for i in range(n)])
    out = tmp_path / "out"
    assert run_build(*tiny_args(out, "--imdb", str(fake))) == 0
    m = assert_consistent(out / "manifest.json")
    src = m["vanishing"]["source"]
    assert src["name"] == "imdb" and src["loader_conventions"]["index_from"] == 3
    assert hashlib.sha256(fake.read_bytes()).hexdigest() in src["file"]
    d = load_npz(out / "vanishing_data.npz")
    t = TINY
    X, y = d["X"], d["y"]
    assert X.shape == (t["samples"], t["timesteps"], 1) and X.dtype == np.float32
    assert y.sum() == t["samples"] // 2
    num_words = src["loader_conventions"]["num_words"]
    tokens = X[:, :, 0].astype(np.float64) * num_words
    np.testing.assert_allclose(tokens, np.round(tokens), atol=1e-3)  # scaled integer ids
    for row in np.round(tokens).astype(int):
        nz = np.flatnonzero(row)
        assert row[nz[0]] == 1  # every review starts with start_char, after any padding
        assert (row[nz[1]:] >= 2).all()
    assert_loads_exactly(out / "model_weights.h5", t["units"])


def test_paths_are_relative_to_the_course_folder(tmp_path, monkeypatch, capsys):
    """The manifest records paths relative to the course folder (the one holding
    nbgrader_config.py), whose source/rnn_architecture/ and data/manifest.json are the
    defaults."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    out, man = course / "source" / "rnn_architecture", course / "data" / "manifest.json"
    assert build_main(["--tiny", "--quiet", "--out", str(out), "--manifest", str(man)],
                      course=course) == 0
    assert ("built 6 files in source/rnn_architecture in" in capsys.readouterr().out)
    m = assert_consistent(man, course)
    assert {e["path"] for e in m["artifacts"].values()} == {
        f"source/rnn_architecture/{name}" for name in ARTIFACTS}
    assert build_main(["--check"], course=course) == 0
    monkeypatch.chdir(course)
    assert build_main(["--check"]) == 0  # the current folder is the course
    (out / "gated_history.json").unlink()
    capsys.readouterr()
    assert build_main(["--check"]) == 1
    assert "MISSING  source/rnn_architecture/gated_history.json" in capsys.readouterr().err


def test_check_detects_changed_and_missing_files(fresh_tiny, capsys):
    man = str(fresh_tiny / "manifest.json")
    assert run_build("--check", "--manifest", man) == 0
    with open(fresh_tiny / "pretrain_history.json", "a") as fh:
        fh.write(" ")
    (fresh_tiny / "vanishing_data.npz").unlink()
    capsys.readouterr()
    assert run_build("--check", "--manifest", man) == 1
    err = capsys.readouterr().err
    assert "DIFFERS" in err and "pretrain_history.json" in err
    assert "MISSING" in err and "vanishing_data.npz" in err
    assert "exploding_data.npz" not in err and "model_weights.h5" not in err


def test_refuses_hand_edited_file_unless_forced(fresh_tiny, capsys):
    target = fresh_tiny / "exploding_data.npz"
    original = target.read_bytes()
    edited = bytearray(original)
    edited[len(edited) // 2] ^= 0xFF
    target.write_bytes(bytes(edited))
    capsys.readouterr()
    assert run_build(*tiny_args(fresh_tiny)) == 3
    err = capsys.readouterr().err
    assert "exploding_data.npz" in err and "--force" in err
    assert target.read_bytes() != original  # left alone
    assert run_build(*tiny_args(fresh_tiny, "--force")) == 0
    assert target.read_bytes() == original
    assert_consistent(fresh_tiny / "manifest.json")
    # unchanged files are rebuilt without complaint
    assert run_build(*tiny_args(fresh_tiny)) == 0


# --------------------------------------------------------------------------
# the shipped weights (TensorFlow)


def test_shipped_weights_load_into_the_chapters_model():
    path = SRC / "model_weights.h5"
    assert_loads_exactly(path, 600)
    assert_wrong_units_fail(path, 300)


def test_shipped_gated_weights_load_and_solve_the_task():
    model = assert_gated_loads_exactly(SRC / "gated_weights.h5", manifest()["gated"]["units"])
    d = load_npz(SRC / "vanishing_data.npz")
    n_val = int(round(len(d["y"]) * manifest()["sizes"]["validation_fraction"]))
    p = model.predict(d["X"][-n_val:], batch_size=320, verbose=0)[:, 0]
    assert np.mean((p >= 0.5) == (d["y"][-n_val:] == 1)) >= LEARNED


# --------------------------------------------------------------------------
# the chapter's exploding-gradients experiment on the shipped data (slow)


@pytest.mark.slow
def test_exploding_step1_explodes_and_step2_is_finite():
    import warnings

    import keras
    from keras.initializers import he_uniform
    from keras.layers import Dense
    from keras.optimizers import SGD

    d = load_npz(SRC / "exploding_data.npz")

    def run(**sgd_kwargs):
        keras.utils.set_random_seed(0)
        model = keras.Sequential()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # input_dim= warns in Keras 3, as in the chapter
            model.add(Dense(25, input_dim=20, activation="relu", kernel_initializer=he_uniform(seed=42)))
        model.add(Dense(1, activation="linear"))
        model.compile(loss="mean_squared_error", optimizer=SGD(learning_rate=0.01, momentum=0.9, **sgd_kwargs))
        model.fit(d["X_train"], d["y_train"], validation_data=(d["X_test"], d["y_test"]), epochs=100, verbose=0)
        return (
            model.evaluate(d["X_train"], d["y_train"], verbose=0),
            model.evaluate(d["X_test"], d["y_test"], verbose=0),
        )

    train1, test1 = run()
    assert not np.isfinite(train1) and not np.isfinite(test1), (train1, test1)
    train2, test2 = run(clipvalue=3.0)
    assert np.isfinite(train2) and np.isfinite(test2), (train2, test2)


# --------------------------------------------------------------------------
# the sensitivity figures: recomputed from the shipped weights, and as the notebook quotes them


def _sig1(x: float) -> float:
    """``x`` to one significant figure, the precision the notebook's text gives."""
    return float(f"{x:.0e}")


def _quoted(pattern: str, text: str) -> tuple:
    import re

    found = re.search(pattern, text)
    assert found, f"the notebook no longer says {pattern!r}: update this test with its text"
    return found.groups()


def _power(mantissa: str, exponent: str) -> float:
    return float(f"{mantissa}e-{exponent}")


@pytest.fixture(scope="module")
def sensitivity():
    """The builder's own routines (input_sensitivity, sensitivity_summary,
    first_steps_effect) run on the shipped weights and the shipped validation rows, as the
    build ran them on the models it had just trained."""
    m = manifest()
    sizes = m["sizes"]
    d = load_npz(SRC / "vanishing_data.npz")
    n_val = int(round(len(d["y"]) * sizes["validation_fraction"]))
    X_val = d["X"][-n_val:]
    X_probe = X_val[: sizes["sensitivity_rows"]]
    k = sizes["signal_steps"]
    rnn = chapter_models(m["pretraining"]["units"])["Input"]
    rnn.load_weights(str(SRC / "model_weights.h5"))
    gru = gated_model(m["gated"]["units"])
    gru.load_weights(str(SRC / "gated_weights.h5"))
    out = {}
    for key, model in (("pretraining", rnn), ("gated", gru)):
        curve = np.asarray(input_sensitivity(model, X_probe), dtype=np.float64)
        out[key] = {"curve": curve, "summary": sensitivity_summary(curve, k),
                    "effect": first_steps_effect(model, X_val, k, sizes["value_scale"])}
    return out


def test_manifest_sensitivity_is_what_the_shipped_weights_give(sensitivity):
    """Are the sensitivity figures of manifest.json those of the shipped weights (recomputed
    here with the builder's routines; last bits may differ by CPU)?"""
    m = manifest()
    for key, got in sensitivity.items():
        recorded = {k: v for k, v in m[key]["input_sensitivity"].items() if k != "what"}
        assert set(recorded) == set(got["summary"]), key
        for name, value in got["summary"].items():
            assert value == pytest.approx(recorded[name], rel=1e-3), (key, name)
        # a change of the sigmoid output: float32 near 0.5 moves in steps of 6e-8
        assert got["effect"] == pytest.approx(m[key]["first_steps_effect"]["after_training"],
                                              abs=2.5e-7), key


def test_notebook_quotes_the_recomputed_sensitivity(sensitivity):
    """Do the figures the vanishing notebook's text quotes agree, at the one significant figure
    it gives, with the curves of the shipped models?"""
    nb = json.loads(NOTEBOOK.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    rnn, gru = sensitivity["pretraining"]["curve"], sensitivity["gated"]["curve"]

    m1, e1, m2, e2 = _quoted(r"about \$(\d) \\times 10\^\{-(\d+)\}\$ at step 1 against about "
                             r"\$(\d) \\times 10\^\{-(\d+)\}\$ at step (\d+)".replace(
                                 r"step (\d+)", f"step {len(rnn)}"), text)
    assert _sig1(rnn[0]) == _power(m1, e1) and _sig1(rnn[-1]) == _power(m2, e2)
    (orders,) = _quoted(r"(\w+) orders of magnitude", text)
    words = {"four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
    assert round(np.log10(rnn[-1] / rnn[0])) == words[orders]

    lo, hi, e = _quoted(r"steps 1–3 \(about \$(\d)\$ to \$(\d) \\times 10\^\{-(\d+)\}\$\)", text)
    assert _sig1(gru[:3].min()) == _power(lo, e) and _sig1(gru[:3].max()) == _power(hi, e)
    assert gru[:3].min() > gru[3:].max()  # "depends most on steps 1–3"
    a, ea, b, eb, c, ec = _quoted(
        r"between about \$(\d) \\times 10\^\{-(\d+)\}\$ and \$(\d) \\times 10\^\{-(\d+)\}\$, "
        r"median about \$(\d) \\times 10\^\{-(\d+)\}\$", text)
    later = gru[3:]
    assert (_sig1(later.min()), _sig1(later.max()), _sig1(np.median(later))) == (
        _power(a, ea), _power(b, eb), _power(c, ec))
    (times,) = _quoted(r"at step 1 the GRU's value is still about ([\d,]+) times", text)
    assert _sig1(gru[0] / rnn[0]) == float(times.replace(",", ""))

    _quoted(r"moves the trained model's output by (less than a millionth)", text)
    assert sensitivity["pretraining"]["effect"] < 1e-6
