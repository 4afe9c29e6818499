"""Schemathesis against the OpenAPI schema: for every operation, generated requests (valid and
invalid), bounded in examples, with no 5xx and every response matching the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guideqa.api.app import create_app
from guideqa.api.settings import RecordSettings, ServerSettings
from guideqa.ingest.loaders import load_paths
from tests.api.test_manage import AUTH, small_settings, write_opioid_2016_corpus
from tests.conftest import make_writer

# No 5xx, and every response as documented. Whether a schema-valid upload is accepted depends
# on the file's content, which no schema can say, so acceptance itself is not checked here
# (the bad-input catalogue checks each refusal).
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]
EXAMPLES = 150  # per operation and mode: about 20 s for the whole API


@pytest.fixture(scope="module")
def operations(
    tmp_path_factory: pytest.TempPathFactory, token_counter
) -> Iterator[dict[str, APIOperation]]:  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    app_settings = small_settings(tmp).model_copy(
        update={
            "server": ServerSettings(rate_limit_exempt=("testclient",)),
            "records": RecordSettings(enabled=True, path=tmp / "answers.sqlite"),
        }
    )
    write_opioid_2016_corpus(tmp / "corpus")
    make_writer(app_settings, token_counter).ingest(load_paths([tmp / "corpus"]).documents)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings))
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    yield found


OPERATIONS = [
    "POST /v1/ask",
    "GET /v1/conversations/{conversation_id}",
    "POST /v1/documents",
    "DELETE /v1/documents/{doc_id}",
    "GET /v1/documents",
    "GET /v1/documents/{doc_id}",
    "GET /v1/index",
    "GET /v1/answers/{answer_id}",
    "POST /v1/answers/{answer_id}/replay",
    "POST /v1/answers/{answer_id}/feedback",
    "DELETE /v1/answers/{answer_id}",
    "DELETE /v1/answers",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
]


def test_every_operation_is_fuzzed(operations: dict[str, APIOperation]) -> None:
    assert sorted(operations) == sorted(OPERATIONS)


# Invalid data is generated for request bodies; for path and query parameters this version of
# schemathesis finds no invalid value that survives URL encoding, and the catalogue covers them.
CASES = [(name, GenerationMode.POSITIVE) for name in OPERATIONS] + [
    ("POST /v1/ask", GenerationMode.NEGATIVE),
    ("POST /v1/documents", GenerationMode.NEGATIVE),
    ("POST /v1/answers/{answer_id}/feedback", GenerationMode.NEGATIVE),
]


@pytest.mark.parametrize(("name", "mode"), CASES, ids=[f"{n}-{m.value}" for n, m in CASES])
def test_operation_conforms_to_its_schema(
    operations: dict[str, APIOperation], name: str, mode: GenerationMode
) -> None:
    operation = operations[name]

    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy(mode))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    check()
