"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import StateDep
from api.schemas import Health, Ready

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, summary="The index is loaded: version and counts")
def readyz(state: StateDep) -> Ready:
    manifest = state.holder.engine.index.manifest
    return Ready(
        status="ready",
        index_version=manifest.version,
        documents=manifest.documents,
        chunks=manifest.chunks,
        counts_by_kind=manifest.counts_by_kind,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(state: StateDep) -> Response:
    return state.metrics.render()
