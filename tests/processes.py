"""Real processes for the crash tests and the notifications benchmark: a private Redis on a
port of its own, Celery workers started as the production command starts them (prefork,
each in a process group of its own, so that a SIGKILL takes the whole worker down as a
crash would), and the switch of this process's Celery app to that Redis.

Nothing here touches the machine's shared Redis: each user starts its own server on a free
port and stops it at the end.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """The DATABASE_URL of a connection's settings (the live test database's name too)."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class PrivateRedis:
    """A redis-server of this test's or bench's own (no persistence), stopped and started
    again on the same port at will."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Stop at once (SIGKILL: nothing kept, as a crashed broker without persistence)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def __enter__(self) -> "PrivateRedis":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (the services' after-commit sends) at ``url``, and
    back to its own broker afterwards."""
    from kombu import pools

    from config.celery import app

    def reset() -> None:
        # The app's pools come from kombu's registries, keyed by URL: a later server on the
        # same port must not find the closed pool of an earlier one.
        pools.reset()
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    before = app.conf.broker_url
    reset()
    app.conf.update(broker_url=url)
    try:
        yield
    finally:
        reset()
        app.conf.update(broker_url=before)


class Worker:
    """One ``celery -A config worker`` (prefork) in a process group of its own, with
    ``-B`` (beat, for the sweeps) unless told otherwise. Its log is kept in a file."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        concurrency: int = 2,
        queues: str = "default,outbox,notifications",
        beat: bool = True,
        name: str = "w",
        pool: str = "prefork",
        python: Sequence[str] = (),
    ) -> None:
        self.env = dict(env)
        self.concurrency = concurrency
        self.queues = queues
        self.beat = beat
        self.name = name
        self.pool = pool
        self.python = list(python)  # options of the interpreter (e.g. -m cProfile -o FILE)
        self.dir = Path(tempfile.mkdtemp(prefix=f"parkshare-worker-{name}-"))
        self.log_path = self.dir / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: float = 60.0) -> "Worker":
        command = [
            sys.executable, *self.python, "-m", "celery", "-A", "config", "worker",
            "-Q", self.queues, "--concurrency", str(self.concurrency), "--pool", self.pool,
            "--loglevel", "INFO", "-n", f"{self.name}-{os.getpid()}-{time.monotonic_ns()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if self.beat:
            command += ["-B", "-s", str(self.dir / "beat-schedule")]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg takes all of it
        )
        log.close()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited at start:\n{self.log()[-3000:]}")
            if " ready." in self.log():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the worker was not ready in {wait} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL to the whole process group: the main process, its pool and beat die
        at once, their tasks half done, nothing acknowledged or given back."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self, *, timeout: float = 15.0) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL if it takes longer than ``timeout``."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        self.kill()


def worker_env(*, database_url: str, broker_url: str, **extra: str | float) -> dict[str, str]:
    """This process's environment for a worker: its database and broker, and ``extra``
    settings (the sweeps' intervals, the leases, the retry schedule...)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        PYTHONPATH=str(BASE_DIR),
        # No stray output buffering between the log and a kill.
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env
