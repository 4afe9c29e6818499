"""Tables for `guideqa bench`, and eval/BENCHMARKS.md kept current one section at a time."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # this module stays light: the CLI reads STEPS when it starts
    from guideqa.eval.bench_suite import BenchStep

BENCHMARKS = Path(__file__).parent / "BENCHMARKS.md"
STEPS = (
    "ingest",
    "ask",
    "http",
    "scale",
    "startup",
    "ray",
    "backends",
)  # in the order `bench all` runs them
_CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
_PACKAGES = ("torch", "onnxruntime", "faiss-cpu", "bm25s", "sentence-transformers")


def markdown_table(step: BenchStep) -> str:
    """The step's rows as a Markdown table (columns in first-seen order)."""
    columns: list[str] = []
    for row in step.rows:
        columns += [c for c in row if c not in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in step.rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "/")


def machine_description() -> str:
    """CPU model, cores, memory, the vector instructions that matter, library versions."""
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    flag_line = re.search(r"flags\s*:\s*(.+)", cpuinfo)
    flags = set(flag_line.group(1).split()) if flag_line else set()
    mem = re.search(r"MemTotal:\s*(\d+)", _read("/proc/meminfo"))
    versions = []
    for package in _PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    parts = [
        model.group(1).strip() if model else platform.processor(),
        f"{os.cpu_count()} cores",
        f"{int(mem.group(1)) / 2**20:.0f} GiB RAM" if mem else "RAM unknown",
        " ".join(f for f in _CPU_FLAGS if f in flags) or "no AVX-512/AMX",
        f"Linux {platform.release()}, Python {platform.python_version()}",
        ", ".join(versions),
    ]
    return "; ".join(parts)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def render_step(step: BenchStep) -> str:
    """One BENCHMARKS.md section body: command, table, notes."""
    notes = "\n".join(f"- {n}" for n in step.notes)
    return f"`{step.command}`\n\n{markdown_table(step)}\n\n{notes}\n"


def update_benchmarks(steps: list[BenchStep], path: Path = BENCHMARKS) -> None:
    """Replace the sections of the steps that ran; keep the others as they were."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for name in STEPS:
        if f"<!-- bench:{name} -->" not in text:
            empty = f"<!-- bench:{name} -->\n(not measured yet)\n<!-- /bench:{name} -->"
            text += f"\n## {name}\n\n{empty}\n"
    for step in steps:
        body = f"<!-- bench:{step.name} -->\n_{dt.date.today()}_ {render_step(step)}"
        pattern = rf"<!-- bench:{step.name} -->.*?(?=<!-- /bench:{step.name} -->)"
        text = _replace(pattern, body, text)
    machine = f"<!-- machine -->\n{machine_description()}\n"
    text = _replace(r"<!-- machine -->.*?(?=<!-- /machine -->)", machine, text)
    path.write_text(text, encoding="utf-8")


def _replace(pattern: str, replacement: str, text: str) -> str:
    """Replace the span verbatim (a function replacement: no backslash escapes applied)."""

    def literal(_match: re.Match[str]) -> str:
        return replacement

    return re.sub(pattern, literal, text, flags=re.S)
