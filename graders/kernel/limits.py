"""The kernel's limits and marks: one name and one default each, and how a size is read.

They travel ``c.KernelLimits`` (``graders.grading.settings``, traitlets) → environment variables
(the sandbox kernel's provisioner sets them) → the sandbox launcher (``graders.grading.sandbox``:
cgroups, prlimit, watchdog) → the kernel itself (``graders.kernel.capture`` cuts what a cell
prints). All four read the names and defaults here. Standard library only: the kernel layer
imports nothing from the grading layer, and the sandbox launcher starts with ``python -I``.
"""
from __future__ import annotations

#: Memory of one kernel (address space and cgroup), e.g. "4G", "6000M", bytes.
ENV_MEMORY = "RNN_COURSE_KERNEL_MEMORY"
DEFAULT_MEMORY = "4G"
#: Tasks (processes + threads) of one kernel.
ENV_PIDS = "RNN_COURSE_KERNEL_PIDS"
DEFAULT_PIDS = 256
#: Wall time of one kernel, i.e. of one notebook (nbgrader starts a kernel per notebook).
ENV_SECONDS = "RNN_COURSE_KERNEL_SECONDS"
DEFAULT_SECONDS = 1200
#: What one cell may print (cut inside the kernel), and what the kernel may write below
#: Python's streams (cut by the sandbox's watchdog).
ENV_OUTPUT = "RNN_COURSE_KERNEL_OUTPUT"
DEFAULT_OUTPUT = "1M"
#: Size of the kernel's writable working folder.
ENV_SCRATCH = "RNN_COURSE_KERNEL_SCRATCH"
DEFAULT_SCRATCH = "1G"
#: IPython extensions the grading kernel loads at start, comma separated ("" = none).
ENV_EXTENSIONS = "RNN_COURSE_KERNEL_EXTENSIONS"
DEFAULT_EXTENSIONS = "graders.kernel.capture,graders.kernel.tfdata"
#: CPUs the kernel runs on (batch grading pins each worker's kernels to one core).
ENV_CPUS = "RNN_COURSE_KERNEL_CPUS"
#: Set in every grading kernel; `rnn-course check` refuses to run where it is set.
GRADING_ENV = "RNN_COURSE_GRADING"
#: A file the sandbox's watchdog writes (JSON, ``{"stopped": reason}``) when it stops the
#: kernel: batch grading names one per notebook and reads the reason from it, as data.
ENV_STATUS = "RNN_COURSE_KERNEL_STATUS"

_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes of a size such as "4G", "6000M", "2GiB", "64K" or "1048576"."""
    text = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    return int(float(text.rstrip("KMGT")) * _UNITS.get(text[-1:], 1))
