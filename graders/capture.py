"""Stable name of the kernel extension (``--ext=graders.capture``); see :mod:`graders.kernel.capture`."""
from .kernel.capture import (CellRecord, KernelRecord, current_record, ensure_loaded,  # noqa: F401
                             load_ipython_extension)
