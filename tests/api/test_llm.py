"""The real HTTP client path to a chat model: an OpenAI-compatible stub started by the test on
loopback. Request shape, the key, the timeout and error mapping (both fall back to the
extractive answer with a note), and settings that cannot work."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from guideqa.api.llm import chat_model, open_composer
from guideqa.api.settings import Settings
from guideqa.ingest.errors import ConfigurationError
from guideqa.ingest.models import SourceKind
from guideqa.qa.drugs import DrugLexicon
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.settings import LLMSettings
from tests.api.chat_stub import Stub
from tests.qa.fakes import FakeSource
from tests.qa.test_generative import QUESTION
from tests.qa.test_rules import MEN, SETTINGS, WOMEN


def _ask(base_url: str, **llm: Any):  # type: ignore[no-untyped-def]
    source = FakeSource([WOMEN, MEN])
    settings = Settings(
        llm=LLMSettings(
            provider="openai-compatible",
            model="stub-model",
            base_url=base_url,
            api_key=SecretStr("stub-key-0123"),
            **llm,
        )
    )
    knowledge = ClinicalKnowledge.load()
    drugs = DrugLexicon.build(source.documents, knowledge)
    composer = open_composer(settings, source, knowledge, drugs)  # type: ignore[arg-type]
    engine = AnswerEngine(source, SETTINGS, composer=composer, knowledge=knowledge)
    return engine.ask(QUESTION, kinds=(SourceKind.GUIDELINE,))


@pytest.mark.parametrize("structured", [True, False])
def test_the_openai_compatible_request_and_reply(stub: tuple[Stub, str], structured: bool) -> None:
    state, url = stub
    answer = _ask(url, structured_output=structured)
    assert answer.composer == "generative" and answer.composer_note is None
    assert answer.summary.startswith("The USPSTF recommends screening")
    [(path, headers, body)] = state.requests
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer stub-key-0123"
    assert body["model"] == "stub-model" and body["temperature"] == 0.0
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user"]
    assert '<passage n="1"' in body["messages"][1]["content"]
    if structured:  # the answer schema was asked for
        assert body["response_format"]["type"] == "json_schema"


def test_a_slow_server_times_out_to_the_extractive_answer(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.mode = "slow"
    answer = _ask(url, timeout_seconds=0.5)
    assert answer.composer == "extractive"
    assert "The generated answer was not shown" in (answer.composer_note or "")
    assert "bone measurement testing" in answer.summary


def test_a_server_error_falls_back_with_its_reason(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.mode = "error"
    answer = _ask(url)
    assert answer.composer == "extractive"
    assert "Error code: 500 - model crashed" in (answer.composer_note or "")


def test_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="GUIDEQA_LLM__MODEL"):
        chat_model(LLMSettings(provider="openai"))
    with pytest.raises(ConfigurationError, match="GUIDEQA_LLM__BASE_URL"):
        chat_model(LLMSettings(provider="openai-compatible", model="m"))
    source = FakeSource([WOMEN])
    knowledge = ClinicalKnowledge.load()
    drugs = DrugLexicon.build(source.documents, knowledge)
    assert open_composer(Settings(), source, knowledge, drugs) is None  # type: ignore[arg-type]
