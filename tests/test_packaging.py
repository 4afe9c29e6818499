"""Packaging: one import namespace, `guideqa`; the wheel installs cleanly into a fresh venv with
its data; the code imports only through the namespace."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("ingest", "index", "qa", "api", "eval")
PACKAGE_DATA = (
    "guideqa/py.typed",
    "guideqa/api/web/index.html",
    "guideqa/api/web/app.js",
    "guideqa/qa/data/knowledge.yaml",
    "guideqa/qa/data/score_weights.yaml",
    "guideqa/ingest/data/section_roles.yaml",
    "guideqa/eval/questions/clinical.yaml",
    "guideqa/eval/questions/unseen.yaml",
    "guideqa/eval/thresholds.yaml",
    "guideqa/eval/verification/sentences.yaml",
)


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_installed_under_guideqa() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    found = {"guideqa"} | {
        "guideqa." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == found
    assert setuptools["package-dir"] == {"guideqa": "guideqa"} | {
        f"guideqa.{f}": f for f in FOLDERS
    }


_BARE_IMPORT = re.compile(rf"^\s*(from|import)\s+({'|'.join(FOLDERS)})(\.|\s|$)", re.MULTILINE)


def test_code_and_tests_import_only_through_guideqa() -> None:
    sources = [p for d in (*FOLDERS, "guideqa", "tests", "docs") for p in (ROOT / d).rglob("*.py")]
    offenders = [str(p) for p in sources if _BARE_IMPORT.search(p.read_text())]
    assert sources and offenders == []


def test_requires_python_has_no_upper_bound() -> None:
    assert _pyproject()["project"]["requires-python"] == ">=3.11"  # type: ignore[index]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build` (no network: the build backend installed here)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_build_makes_an_sdist_and_a_wheel_with_the_data(built: Path) -> None:
    [wheel] = built.glob("guideqa-*-py3-none-any.whl")
    [sdist] = built.glob("guideqa-*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "guideqa",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert set(PACKAGE_DATA) <= set(names)
    assert sdist.stat().st_size > 0


def test_the_wheel_installs_into_a_fresh_venv(built: Path, tmp_path: Path) -> None:
    [wheel] = built.glob("guideqa-*-py3-none-any.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    installed = {p.name for p in site.iterdir() if not p.name.startswith(("_", "."))}
    assert installed == {"guideqa", wheel.name.split("-py3")[0] + ".dist-info"}
    # third-party dependencies come from this test's environment, as a plain path: its .pth
    # files (the editable guideqa) are not processed, so guideqa can only come from the wheel
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = (
        "import importlib.util, guideqa, guideqa.api.cli;"
        "print(guideqa.__file__);"
        "print([n for n in ('api','eval','index','ingest','qa') if importlib.util.find_spec(n)])"
    )
    checked = subprocess.run(
        [str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    origin, bare = checked.stdout.splitlines()
    assert origin.startswith(str(site)) and bare == "[]"
    cli = subprocess.run(
        [str(venv / "bin" / "guideqa"), "--help"], cwd=tmp_path, capture_output=True, text=True
    )
    assert cli.returncode == 0 and "ask" in cli.stdout and "ingest" in cli.stdout
    version = subprocess.run(
        [str(venv / "bin" / "guideqa"), "--version"], cwd=tmp_path, capture_output=True, text=True
    )
    assert _pyproject()["project"]["version"] in version.stdout  # type: ignore[index]
