# A hostile submission: everything below must fail inside the sandbox.
# Markers printed: *_SAFE / *_BLOCKED / *_DENIED = attack failed,
#                  *_TAMPERED / *_OPEN / *_GOT / LEAK = attack succeeded.
import glob, os, socket, sqlite3, subprocess, sys

def square(x):
    return x * x

def attempt(ok_tag, bad_tag, what, fn):
    try:
        fn()
        print(bad_tag, what)
    except Exception as exc:
        print(ok_tag, what, type(exc).__name__)

def write(path, data="pwned"):
    def go():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            f.write(data)
    return go

SKIP = {"/proc", "/sys", "/dev", "/usr", os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
def walk(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) not in SKIP]
        for name in filenames:
            yield os.path.join(dirpath, name)

needle = ("BEGIN " + "HIDDEN TESTS").encode()

# 1. the gradebook: remove, overwrite; then every *.db reachable anywhere
attempt("DB_SAFE", "DB_TAMPERED", "rm gradebook", lambda: os.remove("../../../gradebook.db"))
attempt("DB_SAFE", "DB_TAMPERED", "write gradebook", write("../../../gradebook.db"))
for db in [p for p in walk("/") if p.endswith((".db", ".sqlite"))]:
    print("DB_FOUND", db)  # the test accepts only the sandbox's own IPython history
    try:
        con = sqlite3.connect(db)
        for (table,) in con.execute("select name from sqlite_master where type='table'"):
            rows = repr(con.execute(f"select * from {table}").fetchall())
            print("DBDUMP", db, table, len(rows))
            if needle.decode() in rows or "grade_cell" in table:
                print("LEAK", db, table, rows)
        con.close()
    except Exception as exc:
        print("DBDUMP failed", db, type(exc).__name__)

# 2. the source notebooks
for nb in ["../../../source/sbx/sbx.ipynb"] + glob.glob("../../../source/**/*.ipynb", recursive=True):
    attempt("SOURCE_SAFE", "SOURCE_TAMPERED", nb, write(nb, "{}"))

# 3. hidden tests: look for them in every readable file
for path in walk("/"):
    try:
        if os.path.getsize(path) < 5_000_000:
            with open(path, "rb") as f:
                data = f.read()
            if needle in data:
                print("LEAK", path, data.decode(errors="replace"))
    except OSError:
        pass
print("SCAN_DONE")

# 4. the network: the test listens on the grader's loopback; and the internet
PORT = int("{{PORT}}")
attempt("NET_BLOCKED", "NET_OPEN", "grader loopback",
        lambda: socket.create_connection(("127.0.0.1", PORT), timeout=3).sendall(b"PWNED"))
attempt("NET_BLOCKED", "NET_OPEN", "internet",
        lambda: socket.create_connection(("1.1.1.1", 53), timeout=3).close())

# 5. the other students' folders
for path in ["../../alice/sbx/pwned.txt", "../../bob/sbx/sbx.ipynb",
             "../../../submitted/alice/sbx/sbx.ipynb", "../../../submitted/bob/pwned.txt"]:
    attempt("OTHERS_SAFE", "OTHERS_TAMPERED", path, write(path))

# 6. processes: a bounded burst, and one trying to outlive the kernel
burst = [subprocess.Popen(["sleep", "1"]) for _ in range(40)]
print("FORKED", sum(p.wait() == 0 for p in burst))
subprocess.Popen(["sleep", "987654"], start_new_session=True)

# 7. memory: 6 GiB
def grab():
    blob = bytearray(6 * 1024**3)
    blob[-1] = 1
attempt("MEM_DENIED", "MEM_GOT", "6 GiB", grab)

# my own folder stays writable
write("mallory-was-here.txt", "hello")()
print("HOSTILE_DONE")
