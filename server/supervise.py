"""The processes of ``recoup dev``, kept running: one that dies is started again.

honcho (which ran them before) ends every process when one exits, and supervisord has no
foreground mode that prefixes each line with its process and gives up (FATAL) after a few
quick failures, so this is a small asyncio supervisor of our own. Each program runs in its
own process group (a worker's children go with it); one that exits is restarted after a
backoff that doubles from ``backoff`` to ``backoff_max`` and starts over once the program
has stayed up ``stable_after`` seconds. Only SIGINT, SIGTERM or SIGHUP stop the set: every
group gets SIGTERM, then SIGKILL after ``stop_timeout``; a second signal kills at once.

The embedded PostgreSQL and Redis are daemons (several runs may share them), not children:
they are watched as ``Server``s, through a pidfd where Linux has one, and started again
with the same backoff when they end. Stopping them is left to whoever started them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Program:
    """One process to keep running: ``name`` in the log, ``argv`` run in ``cwd``."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: str | None = None


@dataclass(frozen=True)
class Server:
    """A daemon to keep running that is not our child: ``pid`` finds it (None when it is
    not running), ``start`` (blocking; run in a thread) starts it again."""

    name: str
    pid: Callable[[], int | None]
    start: Callable[[], object]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs: a process that ended but was not yet reaped (a zombie) does not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_exit(returncode: int) -> str:
    """``exited with code 1`` or ``was killed by SIGKILL``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM if the supervisor itself is killed,
    so that a ``kill -9`` of ``recoup dev`` leaves no program behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Running:
    program: Program
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    pumps: list[asyncio.Task[None]] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        programs: Sequence[Program],
        *,
        servers: Sequence[Server] = (),
        backoff: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 10.0,
        stop_timeout: float = 10.0,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.programs = list(programs)
        self.servers = list(servers)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self.out = out or sys.stdout
        self.clock = clock
        self._running = {program.name: _Running(program) for program in self.programs}
        names = [p.name for p in self.programs] + [s.name for s in self.servers]
        self._width = max([len(name) for name in names] + [len("supervisor")])
        self._stopping: asyncio.Event | None = None
        self._killing = False

    # -- output --------------------------------------------------------------------------

    def _write(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.out.write(f"{stamp} {name:<{self._width}} | {line}\n")
        self.out.flush()

    def say(self, line: str) -> None:
        self._write("supervisor", line)

    async def _pump(self, name: str, fd: int) -> None:
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=1 << 20, loop=loop)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream, loop=loop), os.fdopen(fd, "rb", 0)
        )
        try:
            while True:
                try:
                    raw = await stream.readline()
                except ValueError:  # a line beyond the limit: take what there is
                    raw = await stream.read(1 << 20)
                if not raw:
                    return
                self._write(name, raw.decode(errors="replace").rstrip("\n"))
        finally:
            transport.close()

    # -- one program ---------------------------------------------------------------------

    def next_delay(self, delay: float, up_for: float) -> tuple[float, float]:
        """(the wait before this restart, the wait before the one after) for a program that
        stayed up ``up_for`` seconds and would have waited ``delay``."""
        if up_for >= self.stable_after:
            delay = self.backoff
        return delay, min(delay * 2, self.backoff_max)

    async def _spawn(self, running: _Running) -> asyncio.subprocess.Process:
        program = running.program
        # Its output through a pipe of our own rather than the process's: asyncio's wait()
        # would otherwise wait for the pipe too, held open by any child left behind.
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *program.argv,
                env=dict(program.env) if program.env is not None else None,
                cwd=program.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                start_new_session=True,  # its own group: Ctrl-C reaches us, not it, and
                # its children are signalled with it
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        running.process = process
        running.started = self.clock()
        running.pumps = [asyncio.create_task(self._pump(program.name, read_fd))]
        self.say(f"started {program.name} (pid {process.pid})")
        return process

    async def _keep(self, running: _Running) -> None:
        assert self._stopping is not None
        delay = self.backoff
        name = running.program.name
        while not self._stopping.is_set():
            try:
                process = await self._spawn(running)
            except OSError as exc:
                self.say(f"could not start {name}: {exc}")
                returncode = None
            else:
                returncode = await process.wait()
                # Whatever the program left in its group (a worker's children) goes with it,
                # and with them the last writers of its output.
                self._signal_group(process.pid, signal.SIGKILL)
                _, late = await asyncio.wait(running.pumps, timeout=5)
                for pump in late:  # a child that left the group holds the pipe: let it be
                    pump.cancel()
            if self._stopping.is_set():
                return
            up_for = self.clock() - running.started
            wait, delay = self.next_delay(delay, up_for)
            pid = f" (pid {process.pid})" if returncode is not None else ""
            how = describe_exit(returncode) if returncode is not None else "did not start"
            self.say(f"{name}{pid} {how} after {up_for:.1f} s; restarting in {wait:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)

    # -- one server ----------------------------------------------------------------------

    async def _stopped_within(self, seconds: float) -> bool:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _ended(self, pid: int) -> None:
        """Return once process ``pid`` has ended, or the set is stopping."""
        assert self._stopping is not None
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        except (AttributeError, OSError):  # no pidfd here: look once a second
            while pid_alive(pid) and not await self._stopped_within(1.0):
                pass
            return
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        loop.add_reader(fd, lambda: ended.done() or ended.set_result(None))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait([ended, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(fd)
            os.close(fd)
            stopping.cancel()

    async def _watch(self, server: Server) -> None:
        assert self._stopping is not None
        delay = self.backoff
        pid = await asyncio.to_thread(server.pid)
        if pid is not None:
            self.say(f"keeping {server.name} (pid {pid}) running")
        since = self.clock()
        while not self._stopping.is_set():
            if pid is not None:
                await self._ended(pid)
                if self._stopping.is_set():
                    return
                up_for = self.clock() - since
                wait, delay = self.next_delay(delay, up_for)
                self.say(
                    f"{server.name} (pid {pid}) ended after {up_for:.1f} s; "
                    f"restarting in {wait:g} s"
                )
            else:
                wait, delay = delay, min(delay * 2, self.backoff_max)
                self.say(f"{server.name} is not running; starting it in {wait:g} s")
            if await self._stopped_within(wait):
                return
            try:
                await asyncio.to_thread(server.start)
                pid = await asyncio.to_thread(server.pid)
            except Exception as exc:
                pid = None
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                self.say(f"could not start {server.name}: {reason}")
            else:
                self.say(f"started {server.name} (pid {pid})")
            since = self.clock()

    def pid(self, name: str) -> int | None:
        """The process id of ``name`` while it runs (a new one after each restart)."""
        process = self._running[name].process
        return process.pid if process is not None and process.returncode is None else None

    # -- the set -------------------------------------------------------------------------

    @staticmethod
    def _signal_group(pid: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)

    def stop(self, signum: int | None = None) -> None:
        """Stop every program (from a signal handler too); a second call kills at once."""
        assert self._stopping is not None
        if self._stopping.is_set():
            if not self._killing:
                self._killing = True
                self.say("stopping now (SIGKILL)")
                self._signal_all(signal.SIGKILL)
            return
        reason = f" on {signal.Signals(signum).name}" if signum else ""
        self.say(f"stopping every process{reason}")
        self._stopping.set()
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, signum: int) -> None:
        for running in self._running.values():
            if running.process is not None:
                self._signal_group(running.process.pid, signum)

    async def run(self, *, handle_signals: bool = True) -> None:
        """Run until :meth:`stop` (or SIGINT/SIGTERM/SIGHUP) and every program has ended."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if handle_signals else ()
        for signum in signals:
            loop.add_signal_handler(signum, self.stop, signum)
        keepers = [asyncio.create_task(self._keep(r)) for r in self._running.values()]
        watchers = [asyncio.create_task(self._watch(server)) for server in self.servers]
        try:
            await self._stopping.wait()
            for tasks in (keepers, watchers):  # (a server being started finishes starting)
                if tasks:
                    await asyncio.wait(tasks, timeout=self.stop_timeout)
            if not all(keeper.done() for keeper in keepers):
                late = [
                    r.program.name
                    for r in self._running.values()
                    if r.process is not None and r.process.returncode is None
                ]
                self.say(f"{', '.join(late)} still running after {self.stop_timeout:g} s: SIGKILL")
                self._signal_all(signal.SIGKILL)
                await asyncio.gather(*keepers, return_exceptions=True)
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)
            for task in keepers + watchers:
                task.cancel()
            self._signal_all(signal.SIGKILL)  # nothing outlives the supervisor
        self.say("every process stopped")
