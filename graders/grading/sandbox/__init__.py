"""Run every graded notebook in a sandboxed Jupyter kernel (bubblewrap + prlimit).

Why
---
Stock ``nbgrader autograde`` executes student code with the grader's rights: a
submission doing ``os.remove('../../../gradebook.db')`` or overwriting
``source/`` destroys the batch, and one that reads ``source/`` or the gradebook
can print the hidden tests into its (later released) feedback.  Instead, the
kernel spec ``rnn-course-sandbox`` starts ipykernel through this package::

    python -I /path/to/graders/sandbox.py run -f {connection_file}

which ``exec``s (see :func:`command.kernel_command` for the full argv)::

    prlimit --as=4GiB --fsize=1GiB -- bwrap
        --unshare-user --disable-userns --cap-drop ALL
        --unshare-pid --as-pid-1 --unshare-net --unshare-ipc --unshare-uts
        --unshare-cgroup-try --die-with-parent --hostname sandbox --clearenv ...
        --ro-bind /usr ... (the Python install, the venv, graders/, /etc pieces)
        --dev /dev --proc /proc --remount-ro /proc --size 1GiB --tmpfs /tmp
        --bind <notebook folder> <same> [--ro-bind /dev/null <each *.ipynb in it>]
        --bind <socket dir> <same>
        --ro-bind <connection file> <same> --remount-ro / --chdir <notebook folder>
        -- python -c "<ipykernel_launcher without cwd on sys.path>" -f <connection file>
           --InteractiveShellApp.reraise_ipython_extension_failures=True --ext=graders.kernel.capture
           --ext=graders.kernel.tfdata

Security reasoning
------------------
* **Filesystem: allow-list, not deny-list.**  The sandbox root is an empty
  tmpfs, remounted read-only at the end.  Only what Python needs is bound
  read-only: ``/usr`` (+ the ``/bin``, ``/lib*``, ``/sbin`` symlinks or dirs), a
  few harmless ``/etc`` files, the base Python install and the venv, and the
  ``graders/`` package directory (for the ``graders.kernel.capture`` extension) --
  never the repository/course root, ``source/``, ``release/``, ``submitted/``,
  other students' folders or ``gradebook.db``: they simply do not exist inside.
  Binding ``/`` read-only would still leak the hidden tests (source notebooks,
  gradebook), so we don't.
* **Writable:** a private scratch folder where the kernel starts, a private
  tmpfs ``/tmp`` (also HOME and MPLCONFIGDIR) and the ipc socket directory (a
  dedicated 0700 directory that holds only kernel sockets, *not* the Jupyter
  runtime dir, which holds other kernels' connection files/keys).  The kernel's
  folder (the cwd jupyter_client chose, i.e. ``autograded/<student>/<a>``) is
  bound **read-only** at ``/run/rnn-course/files`` and the kernel's cwd, at the
  same path as on the host, is a size-capped tmpfs (default 1 GiB, env
  ``RNN_COURSE_KERNEL_SCRATCH``) holding a symlink to each of its files: the
  student's code reads the data as before, but cannot change the course's data
  and weights the checks compare with, and everything it writes goes to the
  scratch tmpfs, which is thrown away with the kernel (a disk filler meets
  ENOSPC at the cap, the host's disk is never touched).  ``*.ipynb`` files get
  no symlink and are made unreadable in the read-only view (see
  :func:`command._hide_notebooks`).  The connection file itself is bound read-only.  The
  wrapper refuses a cwd that contains the venv, ``graders/`` or a
  ``gradebook.db`` (e.g. a notebook run from the course root).  (If the folder
  lies under the host's /tmp, its parent directories are throw-away directories
  on the sandbox's own /tmp tmpfs, hence writable but meaningless.)
* **No privileges.**  The grader usually runs as root, and bwrap run by root
  *keeps all capabilities* unless told otherwise (a sandboxed root could simply
  remount the binds read-write).  ``--cap-drop ALL`` empties every capability
  set including the bounding set; ``--unshare-user --disable-userns`` forbids
  creating nested user namespaces (the usual way back to capabilities);
  bwrap sets ``no_new_privs``.  ``/proc`` is remounted read-only because uid 0
  without capabilities may still *write* most ``/proc/sys`` files by DAC
  (e.g. ``kernel/core_pattern`` = host root code execution), and bwrap 0.8 does
  not cover ``/proc/sys`` here.
* **No network:** ``--unshare-net`` (only a private loopback).  The kernel
  therefore speaks ZMQ over unix sockets (``transport='ipc'``); see
  :func:`kernelspec.configure`.
* **No other processes:** ``--unshare-pid`` (the kernel is pid 1 thanks to
  ``--as-pid-1``, otherwise ipykernel's parent poller sees ppid 1 and exits);
  when pid 1 dies the kernel kills every process in the namespace, and
  ``--die-with-parent`` kills the kernel when the grader dies.
* **Resources** (configured as ``c.KernelLimits.*`` traitlets in ``nbgrader_config.py``,
  :class:`graders.grading.settings.KernelLimits`; the kernel spec's provisioner,
  :class:`graders.grading.kernels.SandboxProvisioner`, hands them
  to this launcher as the ``RNN_COURSE_KERNEL_*`` environment variables):
  ``prlimit --as`` caps each process's address space (default 4 GiB; TensorFlow trains fine
  under it), ``--fsize`` the size of any written file, the tmpfs are size-capped.  RLIMIT_NPROC
  is not enforced for uid 0 and an address-space limit is per process, so the kernel is also
  put in cgroups (v1 ``/sys/fs/cgroup/<controller>``, or v2 where the machine has it, nested
  below the grader's own group): **pids** (``pids.max``, default 256 tasks, threads included)
  and **memory** (the same 4 GiB for all its processes together, so six children of 900 MiB
  each cannot take the grader's machine).  A watchdog outside the sandbox (see
  :func:`watchdog._apply_limits`) kills every task of the kernel as soon as a fork failed
  because the group is full, the memory limit killed a process, or the notebook's wall time
  (default 1200 s; cells have nbgrader's ``Execute.timeout``) is up, and says why on the kernel's
  stderr ("rnn-course sandbox: kernel stopped: more than 256 processes and threads"), which
  :func:`graders.grading.batch.failure_reason` puts in the summary.  The kernel's fd 1 and 2
  (``os.write``, C libraries, crash reports) are a pipe the watchdog forwards to the
  grader's stderr, cut at the output cap (ipykernel's fd capture is off, so that output
  never bypasses the per-cell cap of :mod:`graders.kernel.capture`).  Without a writable
  controller (no root, no delegation) the kernel starts with a warning on stderr.  NOT
  capped: the kernel's share of the CPU (only its wall time is), and the number of files it
  makes in its tmpfs (bounded only by their size and its memory, which tmpfs pages count in).
* **Environment:** cleared; only PATH (venv first), HOME, LANG, MPLCONFIGDIR,
  TF_CPP_MIN_LOG_LEVEL=3, PYTHONPATH (graders/) and the short allow-list
  ``ENV_PASSTHROUGH`` are set: no grader secrets, no PYTHONWARNINGS.
* **Interrupts** use ``interrupt_mode: message``: jupyter_client's default
  SIGINT to the process group would hit bwrap, which dies (and the kernel
  with it); nbgrader interrupts cells on timeout.
* **Launcher hygiene:** the wrapper runs with ``python -I`` and an absolute
  script path, because the kernel's cwd is the student's folder: with
  ``python -m graders.grading.sandbox`` a submitted ``graders/sandbox.py`` would run
  *outside* the sandbox.  For the same reason ipykernel is not started with
  ``-m ipykernel_launcher`` (a submitted ``ipykernel_launcher.py`` would replace
  the kernel and could answer every test with "ok").
* **No silent fallback:** if bwrap/prlimit are missing, or the connection is not
  ipc, the wrapper exits non-zero with a message; the kernel never starts
  unsandboxed.

Not protected:

* by design of in-process grading, student code runs in the same interpreter
  as the hidden tests that follow it and can tamper with them or print them
  (e.g. an IPython input transformer).  The sandbox protects the grader's
  machine, the gradebook and the hidden-test *files*, not the kernel's integrity.
* everything under ``graders/`` is readable by student code.
* kernels share the socket directory: a hostile kernel running *at the same
  time* as another sandboxed kernel of the same user could unlink/re-bind that
  kernel's sockets (messages are HMAC-signed, not encrypted).  nbgrader grades
  one notebook at a time, and a kernel's processes die with it.

Extensions: ipykernel loads ``graders.kernel.capture`` (figures, errors, the per-cell output
cap) and ``graders.kernel.tfdata`` (tf.data without autotuning: the same numbers without
autotuning's idle waits, which cost a kernel pinned to one core a third of its time) at start
(env ``RNN_COURSE_KERNEL_EXTENSIONS``, comma separated, empty = none) and the kernel fails to
start if an extension cannot be loaded.

CLI: ``python -m graders.grading.sandbox install | selftest | run -f CONNECTION_FILE``.
Only the standard library is imported at module level, in every module of this package (the
``run`` path must be fast and must not import anything from the student's folder).

Layout
------
One module a job; this package re-exports their names (``graders.grading.sandbox.X``), so a
test patches a name in the module that uses it, not here:

* :mod:`.command` -- the prlimit + bubblewrap command line: binds, namespaces, environment,
  the ipc socket directory, :class:`SandboxError`.
* :mod:`.watchdog` -- the limits at run time: cgroups, the watchdog, the kernel's own output
  forwarded up to its cap, and :func:`run`, the kernel spec's entry point.
* :mod:`.kernelspec` -- the Jupyter glue: the kernel spec, :func:`configure` for
  ``nbgrader_config.py``, nbclient's and jupyter_client's settings.
* :mod:`.probing` -- :func:`probe`, whether the sandbox runs here.
* :mod:`.diagnosis` -- :func:`selftest`, what the sandbox does here, for a person.
* :mod:`.cli` -- the command line (``__main__`` and ``graders/sandbox.py`` run it).
"""

from __future__ import annotations

# The limits' names and defaults, one place for the traitlets, this launcher and the kernel
# (re-exported here: graders.grading.sandbox.ENV_MEMORY and the like keep working).
from graders.kernel.limits import (  # noqa: F401
    DEFAULT_EXTENSIONS, DEFAULT_MEMORY, DEFAULT_OUTPUT, DEFAULT_PIDS, DEFAULT_SCRATCH,
    DEFAULT_SECONDS, ENV_CPUS, ENV_EXTENSIONS, ENV_MEMORY, ENV_OUTPUT, ENV_PIDS, ENV_SCRATCH,
    ENV_SECONDS, GRADING_ENV)

# The names other modules, tests, installed kernel specs and courses' configs use, as they
# were when this package was one module (graders.grading.sandbox.X keeps working).
from .cli import main  # noqa: F401
from .command import (  # noqa: F401
    ENV_PASSTHROUGH, ETC_FILES, FILE_SIZE_LIMIT, FILES_VIEW, INSTALL_HINT, PACKAGE_DIR,
    SANDBOX_HOME, TMPFS_SIZE, SandboxError, extensions, ipc_ip, kernel_command, memory_limit,
    runtime_dir, scratch_size)
from .diagnosis import selftest  # noqa: F401
from .kernelspec import (  # noqa: F401
    DISPLAY_NAME, KERNEL_NAME, LAUNCH_SCRIPT, PROVISIONER_NAME, configure, ensure_kernelspec,
    install_kernelspec, kernel_manager, notebook_client_kwargs)
from .probing import ENV_SANDBOX, SandboxStatus, probe  # noqa: F401
from .watchdog import (  # noqa: F401
    STDERR_CUT, STOPPED_PREFIX, Limits, _controller_root, _own_group, _pids_root,
    notebook_seconds, output_cap, pids_limit, read_status, run, write_status)
