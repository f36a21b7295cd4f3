"""nbgrader configuration of the "RNN Architecture" course.

Every nbgrader command run in this folder reads it, plain `nbgrader generate_assignment` and
`nbgrader autograde` as well as the `rnn-course` command built on them.
"""
import os

from graders.require_verdict import install as judge_every_test_cell
from graders.sandbox import configure as use_sandboxed_kernel

c = get_config()  # noqa: F821 - provided by nbgrader's config loader

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# A student cell that trains for 100 epochs takes ~15 s here; a stuck one is stopped after this.
c.Execute.timeout = 600

# What a student finds where a solution was removed.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}

# Feedback pages show the notebooks' formulas as MathML made when the page is built, not by
# MathJax from a CDN: they read the same offline and inside an LMS's feedback zip.
c.GenerateFeedback.exporter_class = "graders.course.mathml.FeedbackExporter"

# Student code runs in a sandboxed kernel: no network, its own folder only, 4 GiB of memory;
# it cannot reach the gradebook, the source notebooks or another student's files.
use_sandboxed_kernel(c)
# Limits of each kernel (one per notebook); the help of each is in graders/grading/settings.py.
c.KernelLimits.memory = "4G"  # per process, and all the kernel's processes together
c.KernelLimits.processes = 256  # processes and threads: a fork bomb is stopped at once
c.KernelLimits.notebook_timeout = 1200  # seconds for a whole notebook (cells: Execute.timeout)

# Grades are decided by the judge, in this grading process, never in the student's kernel: fresh
# probe inputs are written beside each notebook before it runs, the hidden test cells export
# evidence, and right after nbgrader's Execute the judge replaces every test cell's outputs with
# its verdict on that evidence (graders/grading/judging.py). The static screen lists notebooks
# for review; set this to True to also score every instruction of a flagged notebook 0.
judge_every_test_cell(c)
c.ScreenTampering.zero_flagged = False
