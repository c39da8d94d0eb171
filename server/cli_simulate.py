"""``recoup simulate``: the living demo (the simulator itself is the ``simulate`` package,
a client of the public API that knows nothing of Recoup's inside)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading

import click

from config.settings import SettingsError, get_settings


@click.command("simulate")
@click.option(
    "--agents",
    type=click.IntRange(1, 10_000),
    default=5,
    show_default=True,
    envvar="SIMULATE_AGENTS",
    help="collectors working their queues (the tenant's own first, then sim-agent-NNNN)",
)
@click.option(
    "--pace",
    type=click.FloatRange(0.05, 3600),
    default=4.0,
    show_default=True,
    envvar="SIMULATE_PACE",
    help="seconds between one agent's actions (each wait varies by half either way)",
)
@click.option(
    "--debtors",
    type=click.FloatRange(0, 6000),
    default=2.0,
    show_default=True,
    envvar="SIMULATE_DEBTORS",
    help="debtors paying through a payment link, per minute",
)
@click.option(
    "--duration",
    type=click.FloatRange(0, 7 * 24 * 3600),
    default=0,
    envvar="SIMULATE_DURATION",
    help="seconds to run  [default: until Ctrl-C]",
)
@click.option(
    "--supervisors",
    type=click.IntRange(0, 100),
    default=1,
    show_default=True,
    help="supervisors with a wallboard open (the event-to-screen figure is theirs)",
)
@click.option("--url", default=None, help="Recoup's address  [default: PUBLIC_URL or HOST:PORT]")
@click.option("--admin", "admin_email", default="admin@demo.test", show_default=True)
@click.option("--supervisor", "supervisor_email", default="supervisor@demo.test", show_default=True)
@click.option(
    "--password",
    default=None,
    help="the admin's, the supervisor's and the tenant's collectors'  [default: the demo's]",
)
@click.option("--seed", type=int, default=None, help="the same choices on every run")
@click.option(
    "--wait",
    type=click.FloatRange(0, 3600),
    default=60,
    show_default=True,
    help="seconds to wait for Recoup to answer before giving up",
)
@click.option("--json", "as_json", is_flag=True, help="print the summary as one JSON object")
@click.option("--linger", is_flag=True, hidden=True, help="after the end, wait to be stopped")
def simulate_command(
    agents: int,
    pace: float,
    debtors: float,
    duration: float,
    supervisors: int,
    url: str | None,
    admin_email: str,
    supervisor_email: str,
    password: str | None,
    seed: int | None,
    wait: float,
    as_json: bool,
    linger: bool,
) -> None:
    """Bring the demo tenant to life: collectors, wallboards and debtors, through the API."""
    import json

    from domain.demo import DEMO_PASSWORD
    from simulate.floor import FloorConfig, SimulationError
    from simulate.floor import simulate as run_floor
    from simulate.metrics import Metrics

    try:
        settings = get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.env == "production":
        raise click.ClickException(
            "the simulator creates users with a published password and fills the tenant "
            "with made-up activity: it does not run with RECOUP_ENV=production"
        )
    config = FloorConfig(
        base_url=(url or settings.base_url).rstrip("/"),
        agents=agents,
        supervisors=supervisors,
        pace=pace,
        debtors=debtors,
        duration=duration,
        admin_email=admin_email,
        supervisor_email=supervisor_email,
        password=password or DEMO_PASSWORD,
        seed=seed,
        ready_timeout=wait,
    )
    interrupted = False

    def stopped(metrics: Metrics) -> None:
        nonlocal interrupted
        interrupted = metrics.interrupted

    try:
        metrics = asyncio.run(
            run_floor(config, echo=lambda line: click.echo(line, err=as_json), on_end=stopped)
        )
    except SimulationError as exc:
        if not linger or interrupted:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Error: {exc}", err=True)
        metrics = None
    if metrics is not None:
        click.echo(json.dumps(metrics.figures()) if as_json else metrics.report())
    if linger and not interrupted:
        # Under `recoup dev`, a simulation that ended (its duration, or an error) leaves the
        # other processes running; Ctrl-C or SIGTERM ends this one as it does them.
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    if metrics is not None and metrics.error_count:
        sys.exit(1)
