"""Real `recoup worker` and `recoup scheduler` processes on a stream of jobs of their own
(JOBS_QUEUE), so that no other test's worker takes their jobs: each in its own process group
(a kill takes taskiq's worker processes with it), all logging to one file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from typing import Any

from config.settings import Settings
from tests.conftest import RECOUP, ROOT, recoup_env


class JobProcesses:
    def __init__(self, settings: Settings, name: str, **env: str) -> None:
        self.queue = f"recoup:jobs:{name}-{uuid.uuid4().hex[:8]}"
        self.env = recoup_env(settings, JOBS_QUEUE=self.queue, **env)
        self.log_path = ROOT / ".recoup" / f"test-{name}-{self.queue[-8:]}.log"
        self.log = self.log_path.open("wb")
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, command: str = "worker") -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [*RECOUP, command],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """kill -9 of the process and its children (taskiq's worker processes)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.log.close()

    def lines(self) -> list[dict[str, Any]]:
        """The log, a JSON object a line (LOG_JSON), anything else as its ``event``."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": line})
        return out
