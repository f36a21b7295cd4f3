"""The judge's view of one test cell's evidence: what the checks read, and nothing else.

The checks (:mod:`graders.judge.exploding`, :mod:`graders.judge.vanishing`) read the student's
work only through :class:`Evidence`, which decodes the exported JSON lazily and strictly: a
malformed field raises :class:`~graders.judge.codec.BadEvidence` (the instruction scores 0 with
the reason), never a crash. Course data come from :class:`~graders.judge.course.CourseFiles`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernel.result import Mistake
from .codec import BadEvidence, decode_array, digest_array, read_digest, read_number
from .course import CourseFiles


def explain_error(error: dict | None) -> tuple[str, str | None]:
    """A sentence about the exception the student's cell stopped with, and a hint id.

    Known Keras 2 habits that fail on Keras 3 get a targeted sentence; anything else is quoted.
    """
    if not error:
        return "", None
    text = _text(error.get("text"))
    text = text.strip().splitlines()[0] if text.strip() else ""
    name = _text(error.get("type"))
    if name == "ValueError" and "not recognized" in text and "'lr'" in text:
        return ("Your cell stopped with `ValueError: Argument(s) not recognized: {'lr': ...}`: "
                "Keras 3 renamed the optimizer argument `lr` to `learning_rate`, so write "
                "`SGD(learning_rate=0.01, ...)`."), "exploding_lr_renamed"
    if name == "KeyError" and text.strip("'\"") in ("acc", "val_acc"):
        return ("Your cell stopped with `KeyError: " + text + "`: the preloaded `history` was "
                "recorded with metrics=['accuracy'], so its keys are 'accuracy' and "
                "'val_accuracy' (Keras 3 names the key after the metric you ask for; Keras 2 "
                "code often asked for 'acc')."), \
            "vanishing_acc_key"
    if name == "NotImplementedError":
        return ("Your cell still raises `NotImplementedError`: replace the placeholder "
                "`raise NotImplementedError()` with your code."), None
    if len(text) > 300:
        text = text[:300] + "..."
    return f"Your cell stopped with `{name}: {text}`.", None


def _text(value, limit: int = 2000) -> str:
    return value[:limit] if isinstance(value, str) else ""


@dataclass
class Probe:
    """Inputs the grader chose for this run, and its nonce (see :mod:`graders.judge.probe`)."""

    nonce: str
    exploding: np.ndarray
    vanishing: np.ndarray


@dataclass
class Layer:
    kind: str
    units: int | None
    activation: str
    config: dict
    initializer: str
    initializer_seed: object


@dataclass
class Model:
    """The Keras model the evidence describes (every field a claim but ``weights`` and
    ``predictions``, which the judge recomputes where it can)."""

    data: dict
    layers: list[Layer] = field(default_factory=list)

    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def input_shape(self):
        shape = self.data.get("input_shape")
        if shape is None:
            return None
        if not isinstance(shape, list) or not all(n is None or isinstance(n, int) for n in shape):
            raise BadEvidence("the model's input shape is not a shape")
        return tuple(shape)

    @property
    def compiled(self) -> bool:
        return self.data.get("compiled") is True

    def optimizer(self) -> dict:
        opt = self.data.get("optimizer")
        if not isinstance(opt, dict):
            raise BadEvidence("the compiled model's optimizer is missing from the evidence")
        out = {"class": _text(opt.get("class"), 200)}
        for key in ("learning_rate", "momentum", "clipvalue", "clipnorm", "global_clipnorm"):
            out[key] = read_number(opt.get(key))
        iterations = opt.get("iterations")
        out["iterations"] = iterations if isinstance(iterations, int) else None
        return out

    def loss(self) -> dict:
        loss = self.data.get("loss")
        return loss if isinstance(loss, dict) else {}

    def loss_probe(self, key: str) -> float | None:
        return read_number((self.loss().get("probe") or {}).get(key))

    def describe_loss(self) -> str:
        return _text(self.loss().get("describe"), 300) or "'None'"

    def loss_options(self) -> dict:
        options = self.loss().get("options")
        return options if isinstance(options, dict) else {}

    def metric_names(self) -> list[str]:
        names = self.data.get("metrics") or []
        return [_text(n, 200) for n in names] if isinstance(names, list) else []

    def history(self) -> dict | None:
        history = self.data.get("history")
        if history is None:
            return None
        if not isinstance(history, dict):
            raise BadEvidence("the model's history is not an object")
        return history

    @property
    def has_history(self) -> bool:
        return self.data.get("has_history") is True

    def weights(self) -> list[np.ndarray] | None:
        """The model's weights, when they travelled as data."""
        weights = self.data.get("weights")
        if weights is None:
            return None
        if not isinstance(weights, list):
            raise BadEvidence("the model's weights are not a list")
        return [decode_array(w, f"weight {i}") for i, w in enumerate(weights)]

    def weight_digests(self) -> list[tuple[tuple[int, ...], str]]:
        digests = self.data.get("weight_digests")
        if digests is None:  # weights that travelled as data: digested as the kernel would
            return [read_digest(digest_array(w)) for w in self.weights() or []]
        if not isinstance(digests, list):
            raise BadEvidence("the model's weight digests are not a list")
        return [read_digest(d, f"weight digest {i}") for i, d in enumerate(digests)]

    def predictions(self) -> np.ndarray | None:
        predictions = self.data.get("predictions")
        return None if predictions is None else decode_array(predictions, "the predictions")


class Evidence:
    """One test cell's evidence, the course's files and the grader's probe."""

    def __init__(self, data: dict, course: CourseFiles, probe: Probe | None = None):
        self.data = data
        self.course = course
        self.probe = probe
        #: Why this evidence does not hold together (the notebook goes on the review list).
        self.suspicious: list[str] = []

    # -- the model -----------------------------------------------------------------------
    def model(self, name: str = "model") -> Model:
        """The Keras model the instruction asked for (looked up in the kernel by the
        instructed name first, else the notebook's only Keras model)."""
        found = self.data.get("model")
        if not isinstance(found, dict):
            raise BadEvidence("the evidence has no model lookup")
        status = found.get("status")
        if status == "missing":
            raise self.mistake(f"I could not find your Keras model: store it in a variable "
                               f"named `{name}` (for example `{name} = Sequential()`).")
        if status == "not_model":
            raise self.mistake(f"`{name}` is a {_text(found.get('type'), 100)}, not a Keras "
                               f"model: store the model you build in `{name}`.")
        if status != "found":
            raise BadEvidence("the model lookup has no status")
        layers = found.get("layers")
        if not isinstance(layers, list) or len(layers) > 100:
            raise BadEvidence("the model's layers are not a list")
        out = []
        for layer in layers:
            if not isinstance(layer, dict):
                raise BadEvidence("a layer is not an object")
            units = layer.get("units")
            out.append(Layer(_text(layer.get("class"), 200),
                             units if isinstance(units, int) else None,
                             _text(layer.get("activation"), 200),
                             layer.get("config") if isinstance(layer.get("config"), dict) else {},
                             _text(layer.get("initializer"), 200),
                             layer.get("initializer_seed")))
        return Model(found, out)

    # -- stored values -------------------------------------------------------------------
    def value(self, name: str) -> dict | None:
        """What the kernel saw in the variable ``name``: None when it was not defined."""
        values = self.data.get("values") or {}
        value = values.get(name) if isinstance(values, dict) else None
        return value if isinstance(value, dict) else None

    def require_number(self, name: str, what: str, where: str) -> float:
        value = self.value(name)
        if value is None:
            raise self.mistake(f"I could not find `{name}` ({what}) in your notebook.")
        number = read_number(value.get("number")) if "number" in value else None
        if number is None:
            raise Mistake(where + f"`{name}` should hold one number, the MSE that "
                          f"`model.evaluate` returns; it holds {_text(value.get('type'), 100)}.")
        return number

    # -- figures and the history variable --------------------------------------------------
    def shown_axes(self) -> list[tuple[list, list[str]]]:
        """Every axes of every figure shown: (its lines' y data or None, its legend labels)."""
        figures = self.data.get("figures") or []
        if not isinstance(figures, list):
            raise BadEvidence("the figures are not a list")
        out = []
        for fig in figures:
            if not isinstance(fig, list):
                raise BadEvidence("a figure is not a list of axes")
            for ax in fig:
                if not isinstance(ax, dict):
                    raise BadEvidence("an axes is not an object")
                lines = [None if line is None else decode_array(line, "a line")
                         for line in (ax.get("lines") or [])]
                legend = [_text(t, 500) for t in (ax.get("legend") or [])]
                out.append(([y if y is not None and y.ndim == 1 else None for y in lines],
                            legend))
        return out

    @property
    def figures_shown(self) -> bool:
        return bool(self.data.get("figures"))

    def history_accuracy(self) -> np.ndarray | None:
        """The ``accuracy`` series of the notebook's ``history`` variable, if it has one."""
        record = self.data.get("history_variable")
        if not isinstance(record, dict) or record.get("accuracy") is None:
            return None
        return decode_array(record["accuracy"], "history's accuracy").ravel()

    # -- messages ------------------------------------------------------------------------
    def last_error(self) -> dict | None:
        error = self.data.get("error")
        return error if isinstance(error, dict) else None

    def mistake(self, message: str, hint: str | None = None) -> Mistake:
        """A Mistake whose message also explains the error the student's cell stopped with."""
        note, error_hint = explain_error(self.last_error())
        if note:
            message = f"{message} {note}"
        return Mistake(message, hint or error_hint)

    def explained(self, mistake: Mistake, where: str = "") -> Mistake:
        """``mistake``, also naming the error the student's cell stopped with, if any (a
        placeholder still raising ``NotImplementedError`` *is* the mistake: only that is said,
        prefixed by ``where``)."""
        error = self.last_error()
        note, error_hint = explain_error(error)
        if not note or note in mistake.message:
            return mistake
        if error.get("not_implemented") is True:
            return Mistake(where + (note[0].lower() + note[1:] if where else note), error_hint)
        return Mistake(f"{mistake.message} {note}", mistake.hint or error_hint)

    def inconsistent(self, where: str, what: str) -> Mistake:
        """The evidence contradicts what the judge recomputed: 0, and listed for review."""
        self.suspicious.append(what)
        return Mistake(f"{where}the grader could not confirm your work: {what}. Run your "
                       f"notebook again from the top; if this stays, ask your instructor.")
