"""Graders of the "RNN Architecture" assignment, in three layers.

* :mod:`graders.instructions` — the table of graded instructions: start here, the check of
  every instruction is one hop away.
* :mod:`graders.kernel` — what runs inside the student's kernel: ``run_check`` (``notebook``),
  the evidence export (``evidence``), facts read from Keras objects (``keras_facts``), figure
  and error capture (``capture``). It decides no grade.
* :mod:`graders.judge` — the judge: verdicts from evidence, where no student code ran; the
  checks and their student messages (``exploding``, ``vanishing``), the evidence codec and its
  caps (``codec``), fresh probes (``probe``), forward passes (``numeric``), the course's files
  (``course``). No TensorFlow, no Keras.
* :mod:`graders.grading` — the grading machinery: the sandboxed kernel (``sandbox``), grading
  one notebook outside nbgrader (``runner``), the nbgrader preprocessors (``judging``,
  ``replay``), batch grading on Dask (``batch``), the gradebook reader (``gradebook``), the
  configuration traitlets (``settings``).
* :mod:`graders.course` — the course verbs: one keyword-argument function each
  (``verbs``), the ``rnn-course`` command over them (``cli``), feedback reports
  (``report``) and the class summary (``summary``).

Stable names kept for what lives outside the code: ``graders.notebook.run_check`` (stored in
released notebooks' test cells), ``graders/sandbox.py`` (installed kernel specs, config
imports), ``graders.require_verdict.install``, the ``graders.capture`` extension.
"""
