"""Kernel managers that start the sandboxed kernel with the course's :class:`KernelLimits`.

The sandbox launcher (:mod:`graders.grading.sandbox`, run by the kernel spec) reads its limits
from environment variables; these managers put the configured values there for the one kernel
they start. ``graders.sandbox.configure(c)`` (called by a course's ``nbgrader_config.py``)
makes nbgrader's ``Execute`` and every ``nbclient.NotebookClient`` use them, so plain
``nbgrader autograde``, the Dask workers and ``rnn-course check`` apply the same limits.
"""
from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager, KernelManager

from .settings import KernelLimits


class _WithLimits:
    """Adds the configured limits to the environment the kernel is started with."""

    async def _async_pre_start_kernel(self, **kw):
        import os

        env = dict(kw.get("env") or os.environ)
        env.update(KernelLimits(parent=self).environment())
        return await super()._async_pre_start_kernel(**{**kw, "env": env})


class SandboxKernelManager(_WithLimits, AsyncKernelManager):
    """nbclient's (and so nbgrader's) kernel manager, with the course's kernel limits."""


class BlockingSandboxKernelManager(_WithLimits, KernelManager):
    """The same for code that drives a kernel itself (``sandbox.kernel_manager()``)."""
