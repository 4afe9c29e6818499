"""BioASQ Task B: a document pool from the file's snippets, retrieval and ROUGE answer metrics."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from guideqa.eval.metrics import ndcg_at, recall_at, reciprocal_rank, rouge_2, rouge_su4
from guideqa.eval.systems import System
from guideqa.ingest.errors import GuideQAError
from guideqa.ingest.models import Document, Section, SourceKind

Progress = Callable[[int, int], None]


class BioAsqError(GuideQAError):
    """The BioASQ file is not in the Task B format."""


@dataclass(frozen=True)
class BioAsqQuestion:
    """One Task B question with its gold PMIDs and ideal answers."""

    id: str
    body: str
    kind: str
    gold_pmids: tuple[str, ...]
    ideal_answers: tuple[str, ...]


def _pmid(url: str) -> str:
    found = re.search(r"(\d+)\s*$", url)
    return found.group(1) if found else url


def read_bioasq(
    path: Path, limit: int | None = None
) -> tuple[list[BioAsqQuestion], list[Document]]:
    """Questions, and one research document per PMID built from all its snippets."""
    questions: list[BioAsqQuestion] = []
    snippets: dict[str, list[str]] = {}
    try:
        lines = [json.loads(line) for line in path.read_text("utf-8").split("\n") if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise BioAsqError(f"{path}: not BioASQ JSON Lines ({exc})") from exc
    for record in lines[:limit] if limit else lines:
        try:
            ideal = record.get("ideal_answer") or []
            questions.append(
                BioAsqQuestion(
                    id=str(record["id"]),
                    body=str(record["body"]),
                    kind=str(record.get("type", "")),
                    gold_pmids=tuple(dict.fromkeys(_pmid(u) for u in record.get("documents", []))),
                    ideal_answers=tuple([ideal] if isinstance(ideal, str) else ideal),
                )
            )
            for snippet in record.get("snippets", []):
                texts = snippets.setdefault(_pmid(snippet["document"]), [])
                if snippet["text"] not in texts:
                    texts.append(snippet["text"])
        except (KeyError, TypeError) as exc:
            raise BioAsqError(f"{path}: a record lacks {exc}; expected Task B fields") from exc
    return questions, [_document(pmid, texts, path) for pmid, texts in snippets.items()]


def _document(pmid: str, texts: list[str], path: Path) -> Document:
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return Document(
        doc_id=f"pmid-{pmid}",
        kind=SourceKind.RESEARCH,
        title=f"PubMed {pmid}",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        identifier=f"PMID:{pmid}",
        source_path=str(path),
        content_hash=digest,
        sections=tuple(Section(heading="Snippet", text=t, path=("Snippet",)) for t in texts),
    )


def evaluate_system(
    system: System, questions: Sequence[BioAsqQuestion], progress: Progress | None = None
) -> dict[str, object]:
    """Retrieval against gold PMIDs and ROUGE-2 / ROUGE-SU4 F1 against the ideal answers."""
    from guideqa.eval.dataset import EvalQuestion

    rows: list[dict[str, float]] = []
    for done, question in enumerate(questions, start=1):
        output = system.answer(
            EvalQuestion(
                id=question.id, question=question.body, area="bioasq", kinds=(SourceKind.RESEARCH,)
            )
        )
        gold = {f"pmid-{p}" for p in question.gold_pmids}
        ideals = question.ideal_answers or ("",)
        rows.append(
            {
                "recall@5": recall_at(output.ranked_docs, gold, 5),
                "recall@10": recall_at(output.ranked_docs, gold, 10),
                "mrr": reciprocal_rank(output.ranked_docs, gold),
                "ndcg@10": ndcg_at(output.ranked_docs, gold, 10),
                "rouge2_f1": max(rouge_2(output.answer_text, i) for i in ideals),
                "rouge_su4_f1": max(rouge_su4(output.answer_text, i) for i in ideals),
                "latency_ms": output.latency_ms,
            }
        )
        if progress:
            progress(done, len(questions))
    overall = {k: round(statistics.fmean(r[k] for r in rows), 4) for k in rows[0]} if rows else {}
    return {"system": system.name, "overall": {"questions": len(rows), **overall}}
