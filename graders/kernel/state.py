"""A check's view of the student's notebook: its variables by name, what the kernel recorded,
and the files beside it.

The same object is built from ``globals()`` in a hidden test cell and from a plain dict in
pytest, so every check has one signature: ``check(state: NotebookState) -> str`` (the success
message; a mistake is raised as :class:`~graders.kernel.result.Mistake`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from .capture import KernelRecord
from .result import Mistake

_MISSING = object()


def explain_error(error: BaseException | None) -> tuple[str, str | None]:
    """A sentence about the exception the student's cell stopped with, and a hint id.

    Known Keras 2 habits that fail on Keras 3 get a targeted sentence; anything else is quoted.
    """
    if error is None:
        return "", None
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
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


class NotebookState:
    """The student's notebook as a check sees it."""

    def __init__(self, namespace: Mapping[str, Any], record: KernelRecord | None = None,
                 workdir: str | os.PathLike | None = None):
        self.namespace = namespace
        self.record = record
        self.workdir = Path(workdir) if workdir is not None else Path.cwd()

    # -- variables ---------------------------------------------------------------------------
    def get(self, name: str, default: Any = None) -> Any:
        return self.namespace.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.namespace

    def require(self, name: str, what: str) -> Any:
        """The variable ``name``, or a Mistake saying it is missing (and why, if a cell failed)."""
        value = self.namespace.get(name, _MISSING)
        if value is _MISSING:
            raise self.mistake(f"I could not find `{name}` ({what}) in your notebook.")
        return value

    def keras_model(self, name: str = "model"):
        """The Keras model the instruction asked for.

        Looked up by the instructed name first; a student who named it differently still gets
        graded when exactly one Keras model is in the notebook.
        """
        from .keras_facts import is_keras_model

        value = self.namespace.get(name, _MISSING)
        if is_keras_model(value):
            return value
        models = [v for k, v in self.namespace.items()
                  if not k.startswith("_") and is_keras_model(v)]
        unique = {id(m): m for m in models}
        if len(unique) == 1:
            return next(iter(unique.values()))
        if value is _MISSING:
            raise self.mistake(f"I could not find your Keras model: store it in a variable named "
                               f"`{name}` (for example `{name} = Sequential()`).")
        raise self.mistake(f"`{name}` is a {type(value).__name__}, not a Keras model: store the "
                           f"model you build in `{name}`.")

    # -- what the kernel recorded ------------------------------------------------------------
    def last_error(self) -> BaseException | None:
        """The exception the student's most recent cell stopped with, if any."""
        if self.record is not None:
            return self.record.last_student_error()
        return None

    def mistake(self, message: str, hint: str | None = None) -> Mistake:
        """A Mistake whose message also explains the error the student's cell stopped with."""
        note, error_hint = explain_error(self.last_error())
        if note:
            message = f"{message} {note}"
        return Mistake(message, hint or error_hint)

    def explained(self, mistake: Mistake, where: str = "") -> Mistake:
        """``mistake``, also naming the error the student's cell stopped with, if any.

        A check that runs after the student's cell stopped early judges what the cell left
        behind (in step 2 of the exploding notebook: step 1's model). A placeholder that still
        raises ``NotImplementedError`` *is* the mistake, so then only that is said (prefixed by
        ``where``, e.g. ``"Step 2: "``); any other error is added to the message.
        """
        error = self.last_error()
        note, error_hint = explain_error(error)
        if not note or note in mistake.message:
            return mistake
        if isinstance(error, NotImplementedError):
            return Mistake(where + (note[0].lower() + note[1:] if where else note), error_hint)
        return Mistake(f"{mistake.message} {note}", mistake.hint or error_hint)

    def shown_figures(self) -> list:
        """Figures displayed so far (needs the capture extension); else the open ones."""
        if self.record is not None:
            return self.record.shown_figures()
        import matplotlib.pyplot as plt

        return [plt.figure(n) for n in plt.get_fignums()]

    # -- files beside the notebook -----------------------------------------------------------
    def data_file(self, name: str) -> Path:
        """A data file of the assignment. Missing is the course's fault, not the student's."""
        path = self.workdir / name
        if not path.exists():
            raise FileNotFoundError(
                f"The assignment file {name!r} is missing from {self.workdir}: it ships with the "
                f"release (release/rnn_architecture/); copy it next to the notebook.")
        return path
