"""The soak report: per-minute rows and the verdict, on synthetic events (the soak itself runs
a real server for minutes and is not part of the test suite)."""

from __future__ import annotations

from guideqa.eval.soak import Event, Soak, markdown, per_minute, verdict


def _soak(events: list[Event], rss: list[tuple[float, float]], minutes: int = 3) -> Soak:
    soak = Soak("http://127.0.0.1:1", "t", deadline=60.0 * minutes, started=0.0, questions=[])
    soak.events, soak.rss = events, rss
    return soak


def test_rows_per_whole_minute_with_errors_and_rss() -> None:
    events = [Event(10, "ask", 200, 100), Event(70, "ask", 503, 900), Event(75, "read", 200, 5)]
    events.append(Event(185, "ask", 200, 50_000))  # finished after the deadline: not counted
    rows = per_minute(_soak(events, [(5, 500.0), (65, 520.0), (125, 530.0)]))
    assert [r["requests"] for r in rows] == [1, 2, 0]
    assert rows[1]["errors"] == {"503": 1} and rows[1]["rss_mib"] == 520.0
    assert rows[2]["p99_ms"] is None
    assert "| 2 | 2 | 503: 1 |" in markdown({"per_minute": rows})


def test_verdict_needs_no_5xx_flat_p99_and_bounded_memory_growth() -> None:
    ok = [Event(m * 60 + 1, "ask", 200, 100) for m in range(4)]
    rss = [(m * 60 + 1, 500.0 + m) for m in range(4)]
    assert verdict(per_minute(_soak(ok, rss, 4)), ok)["passed"]
    failing = [*ok, Event(30, "ask", 500, 10)]
    assert not verdict(per_minute(_soak(failing, rss, 4)), failing)["passed"]
    grown = [(m * 60 + 1, 500.0 * (1 + 0.1 * m)) for m in range(4)]
    result = verdict(per_minute(_soak(ok, grown, 4)), ok)
    assert not result["passed"] and result["rss_growth_after_warmup"] > 0.1
    slow = [*ok[:3], Event(181, "ask", 200, 1000)]
    assert not verdict(per_minute(_soak(slow, rss, 4)), slow)["p99_flat"]
