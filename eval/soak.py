"""Soak test: a real server on loopback under a mixed load for minutes (not run in CI).

    python -m guideqa.eval.soak [--minutes 10] [--clients 50] [--index .guideqa/index] [--out FILE]

The server runs on a copy of the published index, with a write token, so that two of the
clients can upload and delete documents while the others ask, follow up and read documents.
Reported per minute: requests, errors by status, latency p50/p95/p99 and the server's resident
memory. Targets: no 5xx, a flat p99, and RSS growth under 10% after the first minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from guideqa.eval.benchmarks import DEFAULT_QUESTIONS, read_questions
from guideqa.eval.load_http import rss_mib
from guideqa.eval.serving import free_port, start_server
from guideqa.index.versions import current_version, versions_dir

FOLLOW_UPS = ("What about in pregnancy?", "And in older adults?", "What is the dose?", "and it?")
CURATORS = 2  # clients that upload and delete; the rest ask, follow up and read


@dataclass
class Event:
    """One request: when it finished (seconds from the start), what it was, how it went."""

    at: float
    action: str
    status: int
    ms: float


@dataclass
class Soak:
    """Shared state of one run."""

    url: str
    token: str
    deadline: float
    started: float
    questions: list[str]
    events: list[Event] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)


async def _timed(soak: Soak, action: str, call) -> httpx.Response | None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    response: httpx.Response | None = None
    try:
        response = await call
        status = response.status_code
    except httpx.HTTPError:
        status = 0  # no response at all: counted as an error
    now = time.monotonic() - soak.started
    soak.events.append(Event(now, action, status, (time.perf_counter() - start) * 1000))
    return response


async def _clinician(soak: Soak, client: httpx.AsyncClient, rng: random.Random) -> None:
    doc_ids: list[str] = []
    while time.monotonic() < soak.deadline:
        roll = rng.random()
        if roll < 0.6:
            body = {"question": rng.choice(soak.questions)}
            answer = await _timed(soak, "ask", client.post("/v1/ask", json=body))
            if answer is not None and answer.status_code == 200 and rng.random() < 0.5:
                conversation = answer.json()["conversation_id"]
                follow = {"question": rng.choice(FOLLOW_UPS), "conversation_id": conversation}
                await _timed(soak, "follow-up", client.post("/v1/ask", json=follow))
                doc_ids += [r["doc_id"] for r in answer.json()["references"][:2]]
        elif roll < 0.85 and doc_ids:
            doc_id = doc_ids.pop(rng.randrange(len(doc_ids)))
            await _timed(soak, "read", client.get(f"/v1/documents/{doc_id}"))
        else:
            await _timed(soak, "list", client.get("/v1/documents", params={"limit": 20}))


async def _curator(soak: Soak, client: httpx.AsyncClient, number: int) -> None:
    headers = {"Authorization": f"Bearer {soak.token}"}
    round_ = 0
    while time.monotonic() < soak.deadline:
        round_ += 1
        doc_id = f"soak-{number}-{round_}"
        text = (
            f"---\nid: {doc_id}\ntitle: Soak note {number}-{round_}\nkind: guideline\n---\n"
            "# Recommendation\n\nOffer annual influenza vaccination to adults with chronic "
            "kidney disease.\n"
        )
        files = {"file": (f"{doc_id}.md", text.encode(), "text/markdown")}
        up = client.post("/v1/documents", headers=headers, files=files)
        if (await _timed(soak, "upload", up)) is not None:
            await asyncio.sleep(5)
            await _timed(soak, "read", client.get(f"/v1/documents/{doc_id}"))
            gone = client.delete(f"/v1/documents/{doc_id}", headers=headers)
            await _timed(soak, "delete", gone)
        await asyncio.sleep(30)  # each write republishes the index: about 10 s of CPU here


async def _sample_rss(soak: Soak, pid: int) -> None:
    while time.monotonic() < soak.deadline:
        value = rss_mib(pid)
        if value is not None:
            soak.rss.append((time.monotonic() - soak.started, value))
        await asyncio.sleep(5)


async def _drive(soak: Soak, clients: int, pid: int) -> None:
    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(base_url=soak.url, timeout=60, limits=limits) as client:
        tasks = [_curator(soak, client, n) for n in range(CURATORS)]
        tasks += [_clinician(soak, client, random.Random(n)) for n in range(clients - CURATORS)]
        await asyncio.gather(_sample_rss(soak, pid), *tasks)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))], 1)


def per_minute(soak: Soak) -> list[dict[str, object]]:
    """One row per minute: requests, errors by status, latency percentiles and RSS."""
    rows = []
    # whole minutes only: requests still in flight at the deadline finish in a partial minute
    minutes = max(1, round((soak.deadline - soak.started) / 60))
    for minute in range(minutes):
        events = [e for e in soak.events if minute * 60 <= e.at < (minute + 1) * 60]
        latencies = [e.ms for e in events]
        errors: dict[str, int] = {}
        for event in events:
            if event.status >= 400 or event.status == 0:
                errors[str(event.status)] = errors.get(str(event.status), 0) + 1
        rss = [v for t, v in soak.rss if minute * 60 <= t < (minute + 1) * 60]
        rows.append(
            {
                "minute": minute + 1,
                "requests": len(events),
                "errors": errors,
                "p50_ms": _percentile(latencies, 0.5) if latencies else None,
                "p95_ms": _percentile(latencies, 0.95) if latencies else None,
                "p99_ms": _percentile(latencies, 0.99) if latencies else None,
                "rss_mib": max(rss) if rss else None,
            }
        )
    return rows


def verdict(rows: list[dict[str, object]], events: list[Event]) -> dict[str, object]:
    """The targets: zero 5xx, p99 flat (last minute within 1.5x of the second), RSS growth
    after warm-up under 10%. Warm-up is the first two minutes: the first upload loads the
    ingest model into the server and the first swaps hold two index versions for a moment."""
    server_errors = sum(1 for e in events if e.status >= 500 or e.status == 0)
    rss = [float(r["rss_mib"]) for r in rows if r["rss_mib"] is not None]  # type: ignore[arg-type]
    p99 = [float(r["p99_ms"]) for r in rows if r["p99_ms"] is not None]  # type: ignore[arg-type]
    base = rss[1] if len(rss) > 2 else rss[0] if rss else 0.0
    growth = (rss[-1] - base) / base if base else 0.0
    flat = len(p99) < 3 or p99[-1] <= 1.5 * p99[1]
    return {
        "server_errors": server_errors,
        "rss_growth_after_warmup": round(growth, 3),
        "p99_flat": flat,
        "passed": server_errors == 0 and growth < 0.10 and flat,
    }


def _copy_published(source: Path, target: Path) -> None:
    name = current_version(source)
    if name is None:
        raise SystemExit(f"no published index at {source}: run `make build` first")
    shutil.copytree(versions_dir(source) / name, versions_dir(target) / name)
    (target / "CURRENT").write_text(name + "\n")


def _start_server(
    index: Path, token: str, port: int, log: Path, extra_env: dict[str, str]
) -> subprocess.Popen[bytes]:
    server, _ = start_server(index, port, log, {"GUIDEQA_API_TOKEN": token, **extra_env})
    return server


def run(
    index: Path, minutes: float, clients: int, extra_env: dict[str, str] | None = None
) -> dict[str, object]:
    """Start a server on a copy of the index, drive it, stop it, and report."""
    extra_env = extra_env or {}
    with tempfile.TemporaryDirectory(prefix="guideqa-soak-") as tmp:
        copy = Path(tmp) / "index"
        _copy_published(index, copy)
        token, port, log = secrets.token_urlsafe(24), free_port(), Path(tmp) / "server.log"
        server = _start_server(copy, token, port, log, extra_env)
        try:
            started = time.monotonic()
            soak = Soak(
                f"http://127.0.0.1:{port}",
                token,
                started + minutes * 60,
                started,
                read_questions(DEFAULT_QUESTIONS),
            )
            asyncio.run(_drive(soak, clients, server.pid))
        finally:
            server.terminate()
            server.wait(30)
        server_log = log.read_text(errors="replace")
    rows = per_minute(soak)
    return {
        "minutes": minutes,
        "clients": clients,
        "requests": len(soak.events),
        "by_action": {a: _action_summary(soak, a) for a in _actions(soak)},
        "per_minute": rows,
        "tracebacks_in_server_log": server_log.count("Traceback"),
        **verdict(rows, soak.events),
    }


def _actions(soak: Soak) -> list[str]:
    return sorted({e.action for e in soak.events})


def _action_summary(soak: Soak, action: str) -> dict[str, float]:
    latencies = [e.ms for e in soak.events if e.action == action]
    return {
        "n": len(latencies),
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
    }


def markdown(result: dict[str, object]) -> str:
    """The per-minute table for the README or a closing note."""
    lines = [
        "| minute | requests | errors | p50 ms | p95 ms | p99 ms | server RSS MiB |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in result["per_minute"]:  # type: ignore[attr-defined]
        errors = ", ".join(f"{k}: {v}" for k, v in row["errors"].items()) or "none"
        lines.append(
            f"| {row['minute']} | {row['requests']} | {errors} | {row['p50_ms']} | "
            f"{row['p95_ms']} | {row['p99_ms']} | {row['rss_mib']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--index", type=Path, default=Path(".guideqa/index"))
    parser.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    parser.add_argument(
        "--server-env", action="append", default=[], help="KEY=VALUE for the server process"
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.server_env)
    result = run(args.index, args.minutes, max(args.clients, CURATORS + 1), extra)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    print(markdown(result))
    print(json.dumps({k: v for k, v in result.items() if k != "per_minute"}, indent=2))


if __name__ == "__main__":
    main()
