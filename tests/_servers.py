"""Starting and stopping the real servers the tests talk to (uvicorn, ``foncier serve``): wait for ``/health``,
then stop them cleanly whatever happened."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx


def wait_healthy(base: str, proc: subprocess.Popen[Any], *, timeout_s: float = 60.0, poll_s: float = 0.2) -> None:
    """Return once ``GET {base}/health`` answers 200.

    Parameters
    ----------
    base : str
        The server's base URL (``http://127.0.0.1:PORT``).
    proc : subprocess.Popen
        The server's process: its exit ends the wait at once.
    timeout_s : float
        Longest wait, in seconds.
    poll_s : float
        Pause between two attempts, in seconds.

    Raises
    ------
    AssertionError
        When the process exits or ``timeout_s`` passes first; the message gives the exit code and, when the
        process's standard error is a pipe and the process has ended, its last 3,000 characters.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
            if isinstance(err, bytes):
                err = err.decode(errors="replace")
            raise AssertionError(f"the server at {base} did not start (exit code {proc.poll()}): {err[-3000:]}")
        time.sleep(poll_s)


def stop_process(proc: subprocess.Popen[Any], *, timeout_s: float = 10.0) -> None:
    """Terminate ``proc`` and wait for it; kill it when it has not ended after ``timeout_s`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
