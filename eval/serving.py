"""A real `guideqa serve` process on loopback, for the soak and the HTTP/startup benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start_server(
    index: Path, port: int, log: Path, extra_env: dict[str, str], ready_within_s: float = 300.0
) -> tuple[subprocess.Popen[bytes], float]:
    """Start `guideqa serve` on `index`; returns the process and seconds until /readyz is OK.

    Load generators run from one address, so loopback is exempt from the rate limit."""
    env = {
        **os.environ,
        "GUIDEQA_INDEX_DIR": str(index),
        "GUIDEQA_SERVER__RATE_LIMIT_EXEMPT": '["127.0.0.1"]',
        "GUIDEQA_SERVER__LOG_LEVEL": "warning",
        **extra_env,
    }
    command = [sys.executable, "-m", "guideqa.api.cli", "serve", "--port", str(port)]
    started = time.perf_counter()
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/readyz"
    while time.perf_counter() - started < ready_within_s:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return server, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"the server exited: see {log}")
        time.sleep(0.05)
    server.terminate()
    raise SystemExit(f"the server did not become ready in {ready_within_s:.0f} s: see {log}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Terminate and reap the server (kill it if it does not stop in 10 s)."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
