"""Spare the grading kernel a TensorFlow wait that costs time and changes nothing: tf.data autotuning.

An IPython extension the grading kernel loads at start (``graders.grading.sandbox``, default
extensions), like :mod:`graders.kernel.capture`. It does not import TensorFlow: it registers a
post-import hook (``wrapt``, a TensorFlow dependency) that acts once ``tf.data`` is imported.

Why. ``model.fit``/``evaluate``/``predict`` on NumPy arrays feed the model through a tf.data
pipeline that ends with ``prefetch(tf.data.AUTOTUNE)``, so every iterator (one per epoch for
training, one per epoch for the validation data) starts tf.data's autotuning thread. When the
iterator is destroyed, that thread misses the cancellation and sleeps out its current
optimisation period (20, 40, 80, 160 ms, doubling) before the kernel may go on. Measured with
``strace -f`` on the exploding exercise's 100-epoch fit pinned to one core (as batch grading
pins each worker's kernels): the main thread waits ~5 s of its ~15 s, the core idle meanwhile;
with autotuning off the same fit takes ~11 s, all of it on the CPU (unpinned: 11.5 s -> 10.6 s).

What changes. ``Dataset.prefetch(tf.data.AUTOTUNE)`` on a dataset whose options do not say
anything about autotuning gets ``options.autotune.enabled = False`` first: the prefetch buffer and
the parallel ``map`` calls keep fixed sizes instead of tuned ones. The elements, their order and
every number computed from them are the same (tf.data keeps order unless told otherwise;
``tests/test_kernel_tfdata.py`` compares a training history bit for bit). A pipeline whose
author set ``autotune.enabled`` either way keeps that choice. Nothing is printed.
"""
from __future__ import annotations

#: The module whose import triggers the change (where ``DatasetV2`` lives).
DATASET_MODULE = "tensorflow.python.data.ops.dataset_ops"
#: ``tf.data.AUTOTUNE``.
AUTOTUNE = -1
#: Marks the wrapped method, so that loading the extension twice wraps it once.
MARK = "_rnn_course_without_autotune"


def without_autotune(module) -> None:
    """Wrap ``module.DatasetV2.prefetch`` (see the module docstring); idempotent. A TensorFlow
    whose module looks otherwise is left as it is: this hook runs inside the student's
    ``import tensorflow``, which must never fail because of it."""
    import functools

    dataset_class = getattr(module, "DatasetV2", None)
    options_class = getattr(getattr(module, "options_lib", None), "Options", None)
    original = getattr(dataset_class, "prefetch", None)
    if original is None or options_class is None or getattr(original, MARK, False):
        return

    @functools.wraps(original)
    def prefetch(self, buffer_size, name=None):
        try:
            self = _autotune_off(self, options_class) if _is_autotune(buffer_size) else self
        except Exception:  # graph mode, an exotic dataset: leave it as TensorFlow made it
            pass
        return original(self, buffer_size, name=name)

    setattr(prefetch, MARK, True)
    dataset_class.prefetch = prefetch


def _is_autotune(buffer_size) -> bool:
    return isinstance(buffer_size, int) and not isinstance(buffer_size, bool) \
        and buffer_size == AUTOTUNE


def _autotune_off(dataset, options_class):
    from tensorflow.python.eager import context

    if not context.executing_eagerly():
        return dataset
    if dataset.options().autotune.enabled is not None:  # its author decided
        return dataset
    options = options_class()
    options.autotune.enabled = False
    return dataset.with_options(options)


def load_ipython_extension(ipython) -> None:  # noqa: ARG001 (IPython's signature)
    import wrapt

    wrapt.register_post_import_hook(without_autotune, DATASET_MODULE)
