"""BENCHMARKS.md upkeep: one step's section replaced, the others kept, the machine described."""

from __future__ import annotations

from pathlib import Path

from guideqa.eval.bench_report import BENCHMARKS, STEPS, markdown_table, update_benchmarks
from guideqa.eval.bench_suite import BenchStep


def _step(name: str, value: float) -> BenchStep:
    rows = [{"clients": 1, "answers/s": value}, {"clients": 4, "answers/s": None, "note": "a|b"}]
    return BenchStep(name, f"guideqa bench {name}", rows, [f"measured {value}"])  # type: ignore[arg-type]


def test_markdown_table_has_every_column_and_escapes_pipes() -> None:
    table = markdown_table(_step("http", 12.5)).splitlines()
    assert table[0] == "| clients | answers/s | note |"
    assert table[2] == "| 1 | 12.5 |  |"
    assert table[3] == "| 4 |  | a/b |"


def test_a_step_replaces_only_its_own_section(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n<!-- machine -->\n(not measured yet)\n<!-- /machine -->\n")
    update_benchmarks([_step("http", 1.0)], path)
    update_benchmarks([_step("ask", 2.0)], path)
    update_benchmarks([_step("http", 3.0)], path)
    text = path.read_text()
    assert "measured 3.0" in text and "measured 1.0" not in text
    assert "measured 2.0" in text
    assert text.count("<!-- bench:http -->") == 1
    assert "(not measured yet)" in text.split("<!-- bench:ingest -->")[1].split("<!--")[0]
    machine = text.split("<!-- machine -->")[1].split("<!-- /machine -->")[0]
    assert "cores" in machine and "Python" in machine


def test_the_shipped_file_has_every_section() -> None:
    text = BENCHMARKS.read_text()
    assert all(text.count(f"<!-- bench:{name} -->") == 1 for name in STEPS)
    assert "<!-- machine -->" in text


def test_a_missing_file_gets_every_section(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    update_benchmarks([_step("scale", 4.0)], path)
    text = path.read_text()
    assert all(f"<!-- bench:{name} -->" in text for name in STEPS)
    assert "measured 4.0" in text
