"""The command line, ``python -m graders.grading.sandbox install | selftest | run -f FILE``
(also run as ``graders/sandbox.py``, the path installed kernel specs name).
"""

from __future__ import annotations

import argparse
import sys

from .diagnosis import selftest
from .kernelspec import install_kernelspec
from .watchdog import run


def main(argv: list[str] | None = None) -> int:
    package_doc = sys.modules[__package__].__doc__  # its first line says what this is
    parser = argparse.ArgumentParser(prog="python -m graders.grading.sandbox",
                                     description=package_doc.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_run = sub.add_parser("run", help="start the sandboxed kernel (used by kernel.json)")
    p_run.add_argument("-f", dest="connection_file", required=True)
    p_inst = sub.add_parser("install", help="install the kernel spec into this venv")
    p_inst.add_argument("--prefix", default=sys.prefix)
    sub.add_parser("selftest", help="check that bwrap/prlimit work here")
    args, extra = parser.parse_known_args(argv)
    if extra and args.cmd != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.cmd == "run":
        run(args.connection_file, tuple(extra))
    elif args.cmd == "install":
        print(install_kernelspec(args.prefix))
    elif args.cmd == "selftest":
        return selftest()
    return 0

