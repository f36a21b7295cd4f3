"""A static screen of the student's code for tampering with the grading machinery: the review list.

What it is for
--------------
Grades are decided by the judge (:mod:`graders.judge`) from evidence it checks and recomputes,
outside the student's kernel; a list of constructs cannot close a language this open, so this
screen is not the boundary. It tells the instructor which notebooks reach into the machinery
(the ``graders`` modules, ``sys.modules``, builtins, IPython's shell, function code objects,
import hooks): run by the judge in the grading process
(:func:`graders.grading.judging.judge_notebook`), on the notebook's *source*, it lists such a
notebook for review and changes no score, unless the course sets
``c.ScreenTampering.zero_flagged = True``.

What it allows and denies
-------------------------
The exercises need Keras, TensorFlow, NumPy, Matplotlib and a few standard modules; none needs
to reach the interpreter's machinery. Every code cell the student wrote (solution cells and cells
they added; locked cells are restored from the course by nbgrader) is turned from IPython syntax
into Python by IPython's own transformer and parsed, and is flagged when it

* imports a module outside :data:`ALLOWED_MODULES` (``sys``, ``builtins``, ``importlib``,
  ``IPython``, ``graders``, ``ctypes``, ``inspect``, ``types``, ``gc`` internals, ``pickle``...),
* names a dunder (``__builtins__``, ``__import__``) or reads or writes a dunder attribute
  (``f.__code__``, ``obj.__class__.__subclasses__``), except :data:`ALLOWED_DUNDERS`
  (``tf.__version__``),
* calls ``exec``, ``eval``, ``compile``, ``globals``, ``locals``, ``vars``, ``setattr``,
  ``delattr``, ``breakpoint``, or ``getattr`` with a name that is not a plain string,
* uses ``get_ipython`` other than as IPython writes ``%matplotlib``/``%time``-style magics and
  ``!shell`` lines (the notebook's own ``!rnn-course check`` self-check cell included),
* assigns to or deletes an attribute of an imported module or of something imported from one
  (``plt.show = ...``, ``Sequential.fit = ...``): replacing library code.

A flagged notebook is listed for the instructor with the reason and the line (and scores 0 on
every instruction only with ``zero_flagged``); honest work (``print``, ``gc.collect()``,
``%matplotlib inline``, the self-check cell) is not flagged: the whole corpus of honest and
wrong-but-honest answers is screened by the tests.

What it does not cover: code that reaches the machinery through a path not listed here (report
it and add the rule); hostile code that does not forge a verdict (the sandbox's limits handle
that); a student who trains a model elsewhere and pastes numbers (the checks judge objects).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

#: Top-level modules an exercise may import (everything an honest answer to this chapter uses).
ALLOWED_MODULES = frozenset({
    "keras", "tensorflow", "tf_keras", "numpy", "matplotlib", "sklearn", "scipy", "pandas",
    "seaborn", "math", "random", "time", "datetime", "json", "collections", "itertools",
    "functools", "statistics", "warnings", "os", "pathlib", "h5py", "gc", "pprint", "copy",
    "typing", "dataclasses", "re", "string", "csv", "operator", "numbers", "decimal",
    "fractions", "textwrap", "__future__",
})
#: Dunder attributes honest code reads.
ALLOWED_DUNDERS = frozenset({"__version__", "__name__", "__doc__", "__file__"})
#: Builtins that reach the interpreter's machinery.
DENIED_CALLS = frozenset({"exec", "eval", "compile", "globals", "locals", "vars", "setattr",
                          "delattr", "breakpoint", "__import__", "open_code"})
#: ``gc`` functions that hand out other objects (``gc.collect()`` is fine).
DENIED_ATTRIBUTES = {"gc": frozenset({"get_referrers", "get_referents", "get_objects",
                                      "get_stats", "callbacks"})}
#: How IPython writes magics and shell escapes; only these uses of get_ipython() are allowed.
ALLOWED_SHELL_CALLS = frozenset({"run_line_magic", "system", "getoutput"})
ALLOWED_MAGICS = frozenset({"matplotlib", "time", "timeit", "pwd", "ls", "pip", "who", "whos",
                            "config_InlineBackend", "precision", "cd"})


@dataclass(frozen=True)
class Finding:
    """One construct that reaches the grading machinery."""

    cell: int
    line: int
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell + 1}, line {self.line}: {self.what}"


def _python(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


class _Screen(ast.NodeVisitor):
    def __init__(self, cell: int):
        self.cell = cell
        self.found: list[Finding] = []
        self.imported: set[str] = set()  # names bound by import statements
        self.modules: dict[str, str] = {}  # alias -> top-level module

    def flag(self, node, what: str) -> None:
        self.found.append(Finding(self.cell, getattr(node, "lineno", 0), what))

    # imports
    def visit_Import(self, node):
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top not in ALLOWED_MODULES:
                self.flag(node, f"imports {alias.name}")
            bound = alias.asname or top
            self.imported.add(bound)
            self.modules[bound] = top
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        top = (node.module or "").split(".")[0]
        if node.level or top not in ALLOWED_MODULES:
            self.flag(node, f"imports from {'.' * node.level}{node.module or ''}")
        for alias in node.names:
            if alias.name == "*":
                continue
            if alias.name.startswith("__") and alias.name not in ALLOWED_DUNDERS:
                self.flag(node, f"imports {alias.name}")
            self.imported.add(alias.asname or alias.name)
        self.generic_visit(node)

    # names and attributes
    def visit_Name(self, node):
        if node.id.startswith("__") and node.id.endswith("__") and node.id not in ALLOWED_DUNDERS:
            self.flag(node, f"uses {node.id}")
        elif node.id == "get_ipython" and not getattr(node, "_allowed", False):
            self.flag(node, "uses get_ipython() (the notebook's shell)")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr.startswith("__") and node.attr.endswith("__") \
                and node.attr not in ALLOWED_DUNDERS:
            self.flag(node, f"uses .{node.attr}")
        if isinstance(node.value, ast.Name):
            module = self.modules.get(node.value.id)
            if module in DENIED_ATTRIBUTES and node.attr in DENIED_ATTRIBUTES[module]:
                self.flag(node, f"uses {node.value.id}.{node.attr}")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            base = node.value
            while isinstance(base, (ast.Attribute, ast.Subscript, ast.Call)):
                base = base.func if isinstance(base, ast.Call) else base.value
            if isinstance(base, ast.Name) and base.id in self.imported:
                verb = "replaces" if isinstance(node.ctx, ast.Store) else "deletes"
                self.flag(node, f"{verb} {ast.unparse(node)} (library code)")
        self.generic_visit(node)

    # calls
    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in DENIED_CALLS:
                self.flag(node, f"calls {func.id}()")
            if func.id == "getattr" and (len(node.args) < 2 or not (
                    isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
                    and not node.args[1].value.startswith("__"))):
                self.flag(node, "calls getattr() with a computed name")
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython"
                and not func.value.args and self._allowed_shell(func.attr, node.args)):
            func.value.func._allowed = True
        self.generic_visit(node)

    @staticmethod
    def _allowed_shell(method: str, args) -> bool:
        if method not in ALLOWED_SHELL_CALLS:
            return False
        if method == "run_line_magic":
            return bool(args) and isinstance(args[0], ast.Constant) and args[0].value in ALLOWED_MAGICS
        return True


def screen_source(source: str, cell: int = 0) -> list[Finding]:
    """The tampering constructs in one cell's source (IPython syntax allowed)."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:  # it will fail when run, as the student's own error
        return []
    screen = _Screen(cell)
    screen.visit(tree)
    return screen.found


def student_cells(nb):
    """(index, cell) of every code cell the student wrote: solution cells and added cells.

    Locked and test cells are skipped: nbgrader restores them from the course before grading.
    """
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            continue
        yield index, cell


def screen_notebook(nb) -> list[Finding]:
    """Every tampering construct in the code the student wrote, in cell order."""
    found: list[Finding] = []
    for index, cell in student_cells(nb):
        found += screen_source(cell.get("source", ""), index)
    return found


def flag_message(findings: list[Finding], zeroed: bool = False) -> str:
    """What the instructor (and, when the course zeroes flagged notebooks, the student) reads
    about a flagged notebook."""
    shown = "; ".join(str(f) for f in findings[:3])
    more = f" (and {len(findings) - 3} more)" if len(findings) > 3 else ""
    text = ("Flagged for the instructor's review: this notebook's code reaches into the "
            f"autograder or the interpreter ({shown}{more}).")
    if zeroed:
        text += " Every instruction of the notebook scores 0 until the instructor has looked at it."
    return text
