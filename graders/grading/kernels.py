"""The sandbox kernel's provisioner: starts it with the course's :class:`KernelLimits`.

The sandbox launcher (:mod:`graders.grading.sandbox`, run by the kernel spec) reads its limits
from environment variables. Jupyter creates this provisioner for every ``rnn-course-sandbox``
kernel (the kernel spec names it; the package registers it under the entry point group
``jupyter_client.kernel_provisioners``), with the kernel manager as its parent, so it sees the
configuration of whoever starts the kernel: ``c.KernelLimits`` in a course's
``nbgrader_config.py`` reaches plain ``nbgrader autograde`` (whose ``Execute`` insists on its
own kernel manager class), the Dask workers (they load the course's configuration) and
``rnn-course check`` alike.
"""
from __future__ import annotations

import os

from jupyter_client.provisioning import LocalProvisioner

from .settings import KernelLimits

class SandboxProvisioner(LocalProvisioner):
    """A local kernel process whose environment carries the configured kernel limits."""

    async def pre_launch(self, **kwargs):
        env = dict(kwargs.get("env") or os.environ)
        env.update(KernelLimits(parent=self).environment())
        return await super().pre_launch(**{**kwargs, "env": env})
