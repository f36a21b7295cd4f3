"""The data files of the "RNN Architecture" assignment, built by one deterministic, seeded
command (``rnn-course data``, or ``python data/build.py`` in a checkout).

It writes into the course's ``source/rnn_architecture/`` everything the notebooks load:

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

and records sha256, shapes, parameters, seeds and library versions of the result in the
course's ``data/manifest.json``.  The modules, one job each:

  datasets   the two data sets: made, loaded (IMDB) and arranged
  pretrain   the two models: built, trained, probed (first-steps effect, sensitivity)
  artifacts  the six files as bytes (npz, legacy H5, json), sha256, atomic writes
  manifest   the manifest: its content, reading it, --check, hand-edit detection
  build      the command: options, sizes, and the build's steps

The package itself defines :class:`BuildError` only. numpy is the one library its modules
import at the top (TensorFlow, Keras and scikit-learn inside the functions that need them), so
``--check`` and ``--help`` stay fast.
"""

from ...errors import CourseError


class BuildError(CourseError):
    """A problem the user must fix (the instructor's move); printed without a traceback."""
