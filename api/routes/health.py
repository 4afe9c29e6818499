"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from guideqa import __version__
from guideqa.api.deps import StateDep
from guideqa.api.schemas import Health, Ready, problem_responses

router = APIRouter(tags=["operations"], responses=problem_responses())


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="ok", version=__version__)


@router.get(
    "/readyz",
    response_model=Ready,
    summary="The index is loaded: version and counts",
    responses={
        503: {
            "model": Ready,
            "description": "the index backend, the conversation store or the index on disk "
            "needs an operator",
        }
    },
)
def readyz(state: StateDep, response: Response) -> Ready:
    manifest = state.qa.engine.index.manifest
    checks = (state.index_problem, state.conversations.problem(), state.qa.archive.problem())
    found = [p for p in checks if p]
    problem = "; ".join(found) or None
    if problem is not None:
        response.status_code = 503
    return Ready(
        status="ready" if problem is None else "not ready",
        reason=problem,
        index_version=manifest.version,
        documents=manifest.documents,
        chunks=manifest.chunks,
        counts_by_kind=manifest.counts_by_kind,
        recording=state.qa.archive.enabled,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(state: StateDep) -> Response:
    return state.metrics.render()
