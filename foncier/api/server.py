"""Several server processes on one port, each with its own listening socket (``SO_REUSEPORT``).

uvicorn's ``--workers`` binds one socket in the parent and shares it: the workers race on one accept queue
and the kernel wakes the most recent waiter first, so a few long-lived keep-alive clients (a map panning
over tiles, a benchmark's 16 connections) end up mostly on one worker while the others idle (measured here:
one of two workers did 94 % of the work). On Linux, each worker here binds its own socket to the same
address with ``SO_REUSEPORT``; the kernel then spreads new connections over the sockets by a hash of their
addresses and ports, i.e. evenly. Where ``SO_REUSEPORT`` is missing, uvicorn's shared socket is used.

The workers are spawned processes building the app from the ``FONCIER_API_*`` environment
(:func:`foncier.api.app.create_app_from_env`); a worker that dies is started again.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from foncier.errors import ServerError

logger = logging.getLogger(__name__)

APP_FACTORY = "foncier.api.app:create_app_from_env"
#: Pending connections per worker socket
BACKLOG = 2048
#: A worker stopping sooner than this after its start counts as a failed start
MIN_UPTIME_S = 10.0


def reuse_port_supported() -> bool:
    """Whether the kernel spreads connections over ``SO_REUSEPORT`` sockets (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listening(host: str, port: int) -> bool:
    """Whether something already accepts connections on ``host:port`` (a wildcard host is asked on loopback)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_port_free(host: str, port: int) -> None:
    """Refuse to start on ``host:port`` when a server already answers there.

    Raises
    ------
    foncier.errors.ServerError
        Naming the address and what to do.
    """
    if port and _listening(host, port):
        raise ServerError(f"{host}:{port} is already in use (another server answers there); stop it or choose "
                          "another --port")  # fmt: skip


def reuse_port_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (listening unless ``listen`` is false).

    Raises
    ------
    OSError
        When the address cannot be bound (in use by a process without ``SO_REUSEPORT``, not local...).
    """
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, access_log: bool) -> None:  # pragma: no cover - runs in the child process
    import uvicorn

    sock = reuse_port_socket(host, port)
    config = uvicorn.Config(APP_FACTORY, factory=True, access_log=access_log, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(host: str, port: int, workers: int, *, access_log: bool = False) -> None:
    """Serve the app of the ``FONCIER_API_*`` environment with ``workers`` processes on ``host:port``.

    Blocks until SIGINT or SIGTERM, then stops the workers (each finishes its requests in progress).

    Raises
    ------
    foncier.errors.ServerError
        When ``host:port`` is already served (by another program, or by another foncier server, which
        ``SO_REUSEPORT`` would otherwise let share the port silently) or cannot be bound, or when the workers
        keep stopping right after their start.
    """
    if not reuse_port_supported():
        import uvicorn

        logger.info("SO_REUSEPORT unavailable: uvicorn's shared socket")
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, access_log=access_log,
                    log_level="warning")  # fmt: skip
        return
    ensure_port_free(host, port)
    # bound (not listening) while the workers start: the address is checked, and port 0 becomes one port
    try:
        probe = reuse_port_socket(host, port, listen=False)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    port = probe.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    stopping = False

    started: dict[int, float] = {}
    quick_exits = 0

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(host, port, access_log), name="foncier-api-worker")
        process.start()
        started[id(process)] = time.monotonic()
        return process

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        processes = [start() for _ in range(workers)]
        logger.info("%d workers on %s:%d (SO_REUSEPORT), pids %s", workers, host, port,
                    [p.pid for p in processes])  # fmt: skip
        probe.close()
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if not stopping and process.exitcode is not None:
                    logger.warning("worker %s stopped (exit code %s): starting another", process.pid,
                                   process.exitcode)  # fmt: skip
                    if time.monotonic() - started.pop(id(process), 0.0) < MIN_UPTIME_S:
                        quick_exits += 1
                        if quick_exits > 2 * workers:
                            raise ServerError(f"the API workers keep stopping within {MIN_UPTIME_S:g} s of their "
                                               "start (see their messages above)")  # fmt: skip
                    processes[i] = start()
    finally:
        probe.close()
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)  # uvicorn: graceful shutdown
        for process in processes:
            process.join(timeout=30)
            if process.exitcode is None:
                process.kill()
        for s, handler in previous.items():
            signal.signal(s, handler)
