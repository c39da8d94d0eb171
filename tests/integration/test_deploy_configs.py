"""The production configurations of docs/deploy.md, read from the page itself: the systemd
units pass `systemd-analyze verify` with their restart policy, and the supervisord
configuration, run by a real supervisord against the test servers, brings back a web
process and a relay killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.conftest import (
    RECOUP,
    ROOT,
    SECRET,
    _free_port,
    _with_database,
    _with_redis_db,
    recoup_env,
)

DOC = ROOT / "docs" / "deploy.md"
RECOUP_BIN = Path(sys.executable).parent / "recoup"
# A database and a Redis number of its own: the configuration's relays and worker take
# neither the relay's lock nor a job of the other tests.
DATABASE = "recoup_test_supervisord"
REDIS_DB = 13

pytestmark = pytest.mark.timeout(300)


def documented() -> dict[str, str]:
    """Every code block of the page that names its file on its first line, by that name."""
    files = {}
    for block in re.findall(r"```(?:ini|sh)\n(.*?)```", DOC.read_text(), re.S):
        first = block.split("\n", 1)[0]
        match = re.fullmatch(r"[#;] (/\S+)", first)
        if match:
            files[match[1]] = block
    return files


def localised(text: str, env_file: Path, logs: Path) -> str:
    """A documented file with its paths made real here (and no other user to run as)."""
    text = text.replace("/srv/recoup/.venv/bin/recoup", str(RECOUP_BIN))
    text = text.replace("/srv/recoup", str(ROOT))
    text = text.replace("/etc/recoup/recoup.env", str(env_file))
    text = text.replace("/var/log/recoup", str(logs))
    return re.sub(r"(?m)^user=recoup\n", "", text)


def test_the_page_documents_every_unit_and_the_supervisord_programs() -> None:
    files = documented()
    units = {Path(name).name for name in files if name.startswith("/etc/systemd/")}
    assert units == {
        "recoup-web.service",
        "recoup-worker.service",
        "recoup-scheduler.service",
        "recoup-relay@.service",
        "recoup.target",
    }
    for name, text in files.items():
        if name.endswith(".service"):
            for line in (
                "Restart=always",
                "RestartSec=1s",
                "StartLimitIntervalSec=0",
                "KillMode=mixed",
                "EnvironmentFile=/etc/recoup/recoup.env",
                "PartOf=recoup.target",
                "WantedBy=recoup.target",
            ):
                assert f"\n{line}\n" in text, (name, line)
            assert re.search(r"\nLimitNOFILE=\d+\n", text), name
            assert re.search(r"\nMemoryMax=\d+[MG]\n", text), name
    target = files["/etc/systemd/system/recoup.target"]
    for unit in (
        "recoup-web.service",
        "recoup-worker.service",
        "recoup-scheduler.service",
        "recoup-relay@1.service",
        "recoup-relay@2.service",
    ):
        assert unit in target
    programs = files["/etc/supervisor/conf.d/recoup.conf"]
    sections = re.split(r"\n(?=\[program:)", programs)[1:]
    assert [s.split("]", 1)[0] for s in sections] == [
        "[program:recoup-web",
        "[program:recoup-worker",
        "[program:recoup-scheduler",
        "[program:recoup-relay",
    ]
    for section in sections:
        for line in (
            "autorestart=true",
            "startretries=1000",
            "stopasgroup=true",
            "killasgroup=true",
        ):
            assert f"\n{line}\n" in section, (section[:30], line)
    assert "\nnumprocs=2\n" in sections[3]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    env_file = tmp_path / "recoup.env"
    env_file.write_text("RECOUP_ENV=production\n")
    paths = []
    for name, text in documented().items():
        if name.startswith("/etc/systemd/"):
            path = tmp_path / Path(name).name
            path.write_text(localised(text, env_file, tmp_path))
            paths.append(path)
    for n in (1, 2):
        instance = tmp_path / f"recoup-relay@{n}.service"
        instance.symlink_to(tmp_path / "recoup-relay@.service")
        paths.append(instance)
    paths = [p for p in paths if p.name != "recoup-relay@.service"]
    checked = subprocess.run(
        ["systemd-analyze", "verify", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.strip() == "", checked.stderr


@dataclass
class Supervisord:
    process: subprocess.Popen[bytes]
    config: Path
    log: Path
    base: str

    def pid(self, name: str) -> int:
        answer = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.config), "pid", name],
            capture_output=True,
            text=True,
            timeout=20,
        )
        text = answer.stdout.strip()
        return int(text) if text.isdigit() else 0


async def until(condition, within: float, what: str):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.2)


async def healthy(base: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            return (await http.get("/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
async def supervisord(settings: Settings, tmp_path: Path) -> AsyncIterator[Supervisord]:
    database_url = _with_database(settings.database_url or "", DATABASE)
    redis_url = _with_redis_db(settings.redis_url or "", REDIS_DB)
    admin = await asyncpg.connect(_with_database(database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    migrated = recoup_env(settings, DATABASE_URL=database_url, REDIS_URL=redis_url)
    # Piccolo binds its tables to the first database a process migrates: use a process.
    subprocess.run([*RECOUP, "migrate"], cwd=ROOT, env=migrated, check=True, capture_output=True)
    port = _free_port()
    env_file = tmp_path / "recoup.env"
    values = {
        "RECOUP_ENV": "test",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "WORKER_PROCESSES": "1",
    }
    env_file.write_text("".join(f"{key}='{value}'\n" for key, value in values.items()))
    programs = localised(documented()["/etc/supervisor/conf.d/recoup.conf"], env_file, tmp_path)
    config = tmp_path / "supervisord.conf"
    log = tmp_path / "supervisord.log"
    config.write_text(
        "[supervisord]\n"
        "nodaemon=true\n"
        f"logfile={log}\n"
        f"pidfile={tmp_path / 'supervisord.pid'}\n"
        f"childlogdir={tmp_path}\n"
        "[unix_http_server]\n"
        f"file={tmp_path / 'supervisor.sock'}\n"
        "[supervisorctl]\n"
        f"serverurl=unix://{tmp_path / 'supervisor.sock'}\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        + programs
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    process = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Supervisord(process, config, log, f"http://127.0.0.1:{port}")
    try:
        await until(lambda: healthy(running.base), 120, "the web process answers")
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        admin = await asyncpg.connect(_with_database(database_url, "postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        finally:
            await admin.close()


async def test_supervisord_brings_back_a_killed_web_process_and_relay(
    supervisord: Supervisord,
) -> None:
    names = ("recoup:recoup-web", "recoup:recoup-relay-1", "recoup:recoup-worker")
    seen = []
    for name in names:
        first = await until(lambda n=name: supervisord.pid(n), 60, f"{name} runs")
        seen.append(first)
        if name.endswith("worker"):
            continue
        os.kill(first, signal.SIGKILL)
        short = name.split(":")[1]
        said = f"exited: {short} (terminated by SIGKILL; not expected)"
        await until(lambda s=said: s in supervisord.log.read_text(), 20, f"{name} died")
        second = await until(
            lambda n=name, f=first: (pid := supervisord.pid(n)) not in (0, f) and pid,
            30,
            f"{name} is back",
        )
        seen.append(second)
    await until(lambda: healthy(supervisord.base), 60, "the web answers again")
    for name in ("recoup:recoup-relay-1", "recoup:recoup-relay-2", "recoup:recoup-scheduler"):
        seen.append(await until(lambda n=name: supervisord.pid(n), 60, f"{name} runs"))

    supervisord.process.terminate()
    await until(lambda: supervisord.process.poll() is not None, 60, "supervisord stops")
    left = [pid for pid in seen if alive(pid)]
    assert not left, left
