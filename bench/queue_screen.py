"""The collector's queue screen with 500 tasks: time to show them, and time for a change made
elsewhere (a supervisor takes a task away, another one arrives) to appear on it.

Starts embedded PostgreSQL and Redis under .recoup/bench (or uses DATABASE_URL / REDIS_URL),
one `recoup web` and one `recoup relay`, makes a tenant whose collector holds 500 tasks,
and drives Debian's Chromium with Playwright. Prints medians of several runs.

    .venv/bin/python bench/queue_screen.py [--tasks 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
PASSWORD = "bench-password-1"


async def seed(database_url: str, tasks: int) -> tuple[str, str, int, list[int]]:
    """A tenant with a supervisor and a collector holding ``tasks`` tasks on as many accounts."""
    from config.settings import Settings
    from domain.auth.passwords import hash_password
    from domain.db import Database
    from domain.tenancy.service import create_tenant

    settings = Settings(database_url=database_url, redis_url="redis://unused")
    db = await Database.from_settings(settings, application_name="recoup-bench").open()
    slug = f"screen-{uuid.uuid4().hex[:8]}"
    hashed = await hash_password(PASSWORD)
    try:
        async with db.system() as conn:
            tenant = await create_tenant(conn, slug=slug, name="Queue screen bench", defaults=False)
            users = {}
            for role in ("supervisor", "collector", "collector"):
                email = f"{role}{len(users)}@{slug}.test"
                users[email] = await conn.fetchval(
                    """INSERT INTO users (tenant_id, email, name, password_hash, role, status,
                      capacity)
                    VALUES ($1, $2, $3, $4, $5, 'available', 10000) RETURNING id""",
                    tenant.id,
                    email,
                    f"{role.title()} {len(users)}",
                    hashed,
                    role,
                )
            collector = users[f"collector1@{slug}.test"]
            await conn.execute(
                """INSERT INTO debtors (tenant_id, external_ref, first_name, last_name, time_zone)
                SELECT $1, 'D' || n, 'Debtor', 'Number ' || n, 'America/New_York'
                FROM generate_series(1, $2) AS n""",
                tenant.id,
                tasks + 1,
            )
            await conn.execute(
                """INSERT INTO accounts (tenant_id, debtor_id, external_ref, currency, principal,
                  due_date, status)
                SELECT tenant_id, id, 'A' || external_ref, 'USD', 100 + id % 5000,
                  current_date - (id % 120)::int, 'active'
                FROM debtors WHERE tenant_id = $1""",
                tenant.id,
            )
            task_ids = [
                r["id"]
                for r in await conn.fetch(
                    """INSERT INTO tasks (tenant_id, account_id, type, priority, status,
                      assignee_id, assigned_at, assigned_by, strategy, created_at)
                    SELECT tenant_id, id, 'call', (id * 37 % 100), 'assigned', $2, now(),
                      'agent', '{"kind": "agent"}', now() - make_interval(mins => (id % 600)::int)
                    FROM accounts WHERE tenant_id = $1 ORDER BY id LIMIT $3 RETURNING id""",
                    tenant.id,
                    collector,
                    tasks,
                )
            ]
        return slug, f"collector1@{slug}.test", users[f"supervisor0@{slug}.test"], task_ids
    finally:
        await db.close()


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError("recoup web did not start")
        time.sleep(0.2)
    raise RuntimeError("recoup web did not become ready")


async def measure(
    base: str, slug: str, email: str, supervisor_id: int, task_ids: list[int], runs: int
) -> None:
    from playwright.async_api import async_playwright, expect

    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": f"supervisor0@{slug}.test", "password": PASSWORD}
        )
        boss = {"Authorization": f"Bearer {login.json()['access_token']}"}
        login = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        collector_id = (
            await http.get(
                "/api/v1/users/me",
                headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            )
        ).json()["id"]
        shown, removed, added = [], [], []
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = await (
                await browser.new_context(viewport={"width": 1440, "height": 900})
            ).new_page()
            await page.goto(f"{base}/login")
            await page.get_by_label("E-mail").fill(email)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_selector("#who:not(:empty)")
            for run in range(runs):
                await page.goto(f"{base}/queue")
                await expect(page.locator("#task-list li")).to_have_count(
                    len(task_ids), timeout=30_000
                )
                since_navigation = (
                    "performance.now() - performance.getEntriesByType('navigation')[0].startTime"
                )
                shown.append(await page.evaluate(since_navigation))
                await page.wait_for_selector("rc-connection[data-state='live']")
                # Taken away: the supervisor gives one task to someone else.
                victim = task_ids[run]
                await page.evaluate("window.__t0 = performance.now()")
                moved = await http.post(
                    f"/api/v1/tasks/{victim}/assign",
                    json={"assignee_id": supervisor_id},
                    headers=boss,
                )
                assert moved.status_code == 200, moved.text
                await page.wait_for_selector(f"#task-{victim}", state="detached")
                removed.append(await page.evaluate("performance.now() - window.__t0"))
                # Given back: it arrives again.
                await page.evaluate("window.__t0 = performance.now()")
                back = await http.post(
                    f"/api/v1/tasks/{victim}/assign",
                    json={"assignee_id": collector_id},
                    headers=boss,
                )
                assert back.status_code == 200, back.text
                await page.wait_for_selector(f"#task-{victim}")
                added.append(await page.evaluate("performance.now() - window.__t0"))
            await browser.close()
    print(f"{len(task_ids)} tasks in the list, {runs} runs, medians:")
    print(f" - page load to {len(task_ids)} rows shown: {statistics.median(shown):.0f} ms")
    print(f" - a task taken away (REST call to row gone): {statistics.median(removed):.0f} ms")
    print(f" - a task given (REST call to row shown): {statistics.median(added):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

    services = None
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        services = EmbeddedServices(ROOT / ".recoup" / "bench", database="recoup_bench")
        started = services.start(need_postgres=not database_url, need_redis=not redis_url)
        database_url, redis_url = database_url or started[0], redis_url or started[1]
    port = 18710
    env = {
        **os.environ,
        "DATABASE_URL": database_url or "",
        "REDIS_URL": redis_url or "",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "LOGIN_LIMIT_PER_IP": "100000",
    }
    recoup = [sys.executable, "-m", "server.cli"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([*recoup, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        slug, email, supervisor_id, task_ids = asyncio.run(seed(database_url or "", args.tasks))
        processes.append(subprocess.Popen([*recoup, "web"], env=env, cwd=ROOT))
        processes.append(subprocess.Popen([*recoup, "relay"], env=env, cwd=ROOT))
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, processes[0])
        asyncio.run(measure(base, slug, email, supervisor_id, task_ids, args.runs))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
