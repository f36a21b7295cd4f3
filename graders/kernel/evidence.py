"""Evidence export: what a hidden test cell tells the judge about the student's notebook.

``run_check`` (:mod:`graders.kernel.notebook`) calls :func:`collect` in the student's kernel and
publishes the result as JSON under :data:`~graders.judge.codec.EVIDENCE_MIMETYPE`. It decides
nothing: the grade comes from the judge (:mod:`graders.judge`), which runs where no student code
ran and recomputes what it can. Everything here reads the student's objects without changing
them (no fit, no build: a model that has no weights is not called on the probe).

What travels, per test cell (the notebook's instructions all read the same kinds of facts):

* the Keras model the instruction names (``model``, else the notebook's only Keras model): each
  layer's class, units, activation, kernel initializer and ``get_config()``; the input shape;
  the compile state, optimizer settings and update count, the loss (described, and its value on
  a fixed example), the metrics; the last fit's epochs, steps per epoch and final validation loss;
* its weights: as data when small (the exploding network: 551 numbers), else each array's shape
  and SHA-256 (SimpleRNN(600): 1.45 MB);
* its predictions on the grader's probe inputs (:mod:`graders.judge.probe`) and the probe's nonce;
* the values the instructions store (``train_mse``, ``test_mse``), the figures shown (every
  axes' lines and legend labels) and the ``history`` variable's accuracy series;
* the exception the student's last cell stopped with.
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np

from . import keras_facts as kf
from ..judge.codec import (EVIDENCE_VERSION, digest_array, encode_array, number)

#: Weights travel as data up to this many numbers in all; beyond, as digests.
WEIGHTS_AS_DATA = 50_000
MAX_FIGURES, MAX_AXES, MAX_LINES, MAX_POINTS = 20, 20, 50, 20_000
STORED_VALUES = {"exploding_gradients": ("train_mse", "test_mse")}


def _jsonable(value, depth: int = 0):
    """A layer config as plain JSON (anything exotic by its text)."""
    if depth > 8:
        return str(value)[:200]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return number(value) if not math.isfinite(value) else value
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in list(value.items())[:100]}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in list(value)[:100]]
    if isinstance(value, (np.integer, np.floating)):
        return _jsonable(value.item(), depth + 1)
    return str(value)[:200]


def _safe(fn, default=None):
    try:
        with kf.quiet():
            return fn()
    except Exception:  # noqa: BLE001 - a student's object that cannot describe itself
        return default


def _layer(layer) -> dict:
    init = getattr(layer, "kernel_initializer", None)
    units = getattr(layer, "units", None)
    return {
        "class": type(layer).__name__,
        "units": units if isinstance(units, int) and not isinstance(units, bool) else None,
        "activation": _safe(lambda: kf.activation_name(layer), ""),
        "initializer": type(init).__name__ if init is not None else "",
        "initializer_seed": _jsonable(_safe(lambda: kf.initializer_seed(init))),
        "config": _jsonable(_safe(layer.get_config, {})),
    }


def _find_model(namespace: Mapping[str, Any], name: str = "model"):
    value = namespace.get(name, None)
    if kf.is_keras_model(value):
        return value, {"status": "found"}
    models = {id(v): v for k, v in namespace.items()
              if not str(k).startswith("_") and kf.is_keras_model(v)}
    if len(models) == 1:
        return next(iter(models.values())), {"status": "found"}
    if name not in namespace:
        return None, {"status": "missing"}
    return None, {"status": "not_model", "type": type(value).__name__}


def _metric_names(model) -> list[str]:
    metrics = (_safe(model.get_compile_config) or {}).get("metrics") or []
    if isinstance(metrics, dict):  # {output_name: [...]}
        metrics = [m for ms in metrics.values() for m in (ms if isinstance(ms, list) else [ms])]
    names = []
    for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
        if isinstance(metric, str):
            names.append(metric)
        elif isinstance(metric, dict):
            names.append(str(metric.get("config", {}).get("name") or
                             metric.get("class_name", "?")))
        else:
            names.append(str(getattr(metric, "name", type(metric).__name__)))
    return names


def _history(model) -> dict | None:
    history = getattr(model, "history", None)
    epochs = getattr(history, "epoch", None)
    if history is None or not epochs:
        return None
    record = getattr(history, "history", {}) or {}
    out = {"epochs": len(epochs), "keys": [str(k) for k in list(record)[:50]]}
    steps = _safe(lambda: history.params.get("steps"))
    if isinstance(steps, int) and not isinstance(steps, bool):
        out["steps"] = steps  # batches per epoch: the fit made epochs x steps updates
    if "val_loss" in record:
        out["val_loss_last"] = number(_safe(lambda: float(record["val_loss"][-1])))
    return out


def _predictions(model, inputs) -> dict | None:
    """The model's outputs on the probe (only a model that already has its weights)."""
    if inputs is None or not getattr(model, "built", False) or not model.weights:
        return None
    out = _safe(lambda: np.asarray(kf.convert(model(inputs, training=False)), dtype=np.float32))
    if out is None or out.size > 10_000:
        return None
    return encode_array(out)


def _model(model, notebook: str, probe) -> dict:
    facts: dict[str, Any] = {
        "layers": [_layer(layer) for layer in kf.layers_with_weights(model)[:100]],
        "input_shape": _safe(lambda: [None if n is None else int(n)
                                      for n in kf.input_shape(model)]),
        "compiled": bool(_safe(lambda: kf.is_compiled(model), False)),
        "has_history": getattr(model, "history", None) is not None,
        "history": _safe(lambda: _history(model)),
    }
    if facts["compiled"]:
        opt = _safe(lambda: kf.optimizer_facts(model), {}) or {}
        facts["optimizer"] = {k: (number(v) if isinstance(v, float) else v)
                              for k, v in opt.items()}
        facts["optimizer"]["iterations"] = _safe(lambda: int(model.optimizer.iterations.numpy()))
        probe_pairs = {"mse": ([[1.0], [3.0]], [[0.5], [0.0]]),
                       "bce": ([[1.0], [0.0]], [[0.8], [0.3]])}
        facts["loss"] = {
            "describe": _safe(lambda: kf.describe_loss(model), "'?'"),
            "options": _jsonable(_safe(lambda: kf.loss_options(model), {})),
            "probe": {k: number(kf.loss_value(model, *pair)) for k, pair in probe_pairs.items()},
        }
        facts["metrics"] = _safe(lambda: _metric_names(model), [])
        loss_weights = (_safe(model.get_compile_config) or {}).get("loss_weights")
        facts["loss_weights"] = _jsonable(loss_weights)
    weights = _safe(model.get_weights, []) or []
    if sum(np.asarray(w).size for w in weights) <= WEIGHTS_AS_DATA:
        facts["weights"] = [encode_array(w) for w in weights]
    else:
        facts["weight_digests"] = [digest_array(w) for w in weights]
    if probe is not None:
        inputs = probe.exploding if notebook == "exploding_gradients" else probe.vanishing
        facts["predictions"] = _predictions(model, inputs)
    return facts


def _value(namespace, name) -> dict | None:
    if name not in namespace:
        return None
    value = namespace[name]
    return {"type": type(value).__name__, "number": number(kf.as_number(value))}


def _line(line) -> dict | None:
    try:
        y = np.asarray(line.get_ydata(), dtype="float64")
    except (TypeError, ValueError):
        return None
    if y.ndim != 1 or y.size > MAX_POINTS:
        return None
    return encode_array(y, "<f8")


def _shown(record) -> list:
    """Figures displayed so far (the capture extension's record); without it, the open ones."""
    if record is not None:
        return record.shown_figures()
    import sys

    plt = sys.modules.get("matplotlib.pyplot")
    return [plt.figure(n) for n in plt.get_fignums()] if plt is not None else []


def _figures(record) -> list:
    out = []
    for fig in _shown(record)[:MAX_FIGURES]:
        axes = []
        for ax in _safe(fig.get_axes, [])[:MAX_AXES]:
            legends = [ax.get_legend()] + list(getattr(ax.figure, "legends", []))
            labels = [str(t.get_text())[:200] for lg in legends if lg is not None
                      for t in lg.get_texts()][:50]
            axes.append({"lines": [_line(line) for line in ax.get_lines()[:MAX_LINES]],
                         "legend": labels})
        out.append(axes)
    return out


def _history_variable(namespace) -> dict | None:
    record = getattr(namespace.get("history"), "history", None)
    if not isinstance(record, dict) or "accuracy" not in record:
        return None
    try:
        accuracy = np.asarray(record["accuracy"], dtype="float64").ravel()
    except (TypeError, ValueError):
        return None
    if accuracy.size > MAX_POINTS:
        return None
    return {"accuracy": encode_array(accuracy, "<f8")}


def _error(record) -> dict | None:
    error = record.last_student_error() if record is not None else None
    if error is None:
        return None
    return {"type": type(error).__name__, "text": str(error)[:2000],
            "not_implemented": isinstance(error, NotImplementedError)}


def collect(instruction_id: str, notebook: str, namespace: Mapping[str, Any], record=None,
            probe=None) -> dict:
    """The evidence for one instruction of ``notebook`` (plain JSON-ready data)."""
    model, lookup = _find_model(namespace)
    if model is not None:
        lookup.update(_model(model, notebook, probe))
    evidence = {
        "version": EVIDENCE_VERSION,
        "instruction": instruction_id,
        "notebook": notebook,
        "probe": probe.nonce if probe is not None else None,
        "model": lookup,
        "values": {name: _value(namespace, name) for name in STORED_VALUES.get(notebook, ())},
        "error": _error(record),
    }
    if notebook == "vanishing_gradients":
        evidence["figures"] = _figures(record)
        evidence["history_variable"] = _history_variable(namespace)
    json.dumps(evidence, allow_nan=False)  # the exporter's own bug shows here, not in the judge
    return evidence
