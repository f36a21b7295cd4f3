"""A throwaway PostgreSQL server for tests: Debian's binaries, a private temp dir, a unix socket.

    with running_postgres() as pg:
        Gradebook(pg.url)                       # the database "nbgrader" in that cluster
        Gradebook(pg.new_database("other"))     # another, empty database in the same cluster

The cluster lives in one ``mkdtemp`` directory (data, socket, logs). The server listens on a
unix socket in that directory only (``listen_addresses=''``): no TCP port is opened. The port
number only names the socket file (``.s.PGSQL.<port>``). On exit the server is stopped
(``pg_ctl stop -m fast``) and the directory removed, also when the body raised.

initdb and pg_ctl refuse to run as root: as root they run as the ``postgres`` system user
(``runuser``), who owns the directory. As any other user they run as that user.

The URLs are SQLAlchemy URLs for psycopg 3 (the ``psycopg`` package), as nbgrader's
``db_url`` takes them: ``postgresql+psycopg://postgres@/<dbname>?host=<sockdir>&port=<port>``.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

INSTALL_HINT = "install it with: apt-get update && apt-get install -y postgresql"
# the database superuser, and (under root) the system user that runs initdb, pg_ctl, the server
SERVER_USER = "postgres"
DEFAULT_DATABASE = "nbgrader"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresNotInstalled(RuntimeError):
    """PostgreSQL's server binaries (initdb, pg_ctl, postgres) are not on this machine."""


class PostgresError(RuntimeError):
    """The throwaway server could not be set up or used; the message ends with its logs."""


def _version_key(bindir: str) -> tuple:
    version = Path(bindir).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` that has initdb, pg_ctl and postgres."""
    candidates = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
                  if all(os.access(os.path.join(d, exe), os.X_OK)
                         for exe in ("initdb", "pg_ctl", "postgres"))]
    if not candidates:
        raise PostgresNotInstalled(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): "
            + INSTALL_HINT)
    return Path(max(candidates, key=_version_key))


def _as_root() -> bool:
    return os.geteuid() == 0


def _server_user_ok() -> bool:
    if not _as_root():
        return True
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return False
    return shutil.which("runuser") is not None


def postgres_available() -> bool:
    """Whether a throwaway server can be started here (binaries; under root, the postgres user)."""
    try:
        find_bindir()
    except PostgresNotInstalled:
        return False
    return _server_user_ok()


def _free_port() -> int:
    # The server opens no TCP port (listen_addresses=''); a free one keeps the socket name unusual.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])


class PostgresServer:
    """One throwaway cluster: ``url`` is its default database, ``new_database`` adds more."""

    def __init__(self, bindir: Path, root: Path, port: int):
        self.bindir = bindir
        self.root = root                    # the mkdtemp directory: everything lives here
        self.data = root / "data"
        self.sockdir = root / "sock"
        self.logfile = root / "server.log"
        self.port = port
        self.url = ""
        self._started = False

    # -- running the server's tools -------------------------------------------------------
    def _run(self, exe: str, *args: str, log_name: str) -> None:
        """Run a PostgreSQL tool (as postgres under root), its output into ``<root>/<log_name>``."""
        cmd = [str(self.bindir / exe), *args]
        if _as_root():
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        log = self.root / log_name
        env = dict(os.environ, LC_ALL="C", LANG="C")
        for var in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"):
            env.pop(var, None)
        with open(log, "ab") as out:
            result = subprocess.run(cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, timeout=120)
        if result.returncode != 0:
            raise self.error(f"{exe} {' '.join(args)} exited with {result.returncode}", log)

    def error(self, message: str, *logs: Path) -> PostgresError:
        """A PostgresError whose message ends with the tails of the given logs and the server's."""
        parts = [message]
        for log in dict.fromkeys([*logs, self.logfile]):
            if log.exists():
                parts.append(f"--- {log.name} (last lines) ---\n{_tail(log)}")
        return PostgresError("\n".join(parts))

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.sockdir.mkdir()
        if _as_root():
            for path in (self.root, self.sockdir):
                shutil.chown(path, SERVER_USER, SERVER_USER)
        self._run("initdb", "-D", str(self.data), "-U", SERVER_USER, "--auth=trust",
                  "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions",
                  log_name="initdb.log")
        options = (f"-k {shlex.quote(str(self.sockdir))} -p {self.port} -c listen_addresses='' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._started = True  # from here on, stop() must run even if start fails halfway
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.logfile),
                  "-w", "-t", "60", "start", log_name="pg_ctl.log")
        self.url = self.new_database(DEFAULT_DATABASE)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop",
                      log_name="pg_ctl.log")
        except (PostgresError, subprocess.TimeoutExpired):
            # not stopped (or never started): an immediate stop of this cluster's own postmaster
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                          "stop", log_name="pg_ctl.log")

    # -- databases ------------------------------------------------------------------------
    def connect(self, dbname: str = "postgres"):
        """A psycopg (3) connection to ``dbname``, autocommit, as the superuser."""
        import psycopg

        return psycopg.connect(host=str(self.sockdir), port=self.port, user=SERVER_USER,
                               dbname=dbname, autocommit=True, connect_timeout=10)

    def url_for(self, dbname: str) -> str:
        return (f"postgresql+psycopg://{SERVER_USER}@/{dbname}"
                f"?host={self.sockdir}&port={self.port}")

    def new_database(self, name: str) -> str:
        """Create an empty database ``name`` (letters, digits, _; at most 63); return its URL."""
        if not _NAME.match(name):
            raise ValueError(f"not a plain database name (letters, digits, _; <= 63): {name!r}")
        from psycopg import sql

        try:
            with self.connect() as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except Exception as exc:
            raise self.error(f"could not create database {name!r}: {exc}") from exc
        return self.url_for(name)

    def __repr__(self) -> str:
        return f"<PostgresServer {self.root} port {self.port}>"


def _make_root() -> Path:
    """A fresh mkdtemp directory the server user can reach, short enough for a socket path."""
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    # unix socket paths are limited to 107 bytes: <root>/sock/.s.PGSQL.<port>
    reachable = len(str(root)) < 80
    if reachable and _as_root():
        # under root, the postgres user must be able to enter every parent directory
        probe = ["runuser", "-u", SERVER_USER, "--", "test", "-x", str(root.parent)]
        reachable = subprocess.run(probe, stdin=subprocess.DEVNULL,
                                   capture_output=True).returncode == 0
    if not reachable and root.parent != Path("/tmp"):
        root.rmdir()
        root = Path(tempfile.mkdtemp(prefix="pgtest-", dir="/tmp"))
    return root


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway cluster; yield it (``.url``, ``.new_database(name)``); remove it all."""
    bindir = find_bindir()
    if not _server_user_ok():
        raise PostgresNotInstalled(
            f"running as root, but there is no '{SERVER_USER}' system user (or no runuser) "
            f"to run initdb/pg_ctl as: {INSTALL_HINT}")
    root = _make_root()
    server = PostgresServer(bindir, root, _free_port())
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
