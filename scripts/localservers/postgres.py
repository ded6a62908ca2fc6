"""PostgreSQL 17 + PostGIS 3.5 + MobilityDB 1.2, run from the cached Debian 13 root.

scripts/install-mobilitydb.sh builds the root once (${GEOSTREAM_CACHE}/mobilitydb-trixie). Each
server gets a private cluster inside that root (its data must be reachable from inside the chroot),
keyed by the work directory, so several servers on different ports and work directories run at once.
The server log goes to ``<workdir>/postgres.log``. Needs root (chroot).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from localservers import cache_dir, free_port

PG_BIN = "/usr/lib/postgresql/17/bin"
INSTANCES = "srv/geostream"  # inside the root
REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "scripts" / "install-mobilitydb.sh"
STALE_AFTER_S = 3600  # an instance dir without an owner file older than this is a leftover
# Below PostgreSQL's deadlock_timeout (1 s): a schema file that waits this long for a lock gives up
# before the deadlock detector could pick a writer as the victim.
SCHEMA_LOCK_TIMEOUT_MS = 500
SCHEMA_APPLY_PATIENCE_S = 120

SERVER_CONFIG = """\
# Written by scripts/localservers/postgres.py at each start.
listen_addresses = '{host}'
unix_socket_directories = '{sockets}'
# No /dev/shm or /proc is mounted in the root: dynamic shared memory lives in files under the data dir.
dynamic_shared_memory_type = mmap
huge_pages = off
shared_preload_libraries = 'postgis-3'
max_locks_per_transaction = 128
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
"""


def mobilitydb_root() -> Path:
    return cache_dir() / "mobilitydb-trixie"


def install_mobilitydb() -> Path:
    """Run the installer (it returns at once when the cached root is complete); return the root."""
    subprocess.run(["bash", str(INSTALLER)], check=True, stdout=subprocess.DEVNULL)
    return mobilitydb_root()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_pid(data: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        return pid if _pid_alive(pid) else None
    return None


def schema_files(sql_dir: Path | None = None) -> list[Path]:
    """The ``*.sql`` files of sql_dir (default: the repository's sql/), in the order they apply."""
    return sorted((Path(sql_dir) if sql_dir is not None else REPO / "sql").glob("*.sql"))


class PostgresServer:
    def __init__(
        self,
        workdir: Path,
        port: int | None = 5432,
        host: str = "127.0.0.1",
        user: str = "postgres",
        password: str = "postgres",
        database: str = "geostream",
    ):
        self.workdir = Path(workdir).resolve()
        self.port = port or free_port()
        self.host = host
        self.user = user
        self.password = password
        self.database = database
        self.root = mobilitydb_root()
        instance = hashlib.sha256(str(self.workdir).encode()).hexdigest()[:16]
        self._inner = f"/{INSTANCES}/{instance}"  # path seen inside the chroot
        self.instance_dir = self.root / INSTANCES / instance
        self.data_dir = self.instance_dir / "data"
        self.log_file = self.workdir / "postgres.log"

    @property
    def dsn(self) -> str:
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"postgresql://{credentials}@{self.host}:{self.port}/{self.database}"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    def connect(self, database: str | None = None, autocommit: bool = True):
        import psycopg2

        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
            connect_timeout=10,
        )
        conn.autocommit = autocommit
        return conn

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        if os.geteuid() != 0:
            raise PermissionError("PostgresServer runs PostgreSQL inside a chroot: it needs root")
        install_mobilitydb()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._prune_stale_instances()
        self._ensure_cluster()
        if _postmaster_pid(self.data_dir) is not None:
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        self._write_config()
        with open(self.log_file, "ab") as log:
            # The postmaster inherits this descriptor: its log lands in the work directory.
            result = subprocess.run(
                self._chroot(f"{PG_BIN}/pg_ctl", "-D", f"{self._inner}/data", "-w", "-t", "120",
                             "-o", f"-p {self.port}", "start"),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                check=False,
            )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{self._log_tail()}")
        try:
            self._wait_ready(60)
            self._create_database()
            self.apply_sql()
        except BaseException:
            self.stop()  # never leave a half-prepared server running
            raise
        return self

    def stop(self) -> None:
        """Fast shutdown (aborts open transactions); does nothing when the server is not running."""
        if _postmaster_pid(self.data_dir) is None:
            return
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")

    def destroy(self) -> None:
        """Stop and delete this server's cluster (the data inside the cached root)."""
        self.stop()
        shutil.rmtree(self.instance_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- schema --------------------------------------------------------------------------------------

    def apply_sql(self, sql_dir: Path | None = None) -> list[str]:
        """Run every ``*.sql`` file of sql_dir (default: the repository's sql/) in name order, each in
        one transaction; return the file names applied."""
        files = schema_files(sql_dir)
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                # A file's DDL locks tables in its own order while writers (the Flink sink, the
                # segmenter) may be running: it waits at most this long for a lock, gives up all it
                # holds and tries again, so it yields to writers instead of deadlocking with them.
                cur.execute("SET lock_timeout = %s", (f"{SCHEMA_LOCK_TIMEOUT_MS}ms",))
                for path in files:
                    self._apply_file(cur, path)
        finally:
            conn.close()
        return [path.name for path in files]

    def apply_sql_as_container_init(self, sql_dir: Path | None = None) -> list[str]:
        """Run every ``*.sql`` file of sql_dir as the database image's /docker-entrypoint-initdb.d does:
        ``psql -v ON_ERROR_STOP=1`` per file, each statement in its own transaction (a file that only
        works as one transaction fails here). Returns the file names applied."""
        files = schema_files(sql_dir)
        env = {**self._env(), "PGPASSWORD": self.password}
        for path in files:
            done = subprocess.run(
                self._chroot(f"{PG_BIN}/psql", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-q",
                             "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", self.database),
                input=path.read_bytes(), env=env, capture_output=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(
                    f"{path.name} (as the container's init): {done.stderr.decode(errors='replace')}"
                )
        return [path.name for path in files]

    @staticmethod
    def _apply_file(cur, path: Path) -> None:
        """One file in one transaction (a multi-statement simple query), retried while it loses a lock
        race: the failed attempt rolled back, and every file is idempotent."""
        import psycopg2.errors

        from geostream.lifecycle import backoff

        deadline = time.monotonic() + SCHEMA_APPLY_PATIENCE_S
        pauses = backoff(initial=0.1, maximum=2.0)
        while True:
            try:
                cur.execute(path.read_text())
                return
            except (psycopg2.errors.LockNotAvailable, psycopg2.errors.DeadlockDetected) as exc:
                pause = next(pauses)
                if time.monotonic() + pause > deadline:
                    raise RuntimeError(
                        f"{path.name}: still losing lock races after {SCHEMA_APPLY_PATIENCE_S} s: {exc}"
                    ) from exc
                time.sleep(pause)
            except Exception as exc:
                raise RuntimeError(f"{path.name}: {exc}") from exc

    # -- internals -----------------------------------------------------------------------------------

    def _postgres_ids(self) -> tuple[int, int]:
        for line in (self.root / "etc" / "passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "postgres":
                return int(fields[2]), int(fields[3])
        raise RuntimeError(f"no postgres user in {self.root}/etc/passwd")

    def _chroot(self, *command: str) -> list[str]:
        uid, gid = self._postgres_ids()
        chroot = shutil.which("chroot", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin") or "chroot"
        return [chroot, f"--userspec={uid}:{gid}", str(self.root), *command]

    @staticmethod
    def _env() -> dict[str, str]:
        return {"PATH": f"{PG_BIN}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/var/lib/postgresql"}

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            self._chroot(f"{PG_BIN}/pg_ctl", "-D", f"{self._inner}/data", *args),
            env=self._env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def _ensure_cluster(self) -> None:
        if (self.data_dir / "PG_VERSION").is_file():
            return
        uid, gid = self._postgres_ids()
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        (self.instance_dir / "owner").write_text(str(self.workdir))
        for sub in ("run", "data.init"):
            shutil.rmtree(self.instance_dir / sub, ignore_errors=True)
            (self.instance_dir / sub).mkdir(mode=0o700)
            os.chown(self.instance_dir / sub, uid, gid)
        pwfile = self.instance_dir / "run" / "pwfile"
        pwfile.write_text(self.password + "\n")
        os.chown(pwfile, uid, gid)
        try:
            subprocess.run(
                self._chroot(f"{PG_BIN}/initdb", "-D", f"{self._inner}/data.init", "-U", self.user,
                             f"--pwfile={self._inner}/run/pwfile", "--auth-local=peer",
                             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"),
                env=self._env(),
                check=True,
                capture_output=True,
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from exc
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.instance_dir / "data.init" / "postgresql.conf", "a") as conf:
            conf.write("include_if_exists = 'geostream.conf'\n")
        # Renamed only once complete: an interrupted initdb never passes for a cluster.
        (self.instance_dir / "data.init").rename(self.data_dir)

    def _write_config(self) -> None:
        conf = self.data_dir / "geostream.conf"
        conf.write_text(SERVER_CONFIG.format(host=self.host, sockets=f"{self._inner}/run"))
        uid, gid = self._postgres_ids()
        os.chown(conf, uid, gid)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            try:
                self.connect(database="postgres").close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _create_database(self) -> None:
        from psycopg2 import sql

        conn = self.connect(database="postgres")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        finally:
            conn.close()
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS mobilitydb CASCADE")
        finally:
            conn.close()

    def _prune_stale_instances(self) -> None:
        """Delete clusters whose work directory is gone (e.g. finished test sessions) and that do
        not run; the data lives in the shared cache, so nobody else would ever clean it up."""
        parent = self.root / INSTANCES
        if not parent.is_dir():
            return
        for instance in parent.iterdir():
            if instance == self.instance_dir or _postmaster_pid(instance / "data") is not None:
                continue
            owner = instance / "owner"
            try:
                if owner.is_file():
                    if Path(owner.read_text().strip()).exists():
                        continue
                elif time.time() - instance.stat().st_mtime < STALE_AFTER_S:
                    continue  # being created right now by another session
            except OSError:
                continue
            shutil.rmtree(instance, ignore_errors=True)

    def _log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""
