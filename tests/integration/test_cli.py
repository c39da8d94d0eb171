"""The `recoup` command: real subprocesses against the test database."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from tests.conftest import RECOUP, recoup_env

ROOT = Path(__file__).resolve().parents[2]


def recoup(settings, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [*RECOUP, *args],
        cwd=ROOT,
        env=recoup_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_tenant_and_user_creation_from_the_command_line(settings, client) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    made = recoup(settings, "tenant", "create", "--slug", slug, "--name", "CLI Recoveries")
    assert made.returncode == 0, made.stderr
    assert f"tenant {slug} created" in made.stdout
    email = f"boss@{slug}.test"
    user = recoup(
        settings,
        "user",
        "create",
        "--tenant",
        slug,
        "--email",
        email,
        "--name",
        "Boss",
        "--role",
        "admin",
        "--password",
        "a long password",
    )
    assert user.returncode == 0, user.stderr
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "a long password"}
    )
    assert login.status_code == 200


async def test_bad_input_gets_a_readable_message_and_exit_code(settings, demo) -> None:
    cases = [
        (("tenant", "create", "--slug", "Not A Slug", "--name", "x"), "slug"),
        (
            (
                "user",
                "create",
                "--tenant",
                "no-such-tenant",
                "--email",
                "a@b.test",
                "--name",
                "A",
                "--password",
                "a long password",
            ),
            "no tenant",
        ),
        (
            (
                "user",
                "create",
                "--tenant",
                "demo",
                "--email",
                "not-an-email",
                "--name",
                "A",
                "--password",
                "a long password",
            ),
            "e-mail",
        ),
        (
            (
                "user",
                "create",
                "--tenant",
                "demo",
                "--email",
                "x@demo.test",
                "--name",
                "A",
                "--password",
                "short",
            ),
            "password",
        ),
        (("worker", "--processes", "0"), "'--processes': 0 is not in the range 1<=x<=64"),
        (("import", "/dev/zero", "--mapping", "m"), "is not a regular file"),
    ]
    for args, words in cases:
        result = recoup(settings, *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, result.stderr
        assert words in result.stderr, result.stderr


def test_migrate_is_idempotent(settings) -> None:
    result = recoup(settings, "migrate")
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stdout
