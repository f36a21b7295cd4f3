"""Plain numbers: comparisons, formatting, layer settings, and the forward passes the judge
computes itself (float32 NumPy, no Keras)."""
from __future__ import annotations

import math

import numpy as np

from .reference import COMPUTE_SETTINGS, LAYERS


def close(a: float | None, b: float, rel: float = 1e-5) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def fmt(x) -> str:
    """A number as a student would write it: 3.0 not 3.0000000001, 0.01 not 0.009999999776."""
    if x is None:
        return "None"
    return f"{float(np.float32(x)):.6g}" if abs(float(x)) < 1e6 else f"{float(x):.6g}"


def same_value(a: float, b: float, rel: float = 1e-4) -> bool:
    """Equal, treating every non-finite value (nan, inf) as the same outcome: 'it exploded'."""
    if not math.isfinite(a) or not math.isfinite(b):
        return not math.isfinite(a) and not math.isfinite(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


def same_outputs(a: np.ndarray, b: np.ndarray, rel: float = 1e-3, abs_: float = 1e-4) -> bool:
    """Two models' outputs on the same inputs agree (non-finite where the other is)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    finite_a, finite_b = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(finite_a, finite_b):
        return False
    return bool(np.allclose(a[finite_a], b[finite_b], rtol=rel, atol=abs_))


# ----------------------------------------------------------------------------- layers
def _setting(value):
    """A config value in a comparable form: serialized objects by class and settings."""
    if isinstance(value, dict) and "class_name" in value:
        config = value.get("config") or {}
        return (value["class_name"], tuple(sorted((k, _setting(v)) for k, v in config.items()
                                                   if k != "name")))
    if isinstance(value, (list, tuple)):
        return tuple(_setting(v) for v in value)
    return value


def _show(value) -> str:
    if isinstance(value, dict) and "class_name" in value:
        config = {k: v for k, v in (value.get("config") or {}).items() if k != "name"}
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{value['class_name']}({args})"
    return repr(value)


def config_differences(config: dict, reference: str, settings=None) -> list[str]:
    """What a layer's exported ``config`` sets differently from the reference layer
    :data:`~graders.judge.reference.LAYERS` ``[reference]``, one phrase per setting:
    ``"go_backwards=True (the exercise: go_backwards=False)"``."""
    kind, theirs = LAYERS[reference]
    keys = settings or COMPUTE_SETTINGS.get(kind, ())
    if not isinstance(config, dict):
        return []
    out = []
    for key in keys:
        if key not in theirs:
            continue
        if _setting(config.get(key)) != _setting(theirs[key]):
            out.append(f"{key}={_show(config.get(key))} (the exercise: "
                       f"{key}={_show(theirs[key])})")
    return out


def layer_mistake(where: str, config: dict, reference: str, settings=None) -> str | None:
    """The message naming every setting that differs from the reference layer, or None."""
    differences = config_differences(config, reference, settings)
    if not differences:
        return None
    kind = LAYERS[reference][0]
    them = "them as the instruction has them: each" if len(differences) > 1 else \
        "it as the instruction has it: it"
    return (f"{where}{kind}: you set " + "; ".join(differences) + f". Leave {them} changes "
            f"what the model computes.")


# ----------------------------------------------------------------------------- forward passes
def dense_network(weights: list[np.ndarray], x) -> np.ndarray:
    """Dense(relu) then Dense(linear), in float32 as Keras computes it on the CPU."""
    k1, b1, k2, b2 = (np.asarray(w, dtype=np.float32) for w in weights)
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(all="ignore"):
        hidden = np.maximum(x @ k1 + b1, np.float32(0))
        return hidden @ k2 + b2


def mse(weights: list[np.ndarray], x, y) -> float:
    """The mean squared error of :func:`dense_network` on (x, y)."""
    with np.errstate(all="ignore"):
        pred = dense_network(weights, x).astype(np.float64)
        return float(np.mean((pred - np.asarray(y, dtype=np.float64).reshape(pred.shape)) ** 2))


def simple_rnn_network(weights: list[np.ndarray], x) -> np.ndarray:
    """SimpleRNN(tanh) over the sequences ``x`` (batch, steps, features), its last state into
    Dense(1, sigmoid), in float32."""
    kernel, recurrent, bias, dense_k, dense_b = (np.asarray(w, dtype=np.float32)
                                                  for w in weights)
    x = np.asarray(x, dtype=np.float32)
    state = np.zeros((x.shape[0], recurrent.shape[0]), dtype=np.float32)
    with np.errstate(all="ignore"):
        for t in range(x.shape[1]):
            state = np.tanh(x[:, t, :] @ kernel + state @ recurrent + bias)
        logits = state @ dense_k + dense_b
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
