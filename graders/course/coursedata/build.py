"""The build command (``rnn-course data``, ``python data/build.py``): its options, the sizes
of the full and the tiny build, and the build itself in steps: refuse hand edits, make the
data, train the two models, write the six files, write the manifest.

Default paths are relative to the course folder (the one holding ``nbgrader_config.py``; in
a checkout the repository root): ``source/rnn_architecture/`` and ``data/manifest.json``.

  python data/build.py              # full build, 8-17 min on 2 CPU cores
  python data/build.py --check      # compare files on disk with the manifest
  python data/build.py --tiny --out /tmp/x --manifest /tmp/x/manifest.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ...errors import CourseError
from ...grading.coursedir import find_course
from . import BuildError, manifest
from .artifacts import build_files, write_atomic
from .datasets import make_exploding, probe_of, vanishing
from .pretrain import pretrain, pretrain_gated

# Relative to the course folder.
DEFAULT_OUT = Path("source", "rnn_architecture")
DEFAULT_MANIFEST = Path("data", "manifest.json")

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
             "(default: source/rnn_architecture in the course folder)",
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


def paths(args, course: Path) -> tuple[Path, Path]:
    """The output folder and the manifest of a run: as given, else the course's defaults."""
    return ((args.out or course / DEFAULT_OUT).resolve(),
            (args.manifest or course / DEFAULT_MANIFEST).resolve())


# --------------------------------------------------------------------------
# the build's steps


def refuse_hand_edits(out_dir: Path, manifest_path: Path, course: Path, force: bool,
                      log) -> bool:
    """True when the build may write: no existing file differs from the manifest, or
    --force (then each is logged); else the files are named on stderr."""
    problems = manifest.hand_edited(out_dir, manifest_path, course)
    if problems and not force:
        print("Refusing to overwrite (use --force to overwrite anyway):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return False
    for p in problems:
        log(f"--force: overwriting {p}")
    return True


def make_data(args, cfg: dict, n_val: int, log):
    """The exploding data, the vanishing data ({"X", "y"}) and the vanishing source."""
    exploding = make_exploding()
    data, source = vanishing(cfg, args.source, args.imdb, n_val)
    X = data["X"]
    log(f"data: exploding {exploding['X_train'].shape}/{exploding['X_test'].shape}, "
        f"vanishing X{X.shape} ({source['statement']}), validation = last {n_val} rows")
    return exploding, data, source


def train_models(data: dict, n_val: int, cfg: dict, probe: tuple[int, float], log):
    """The chapter's SimpleRNN, then the gated remedy, on the same rows."""
    X, y = data["X"], data["y"]
    log(f"pretraining SimpleRNN({cfg['units']}) for {cfg['epochs']} epochs ...")
    rnn = pretrain(X, y, n_val, cfg, probe, log=log)
    log(f"first-steps effect on the output: {rnn.effect}")
    log(f"training the gated model GRU({cfg['gated_units']}) for "
        f"{cfg['gated_epochs']} epochs ...")
    gated = pretrain_gated(X, y, n_val, cfg, probe, log=log)
    log(f"gated model: first-steps effect on the output: {gated.effect}")
    return rnn, gated


def build(args, argv, course: Path) -> int:
    t_start = time.perf_counter()
    log = (lambda *a, **k: None) if args.quiet else (lambda *a, **k: print(*a, **k, flush=True))
    out_dir, manifest_path = paths(args, course)
    cfg = dict(TINY if args.tiny else FULL)
    if not refuse_hand_edits(out_dir, manifest_path, course, args.force, log):
        return 3

    n_val = int(round(cfg["samples"] * cfg["validation_fraction"]))
    exploding, data, source = make_data(args, cfg, n_val, log)
    probe = probe_of(cfg, args.source)
    rnn, gated = train_models(data, n_val, cfg, probe, log)

    files = build_files(exploding, data, rnn, gated)
    for name, artifact in files.items():
        write_atomic(out_dir / name, artifact.data)

    seconds = round(time.perf_counter() - t_start, 1)
    manifest.write(manifest_path, manifest.content(
        tiny=args.tiny, command="python data/build.py" + "".join(f" {a}" for a in argv),
        seconds=seconds, cfg=cfg, n_val=n_val, source=source, probe=probe, rnn=rnn,
        gated=gated, files=files, out_dir=out_dir, course=course,
    ))
    print(
        f"built {len(files)} files in {manifest.rel(out_dir, course)} in {seconds} s; "
        f"final accuracy {rnn.history['accuracy'][-1]:.3f}, "
        f"val_accuracy {rnn.history['val_accuracy'][-1]:.3f}; "
        f"gated model val_accuracy {gated.history['val_accuracy'][-1]:.3f}; "
        f"manifest {manifest.rel(manifest_path, course)}"
    )
    return 0


def main(argv=None, *, course=None) -> int:
    """The command: ``argv`` its options (default: sys.argv[1:]), ``course`` the course folder
    (default: the current folder, which must hold nbgrader_config.py)."""
    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    args = parse_args(argv)
    try:
        course = find_course(course)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.check:
            return manifest.check(paths(args, course)[1], course)
        return build(args, argv, course)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
