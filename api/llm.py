"""The adapter to chat models: builds a LangChain chat model from GUIDEQA_LLM__* settings and
the generative composer around it. LangChain types stay here and in qa/generative.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guideqa.api.settings import Settings
from guideqa.index.backend import SearchIndex
from guideqa.ingest.errors import ConfigurationError
from guideqa.qa.compose import Composer, ExtractiveComposer
from guideqa.qa.drugs import DrugLexicon, DrugNamer
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.settings import LLMSettings
from guideqa.qa.verify import VerificationRules, Verifier

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def open_composer(
    settings: Settings, index: SearchIndex, knowledge: ClinicalKnowledge, drugs: DrugLexicon
) -> Composer | None:
    """The generative composer the settings ask for, or None (the extractive default)."""
    llm = settings.llm
    if llm.provider == "none":
        return None
    from guideqa.qa.generative import GenerativeComposer

    rules = VerificationRules.load()
    verifier = Verifier(rules, index.tokens, llm.min_support, DrugNamer(drugs, knowledge))
    return GenerativeComposer(chat_model(llm), ExtractiveComposer(knowledge), verifier, llm)


def chat_model(llm: LLMSettings) -> BaseChatModel:
    """A LangChain chat model for the provider: Ollama, OpenAI, or an OpenAI-compatible server
    (vLLM, llama.cpp, LM Studio). No retries: a failure falls back to the extractive answer."""
    if not llm.model:
        raise ConfigurationError(
            f"GUIDEQA_LLM__PROVIDER={llm.provider} needs a model: set GUIDEQA_LLM__MODEL"
        )
    if llm.provider == "ollama":
        return _ollama(llm)
    if llm.provider == "openai-compatible" and not llm.base_url:
        raise ConfigurationError(
            "GUIDEQA_LLM__PROVIDER=openai-compatible needs the server: set GUIDEQA_LLM__BASE_URL "
            "(e.g. http://localhost:8001/v1)"
        )
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise ConfigurationError(
            f"GUIDEQA_LLM__PROVIDER={llm.provider} needs the OpenAI client: "
            "pip install 'guideqa[openai]'"
        ) from exc
    key = llm.api_key.get_secret_value() if llm.api_key else "not-set"
    return ChatOpenAI(
        model=llm.model,
        base_url=llm.base_url,
        api_key=key,  # type: ignore[arg-type]
        temperature=llm.temperature,
        timeout=llm.timeout_seconds,
        max_retries=0,
    )


def _ollama(llm: LLMSettings) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError as exc:
        raise ConfigurationError(
            "GUIDEQA_LLM__PROVIDER=ollama needs the Ollama client: pip install 'guideqa[ollama]'"
        ) from exc
    return ChatOllama(
        model=llm.model,
        base_url=llm.base_url,
        temperature=llm.temperature,
        client_kwargs={"timeout": llm.timeout_seconds},
    )
