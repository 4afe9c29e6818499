"""HTTP load benchmark against a running GuideQA server on this machine (loopback only).

    python -m guideqa.eval.load_http [--url http://127.0.0.1:8000] [--clients 16] [--seconds 30]
                             [--server-pid PID]

Bounded in time and in requests; reports answers per second, latency percentiles, failures
and, with --server-pid, the server's resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from guideqa.eval.benchmarks import DEFAULT_QUESTIONS, percentiles, read_questions

MAX_REQUESTS = 20_000


def _loopback_only(url: str) -> None:
    host = urlparse(url).hostname or ""
    if not (host.startswith("127.") or host in {"localhost", "::1"}):
        raise SystemExit(f"refusing to load-test {host}: only loopback addresses are allowed")


async def _client(
    url: str,
    questions: list[str],
    deadline: float,
    offset: int,
    latencies: list[float],
    failures: list[str],
) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        i = offset
        while time.monotonic() < deadline and len(latencies) + len(failures) < MAX_REQUESTS:
            question = questions[i % len(questions)]
            i += 1
            start = time.perf_counter()
            try:
                response = await client.post("/v1/ask", json={"question": question})
                if response.status_code == 200:
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    failures.append(f"{response.status_code}: {response.text[:120]}")
            except httpx.HTTPError as exc:
                failures.append(type(exc).__name__)


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


async def run(url: str, clients: int, seconds: float) -> dict[str, object]:
    """Drive `clients` concurrent askers for `seconds`."""
    questions = read_questions(DEFAULT_QUESTIONS)
    latencies: list[float] = []
    failures: list[str] = []
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(_client(url, questions, deadline, n * 7, latencies, failures) for n in range(clients))
    )
    elapsed = time.monotonic() - started
    if not latencies:  # nothing answered: say what failed rather than report empty timings
        raise SystemExit(
            f"no answer from {url} in {elapsed:.0f} s ({len(failures)} requests failed, e.g. "
            f"{failures[:1] or ['no request was sent']}): is the server running on that URL?"
        )
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "answers_per_second": round(len(latencies) / elapsed, 1),
        "failed": len(failures),
        "failures_sample": failures[:3],
        **percentiles(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--server-pid", type=int)
    args = parser.parse_args()
    _loopback_only(args.url)
    result = asyncio.run(run(args.url, args.clients, min(args.seconds, 300.0)))
    if args.server_pid:
        result["server_rss_mib"] = rss_mib(args.server_pid)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
