"""Graders of the "RNN Architecture" assignment: one check per instruction.

* :mod:`graders.instructions` — the table of graded instructions (start here).
* :mod:`graders.exploding`, :mod:`graders.vanishing` — the checks, with their student messages.
* :mod:`graders.notebook` — ``run_check``, what the hidden test cells call.
* :mod:`graders.runner` — grade any notebook file outside nbgrader (pytest, student self-check).
* :mod:`graders.cli` — the ``rnn-course`` command.
"""
