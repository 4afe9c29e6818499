"""`guideqa eval`: the clinical question set, BioASQ, baselines, reports and comparisons."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from guideqa.api.cli_common import friendly_errors, index_option
from guideqa.api.library import GuideQA
from guideqa.api.settings import Settings, load_settings
from guideqa.ingest.errors import ConfigurationError


def _bar(label: str):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, desc=label, file=sys.stderr, leave=False)
        state["bar"].update(done - state["bar"].n)
        if done >= total:
            state["bar"].close()

    return update


def _systems(settings: Settings, baselines: bool, **guideqa_options: Any) -> list[Any]:
    from guideqa.eval.systems import GuideQASystem, SearchBaseline

    engine = GuideQA(settings).engine
    systems: list[Any] = [GuideQASystem(engine, **guideqa_options)]
    if baselines:
        from guideqa.eval.langchain_baseline import LangChainBaseline
        from guideqa.index.hybrid import HybridIndex

        systems += [SearchBaseline(engine.index, m) for m in ("lexical", "dense", "hybrid")]
        if isinstance(engine.index, HybridIndex):  # it reads the local FAISS vectors
            systems.append(LangChainBaseline(engine.index))
    return systems


def _with_composer(settings: Settings, composer: str) -> Settings:
    """Settings that evaluate the chosen composer: generative needs a configured chat model;
    extractive ignores one."""
    if composer == "extractive":
        return settings.model_copy(
            update={"llm": settings.llm.model_copy(update={"provider": "none"})}
        )
    if settings.llm.provider == "none":
        raise ConfigurationError(
            "--composer generative needs a chat model: set GUIDEQA_LLM__PROVIDER and "
            "GUIDEQA_LLM__MODEL (README, 'Prose answers')"
        )
    return settings


def run_clinical(
    settings: Settings, set_names: tuple[str, ...], baselines: bool
) -> dict[str, list[dict[str, Any]]]:
    """Each question set (split) through GuideQA (and the baselines), keyed by split name."""
    from guideqa.eval.dataset import load_questions, question_set, split_name
    from guideqa.eval.runner import run_system, system_report

    systems = _systems(settings, baselines)
    splits: dict[str, list[dict[str, Any]]] = {}
    for set_name in set_names:
        questions = load_questions(question_set(set_name))
        splits[split_name(set_name)] = [
            system_report(s.name, run_system(s, questions, _bar(s.name))) for s in systems
        ]
    return splits


def run_bioasq(
    settings: Settings, path: Path, baselines: bool, limit: int | None
) -> list[dict[str, Any]]:
    """Index the file's snippets in a temporary index, then score every system on it."""
    from guideqa.eval.bioasq import evaluate_system, read_bioasq
    from guideqa.ingest.models import SourceKind

    questions, documents = read_bioasq(path, limit)
    with tempfile.TemporaryDirectory(prefix="guideqa-bioasq-") as tmp:
        index = settings.index.model_copy(update={"directory": Path(tmp)})
        local = settings.model_copy(update={"index": index})
        click.echo(
            f"Indexing {len(documents)} snippet documents for {len(questions)} questions ...",
            err=True,
        )
        GuideQA(local).add_documents(documents, progress=_bar("embedding"))
        systems = _systems(local, baselines, kinds=(SourceKind.RESEARCH,), quotes_only=True)
        return [evaluate_system(s, questions, _bar(s.name)) for s in systems]


def run_calibration(settings: Settings, write: bool) -> None:
    """Fit the score weights on dev; print the report (and write the weights)."""
    import hashlib

    from guideqa.eval.calibrate import calibrate, collect, write_weights
    from guideqa.eval.dataset import load_questions, question_set

    engine = GuideQA(settings).engine
    dev_path = question_set("clinical")
    dev = collect(engine, load_questions(dev_path))
    unseen = collect(engine, load_questions(question_set("unseen")))
    report = calibrate(dev, unseen)
    click.echo(json.dumps(report, indent=2))
    if write:
        write_weights(report, hashlib.sha256(dev_path.read_bytes()).hexdigest())
        click.echo("wrote qa/data/score_weights.yaml", err=True)


def run_verifier_calibration() -> None:
    """Choose the verifier's minimum support on the dev sentences; print both splits."""
    from guideqa.eval.verifier_calibration import calibrate as calibrate_sentences

    click.echo(json.dumps(calibrate_sentences(), indent=2, ensure_ascii=False))


@click.command(name="eval")
@click.option(
    "--set",
    "set_names",
    multiple=True,
    default=("clinical", "unseen"),
    show_default=True,
    help="Question sets in eval/questions (or YAML paths); clinical is the dev split, "
    "unseen the split never tuned on. Repeat for several.",
)
@click.option("--baselines", is_flag=True, help="Also run BM25, dense, hybrid and LangChain.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Report folder (default eval/reports/<time>).",
)
@click.option(
    "--bioasq",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="A BioASQ Task B JSON Lines file: evaluate on its snippet pool instead.",
)
@click.option("--limit", type=int, default=None, help="Only the first N BioASQ questions.")
@click.option(
    "--calibrate",
    is_flag=True,
    help="Fit the statement score weights on the dev split (report a held-back part and the "
    "unseen split); with --write, store them in qa/data/score_weights.yaml.",
)
@click.option("--write", is_flag=True, help="With --calibrate: write the fitted weights.")
@click.option(
    "--calibrate-verifier",
    is_flag=True,
    help="Choose the generated-sentence verifier's minimum support on the dev sentences of "
    "eval/verification/sentences.yaml; print what it passes and catches on dev and unseen.",
)
@click.option(
    "--compare",
    nargs=2,
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="Print the differences between two report.json files.",
)
@click.option(
    "--composer",
    type=click.Choice(["extractive", "generative"]),
    default="extractive",
    show_default=True,
    help="generative: prose from the chat model of GUIDEQA_LLM__* (verified sentence by "
    "sentence); adds the share of generated sentences dropped and the fallback rate.",
)
@index_option
@friendly_errors
def eval_command(
    set_names: tuple[str, ...],
    baselines: bool,
    out: Path | None,
    bioasq: Path | None,
    limit: int | None,
    calibrate: bool,
    write: bool,
    calibrate_verifier: bool,
    compare: tuple[Path, Path] | None,
    composer: str,
    index_dir: Path | None,
) -> None:
    """Evaluate answers and retrieval; write report.json, report.md, chart.png, details."""
    from guideqa.eval.report import compare as compare_reports
    from guideqa.eval.report import markdown_table, question_changes, split_table, write_reports

    if calibrate_verifier:  # needs no index: the sentences carry their passages
        run_verifier_calibration()
        return
    if compare:
        old, new = (json.loads(p.read_text()) for p in compare)
        click.echo(compare_reports(old, new))
        changes = question_changes(old, new)
        if changes:
            click.echo("\nquestions that moved:\n" + changes)
        return
    settings = _with_composer(load_settings(index_dir), composer)
    if calibrate:
        run_calibration(settings, write)
        return
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = out or Path("eval/reports") / stamp
    if bioasq:
        reports = run_bioasq(settings, bioasq, baselines, limit)
        for report in reports:
            report.setdefault("by_category", {})
            report.setdefault("questions", [])
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(
            json.dumps({"title": f"BioASQ {bioasq.name}", "systems": reports}, indent=2)
        )
        metrics = (
            "recall@5",
            "recall@10",
            "mrr",
            "ndcg@10",
            "rouge2_f1",
            "rouge_su4_f1",
            "latency_ms",
        )
        table = markdown_table(reports, metrics)
        (out / "report.md").write_text(f"# BioASQ {bioasq.name}\n\n{table}\n")
        click.echo(table)
        return
    splits = run_clinical(settings, set_names, baselines)
    path = write_reports(splits, out, "GuideQA evaluation: " + ", ".join(splits))
    for split, reports in splits.items():
        click.echo(f"## {split}\n\n{markdown_table(reports)}\n")
    click.echo(split_table(splits))
    click.echo(f"\nreport: {path}", err=True)
