"""`guideqa bench` end to end on a small real index: startup and a small synthetic scale run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guideqa.api.settings import Settings
from tests.conftest import MODEL_CACHE


def _bench(settings: Settings, args: list[str], extra_env: dict[str, str]) -> dict[str, object]:
    env = {
        **os.environ,
        "GUIDEQA_INDEX_DIR": str(settings.index.directory),
        "GUIDEQA_EMBEDDING__CACHE_DIR": str(MODEL_CACHE),
        **extra_env,
    }
    command = [sys.executable, "-m", "guideqa.api.cli", "bench", *args, "--no-write"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| " in done.stdout  # the table is printed
    return {"stdout": done.stdout}


@pytest.mark.integration
def test_bench_scale_builds_and_measures_an_approximate_index(
    real_index_settings: Settings, tmp_path: Path
) -> None:
    _bench(
        real_index_settings,
        ["scale", "--sizes", "4000", "--scale-dir", str(tmp_path), "--out", str(tmp_path / "o")],
        {"GUIDEQA_INDEX__DENSE": "ivf_sq8"},
    )
    step = json.loads((tmp_path / "o" / "bench-scale.json").read_text())
    [row] = step["rows"]
    assert row["chunks"] == 4000 and row["dense"] == "ivf_sq8"
    assert 0.8 <= row["dense_recall_at_10"] <= 1.0
    assert row["hybrid_p95_ms"] > 0 and row["disk_mib"] > 0
    assert "ivf_nprobe=128" in row["dense_sweep"]
    manifest = next((tmp_path / "scale-4000" / "versions").glob("v*/manifest.json"))
    assert json.loads(manifest.read_text())["dense"] == "ivf_sq8"


@pytest.mark.integration
def test_bench_startup_times_the_server_to_ready(
    real_index_settings: Settings, tmp_path: Path
) -> None:
    _bench(
        real_index_settings,
        ["startup", "--scale-dir", str(tmp_path / "none"), "--out", str(tmp_path)],
        {},
    )
    step = json.loads((tmp_path / "bench-startup.json").read_text())
    [row] = step["rows"]
    assert 0 < row["start to ready s (median)"] < 120
    assert row["RSS at ready MiB"] > 50
