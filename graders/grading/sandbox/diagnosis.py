"""The self-test (``python -m graders.grading.sandbox selftest``): prints, for a person, what
the sandbox does on this machine (tools, isolation checks from inside, a real kernel) and
whether it works.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from graders.kernel.limits import ENV_EXTENSIONS

from .command import SandboxError, _require_tools, extensions, ipc_ip, kernel_command, memory_limit
from .kernelspec import KERNEL_NAME, kernel_manager

_PROBE = r"""
import os, socket, sys
def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + (f"  ({detail})" if detail else ""))
status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
check("no capabilities", int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0)
check("pid namespace", os.getpid() == 1, f"pid {os.getpid()}")
ifaces = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
check("network unshared", ifaces == ["lo"], f"interfaces {ifaces}")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close(); net = False
except OSError as e:
    net = True; err = e
check("no outbound connection", net)
outside = sys.argv[1]
check("course directory invisible", not os.path.exists(outside), outside)
try:
    open("/etc/sandbox-probe", "w"); ro = False
except OSError:
    ro = True
check("root filesystem read-only", ro)
open("probe-ok", "w").write("x"); os.remove("probe-ok")
check("notebook folder writable", True)
try:
    bytearray(int(sys.argv[2]) + (1 << 30)); mem = False
except MemoryError:
    mem = True
check("memory limit enforced", mem, f"{int(sys.argv[2]) >> 20} MiB")
"""


def selftest() -> int:
    """Print whether the sandbox works on this machine; return a shell exit code."""
    import subprocess
    import tempfile

    print(f"python      : {sys.executable}")
    for tool in ("bwrap", "prlimit"):
        path = shutil.which(tool)
        ver = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip() if path else ""
        print(f"{tool:12}: {path or 'MISSING'} {ver}")
    try:
        _require_tools()
    except SandboxError as exc:
        print(exc)
        return 1
    print(f"memory limit: {memory_limit() >> 20} MiB   extensions: {extensions() or 'none'}")
    failed = False
    with tempfile.TemporaryDirectory() as course:
        nbdir = Path(course) / "autograded" / "student" / "assignment"
        nbdir.mkdir(parents=True)
        (Path(course) / "gradebook.db").write_text("secret")
        cf = nbdir.parent / "conn.json"
        cf.write_text(json.dumps({"transport": "ipc", "ip": ipc_ip()}))
        inner = [sys.executable, "-c", _PROBE, f"{course}/gradebook.db", str(memory_limit())]
        argv = kernel_command(str(cf), str(nbdir), inner=inner)
        print("command     :", " ".join(argv[:-len(inner)]), sys.executable, "-c <probe>")
        t0 = time.perf_counter()
        res = subprocess.run(argv, cwd=nbdir, capture_output=True, text=True)
        print(f"probe       : exit {res.returncode} in {time.perf_counter() - t0:.2f}s")
        print(res.stdout + res.stderr, end="")
        failed = res.returncode != 0 or "FAIL" in res.stdout or "PASS" not in res.stdout

        from jupyter_client.kernelspec import NoSuchKernel, KernelSpecManager
        try:
            KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        except NoSuchKernel:
            print(f"kernel spec : {KERNEL_NAME} NOT installed (python -m graders.grading.sandbox install)")
            return 1
        km = kernel_manager()
        t0 = time.perf_counter()
        try:
            km.start_kernel(cwd=str(nbdir))
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            out = []
            reply = kc.execute_interactive(
                "import os; print(os.getpid(), sorted(os.listdir('/')))", timeout=30,
                output_hook=lambda msg: out.append(msg["content"].get("text", "")))
            ok = reply["content"]["status"] == "ok" and "".join(out).startswith("1 ")
            print(f"kernel      : {'PASS' if ok else 'FAIL'} started and executed in "
                  f"{time.perf_counter() - t0:.2f}s; pid, / inside: {''.join(out).strip()}")
            failed |= not ok
            kc.stop_channels()
        except Exception as exc:  # report, don't crash the diagnosis
            print(f"kernel      : FAIL {type(exc).__name__}: {exc} (kernel stderr above; "
                  f"{ENV_EXTENSIONS}={','.join(extensions())!r})")
            failed = True
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    print("sandbox OK" if not failed else "sandbox NOT working")
    return int(failed)
