"""The sandbox kernel's provisioner: starts it with the course's :class:`KernelLimits`.

The sandbox launcher (:mod:`graders.grading.sandbox`, run by the kernel spec) reads its limits
from environment variables. Jupyter creates this provisioner for every ``rnn-course-sandbox``
kernel (the kernel spec names it; the package registers it under the entry point group
``jupyter_client.kernel_provisioners``), with the kernel manager as its parent, so it sees the
configuration of whoever starts the kernel: ``c.KernelLimits`` in a course's
``nbgrader_config.py`` reaches plain ``nbgrader autograde`` (whose ``Execute`` insists on its
own kernel manager class), the Dask workers (they load the course's configuration) and
``rnn-course check`` alike.

It also refuses to start a kernel for plain ``nbgrader autograde`` whose pipeline lacks the
judge (a course config without ``install(c)``): there a test cell's score would come from the
student's own kernel. Nothing of the student's has run yet when it refuses; nbgrader records the
notebook as failed with :data:`NO_JUDGE` in its log. (A config that also drops the sandbox
kernel runs nothing of this package, so nothing here can refuse: that is stock nbgrader.)
"""
from __future__ import annotations

import os

from jupyter_client.provisioning import LocalProvisioner

from .settings import KernelLimits
from ..errors import CourseError

#: Why a kernel is refused under ``nbgrader autograde`` without the judge.
NO_JUDGE = ("refusing to run a student's notebook: this nbgrader autograde's pipeline does not "
            "hold the judge, so a test cell's score would be decided in the student's own kernel. "
            "Add `from graders.require_verdict import install` and `install(c)` to the course's "
            "nbgrader_config.py (or grade with `rnn-course grade`, which checks it too).")


class JudgeMissing(CourseError, RuntimeError):
    """``nbgrader autograde`` would grade without the judge."""


def autograde_without_judge() -> bool:
    """Is this process a plain ``nbgrader autograde`` whose configured pipeline lacks the
    judge? (nbgrader makes its subcommand the process's traitlets ``Application`` instance.)"""
    from traitlets.config import Application

    if not Application.initialized():
        return False
    from nbgrader.apps.autogradeapp import AutogradeApp

    from .judging import has_judge
    from .replay import configured_pipeline

    app = Application.instance()
    return isinstance(app, AutogradeApp) and not has_judge(configured_pipeline(app.config))


class SandboxProvisioner(LocalProvisioner):
    """A local kernel process whose environment carries the configured kernel limits."""

    async def pre_launch(self, **kwargs):
        if autograde_without_judge():
            self.log.error(NO_JUDGE)
            raise JudgeMissing(NO_JUDGE)
        env = dict(kwargs.get("env") or os.environ)
        env.update(KernelLimits(parent=self).environment())
        return await super().pre_launch(**{**kwargs, "env": env})
