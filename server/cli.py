"""The ``recoup`` command: run the processes, migrate, seed, manage users."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shlex
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from config.settings import MAX_WORKER_PROCESSES, Settings, SettingsError, get_settings
from domain.db import Database
from server.cli_imports import import_command
from server.cli_simulate import simulate_command
from server.observability import configure_logging

if TYPE_CHECKING:
    from server.supervise import Program, Server

ROOT = Path(__file__).resolve().parent.parent


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@contextlib.contextmanager
def _services(
    settings: Settings, database: str = "recoup", kept: list[Server] | None = None
) -> Iterator[Settings]:
    """Settings with both URLs resolved, starting the embedded servers for what is unset.

    Servers started here are stopped when the block ends; ones already running stay.
    ``kept`` receives the servers started here, for a supervisor to keep running.
    """
    if not settings.embedded:
        yield settings
        return
    from server.embedded import EmbeddedServices

    services = EmbeddedServices(settings.data_dir, database=database)
    try:
        database_url, redis_url = services.start(
            need_postgres=settings.database_url is None, need_redis=settings.redis_url is None
        )
    except Exception as exc:
        raise click.ClickException(f"could not start the embedded servers: {exc}") from exc
    resolved = msgspec.structs.replace(
        settings,
        database_url=settings.database_url or database_url,
        redis_url=settings.redis_url or redis_url,
    )
    if kept is not None:
        kept.extend(services.kept())
    # Children (and code that reads the environment, such as the taskiq broker) see the same.
    os.environ["DATABASE_URL"] = resolved.database_url or ""
    os.environ["REDIS_URL"] = resolved.redis_url or ""
    get_settings.cache_clear()
    try:
        yield resolved
    finally:
        services.stop()


def _no_demo_in_production(settings: Settings) -> None:
    """The demo's users share a published password: never create them in production."""
    if settings.env == "production":
        raise click.ClickException(
            "the demo tenant is for development: its users share a published password, so "
            "it is never created with RECOUP_ENV=production"
        )


async def _prepare_database(settings: Settings, *, seed: bool) -> bool:
    from domain.demo import seed_demo
    from domain.schema import ensure_database, migrate

    assert settings.database_url
    await ensure_database(settings.database_url)
    await migrate(settings.database_url)
    if not seed:
        return False
    db = await Database.from_settings(settings, application_name="recoup-cli", max_size=2).open()
    try:
        return await seed_demo(db)
    finally:
        await db.close()


@click.group()
def main() -> None:
    """Recoup, the real-time collections workstation."""


@main.command()
def migrate() -> None:
    """Create the database if needed and apply every pending migration."""
    with _services(_settings()) as settings:
        asyncio.run(_prepare_database(settings, seed=False))
    click.echo("migrations applied")


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo tenant (does nothing if it exists; refused in production)."""
    _no_demo_in_production(_settings())
    with _services(_settings()) as settings:
        created = asyncio.run(_prepare_database(settings, seed=True))
    click.echo("demo tenant created" if created else "demo tenant already there")


@main.group()
def tenant() -> None:
    """Tenants."""


@tenant.command("create")
@click.option("--slug", required=True, help="short name, lower-case letters, digits, dashes")
@click.option("--name", required=True)
@click.option("--time-zone", default="UTC", show_default=True)
def tenant_create(slug: str, name: str, time_zone: str) -> None:
    """Create a tenant."""
    from domain.errors import RecoupError
    from domain.tenancy.service import create_tenant

    async def run(settings: Settings) -> int:
        db = await Database.from_settings(
            settings, application_name="recoup-cli", max_size=1
        ).open()
        try:
            async with db.system() as conn:
                return (await create_tenant(conn, slug=slug, name=name, time_zone=time_zone)).id
        finally:
            await db.close()

    with _services(_settings()) as settings:
        try:
            tenant_id = asyncio.run(run(settings))
        except RecoupError as exc:
            raise click.ClickException(exc.detail) from None
    click.echo(f"tenant {slug} created (id {tenant_id})")


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.option("--tenant", "tenant_slug", default="demo", show_default=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice(["admin", "supervisor", "collector", "readonly"]),
    default="collector",
    show_default=True,
)
@click.option("--password", default=None, help="prompted for when not given")
def user_create(tenant_slug: str, email: str, name: str, role: str, password: str | None) -> None:
    """Create a user in a tenant."""
    from domain.actor import system_actor
    from domain.errors import RecoupError
    from domain.tenancy.service import tenant_id_by_slug
    from domain.users.schemas import UserCreate
    from domain.users.service import UserService

    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat: "):
            raise click.ClickException("the passwords differ")

    async def run(settings: Settings) -> int:
        db = await Database.from_settings(
            settings, application_name="recoup-cli", max_size=1
        ).open()
        try:
            async with db.system() as conn:
                tenant_id = await tenant_id_by_slug(conn, tenant_slug)
            if tenant_id is None:
                raise click.ClickException(f"no tenant {tenant_slug!r}")
            async with db.tenant(tenant_id) as conn:
                created = await UserService(conn, system_actor(tenant_id)).create(
                    UserCreate(email=email, name=name, password=password, role=role)  # type: ignore[arg-type]
                )
                return created.id
        finally:
            await db.close()

    with _services(_settings()) as settings:
        try:
            user_id = asyncio.run(run(settings))
        except RecoupError as exc:
            raise click.ClickException(
                f"{exc.field + ': ' if exc.field else ''}{exc.detail}"
            ) from None
    click.echo(f"user {email} created (id {user_id}, {role})")


@main.command()
def web() -> None:
    """Serve HTTP and WebSocket on HOST:PORT."""
    import uvicorn

    with _services(_settings()) as settings:
        from server.app import create_asgi
        from server.http_protocol import ProblemHttpToolsProtocol
        from server.ws_protocol import LeanWebSocketProtocol

        uvicorn.run(
            create_asgi(settings),
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            # httptools, answering what it cannot parse with a problem (server/http_protocol.py)
            http=ProblemHttpToolsProtocol,
            interface="asgi3",  # RecoupASGI hands over coroutines rather than being one
            # Frames are small JSON; per-message compression would cost a deflate per socket
            # and defeat writing one encoded frame to every socket.
            # uvicorn's sans-I/O protocol, keeping less for each socket (server/ws_protocol.py)
            ws=LeanWebSocketProtocol,
            ws_per_message_deflate=False,
            ws_max_size=settings.ws_max_frame_bytes,
            ws_ping_interval=settings.ws_ping_interval,
            ws_ping_timeout=settings.ws_ping_timeout,
            # X-Forwarded-For/-Proto only from the proxies in FORWARDED_ALLOW_IPS (uvicorn's
            # own default would believe any process on 127.0.0.1), so that the address the
            # rate limits count is the client's own.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=list(settings.forwarded_allow_ips),
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=10,
        )


# The modules that declare jobs: the workers run them, the scheduler kicks their schedules.
JOB_MODULES = (
    "tasks.imports",
    "tasks.maintenance",
    "tasks.payments",
    "tasks.stats",
    "tasks.worklist",
    "tasks.workflows",
    "tasks.webhooks",
)


@main.command()
@click.option(
    "--processes",
    type=click.IntRange(1, MAX_WORKER_PROCESSES),
    default=None,
    help="worker processes (WORKER_PROCESSES)",
)
def worker(processes: int | None) -> None:
    """Run taskiq workers for the background jobs."""
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    with _services(_settings()) as settings:
        configure_logging(settings.log_level, json=settings.log_json)
        count = processes or settings.worker_processes
        status = run_worker(
            WorkerArgs.from_cli(
                [
                    "tasks.broker:broker",
                    *JOB_MODULES,
                    "--workers",
                    str(count),
                    "--shutdown-timeout",
                    "10",
                    "--no-configure-logging",
                ]
            )
        )
    sys.exit(status or 0)


@main.command()
def scheduler() -> None:
    """Run the taskiq scheduler that kicks scheduled jobs."""
    from taskiq.cli.scheduler.args import SchedulerArgs
    from taskiq.cli.scheduler.run import run_scheduler

    with _services(_settings()) as settings:
        configure_logging(settings.log_level, json=settings.log_json)
        asyncio.run(
            run_scheduler(
                SchedulerArgs.from_cli(
                    [
                        "tasks.broker:scheduler",
                        *JOB_MODULES,
                        "--skip-first-run",
                        "--no-configure-logging",
                    ]
                )
            )
        )


@main.command()
def relay() -> None:
    """Relay committed outbox events to Redis (one is active; others stand by)."""
    import gc

    import uvloop

    from channels.redis_backend import RedisBackend
    from tasks.relay import run_relay

    async def run(settings: Settings) -> None:
        from tasks.broker import make_broker
        from tasks.webhooks import webhook_handoff
        from tasks.workflows import message_handoff, workflow_handoff
        from tasks.worklist import assignment_handoff

        db = await Database.from_settings(
            settings, application_name="recoup-relay", max_size=2
        ).open()
        backend = RedisBackend(settings.redis_url or "", history_size=settings.channel_history)
        # Waits for Redis rather than exit without it (a relay restarted while Redis, or a
        # cluster's every node, is out of reach); its hand-offs kicked meanwhile are dropped
        # and counted, and the minute sweeps offer their work again.
        jobs = make_broker(settings.redis_url or "", settings.jobs_queue, wait_for_redis=True)
        await jobs.startup()
        # As in the web process: what is loaded by now lives as long as the process, out of
        # the collector's sight, so that its full collections walk only what batches leave.
        gc.freeze()

        try:
            await run_relay(
                db,
                backend,
                metrics_port=settings.relay_metrics_port,
                gather_seconds=settings.relay_gather_ms / 1000,
                mark_seconds=settings.relay_mark_ms / 1000,
                handoffs=[
                    assignment_handoff(jobs),
                    workflow_handoff(jobs),
                    message_handoff(jobs),
                    webhook_handoff(jobs),
                ],
            )
        finally:
            await jobs.shutdown()
            await backend.stop()
            await db.close()

    with _services(_settings()) as settings:
        configure_logging(settings.log_level, json=settings.log_json)
        with contextlib.suppress(KeyboardInterrupt):
            # uvloop, as the web process: under a trickle of commits the relay is mostly
            # its event loop's wake-ups and socket writes.
            uvloop.run(run(settings))


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _announce_when_ready(url: str, stop: threading.Event) -> None:
    from domain.demo import DEMO_PASSWORD, DEMO_USERS

    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        stop.wait(0.5)
    else:
        return
    logins = "\n".join(f"    {email:<24} {role}" for email, _, role, _ in DEMO_USERS)
    click.echo(
        f"\n  Recoup is running at {url}\n\n"
        f"  Demo logins (password: {DEMO_PASSWORD}):\n{logins}\n\n"
        f"  API docs: {url}/schema    Press Ctrl-C to stop.\n",
        err=False,
    )


@main.command()
@click.option("--no-seed", is_flag=True, help="skip creating the demo tenant")
@click.option(
    "--simulate",
    "with_simulation",
    is_flag=True,
    envvar="SIMULATE",
    help="also run `recoup simulate` (SIMULATE_AGENTS, SIMULATE_PACE, SIMULATE_DEBTORS)",
)
def dev(no_seed: bool, with_simulation: bool) -> None:
    """Everything for development: embedded servers, migrations, demo data, all processes.

    A process that dies is started again (server/supervise.py); Ctrl-C stops them all, then
    the embedded servers.
    """
    from server.supervise import Supervisor

    if with_simulation and no_seed:
        raise click.ClickException("--simulate drives the demo tenant: drop --no-seed")
    settings = _settings()
    if not no_seed:
        _no_demo_in_production(settings)
    if not _port_free(settings.host, settings.port):
        raise click.ClickException(
            f"port {settings.port} on {settings.host} is taken; set PORT to another one"
        )
    kept: list[Server] = []
    with _services(settings, kept=kept) as resolved:
        click.echo("preparing the database (migrations, demo tenant)...")
        created = asyncio.run(_prepare_database(resolved, seed=not no_seed))
        if created:
            click.echo("demo tenant created")
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": resolved.database_url or "",
                "REDIS_URL": resolved.redis_url or "",
                "HOST": resolved.host,
                "PORT": str(resolved.port),
                "RECOUP_DATA_DIR": str(resolved.data_dir),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.setdefault("LOG_JSON", "false")
        supervisor = Supervisor(dev_programs(env, simulate=with_simulation), servers=kept)
        stop = threading.Event()
        announcer = threading.Thread(
            target=_announce_when_ready, args=(resolved.base_url, stop), daemon=True
        )
        announcer.start()
        try:
            asyncio.run(supervisor.run())
        finally:
            stop.set()
        click.echo("stopping the embedded servers..." if resolved is not settings else "stopped")


# Production runs two relays (one active, one standing by); so does `recoup dev`.
DEV_COPIES = {"relay": 2}


def dev_programs(env: dict[str, str], *, simulate: bool = False) -> list[Program]:
    """The Procfile's processes as `recoup dev` runs them (relay.1, relay.2, ...)."""
    from server.supervise import Program

    programs = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if not command.strip() or name.strip().startswith("#"):
            continue
        name, argv = name.strip(), shlex.split(command)
        if argv[0] == "recoup":
            argv = [sys.executable, "-m", "server.cli", *argv[1:]]
        copies = DEV_COPIES.get(name, 1)
        for n in range(1, copies + 1):
            own = dict(env)
            if name == "relay" and env.get("RELAY_METRICS_PORT"):
                own["RELAY_METRICS_PORT"] = str(int(env["RELAY_METRICS_PORT"]) + n - 1)
            label = f"{name}.{n}" if copies > 1 else name
            programs.append(Program(label, argv, own, str(ROOT)))
    if simulate:
        argv = [sys.executable, "-m", "server.cli", "simulate", "--linger"]
        programs.append(Program("simulate", argv, env, str(ROOT)))
    return programs


main.add_command(simulate_command)
main.add_command(import_command)

if __name__ == "__main__":
    main()
