"""BM25 adapter over bm25s, with Snowball stemming and English stopwords."""

from __future__ import annotations

import re
from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer

_TOKEN = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


class LexicalTokenizer:
    """Lowercase word tokens (keeping '2.5', 'b12', 'covid-19'), stopwords out, stemmed."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._stopwords = frozenset(bm25s.stopwords.STOPWORDS_EN)

    def __call__(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in self._stopwords]
        return list(self._stemmer.stemWords(words))


class LexicalIndex:
    """BM25 scores for every chunk row."""

    def __init__(self, model: bm25s.BM25, tokenizer: LexicalTokenizer) -> None:
        self._model = model
        self._tokenize = tokenizer

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts; row i of the index is texts[i]."""
        tokenizer = LexicalTokenizer()
        model = bm25s.BM25(k1=1.2, b=0.75)
        corpus = [tokenizer(t) or ["_empty_"] for t in texts]
        model.index(corpus, show_progress=False)
        return cls(model, tokenizer)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Read an index written by `save`."""
        model = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
        return cls(model, LexicalTokenizer())

    def save(self, directory: Path) -> None:
        """Write the index files into `directory`."""
        self._model.save(str(directory), show_progress=False)

    def tokens(self, text: str) -> list[str]:
        """The stemmed tokens BM25 sees for a text."""
        return self._tokenize(text)

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency of each token (unknown tokens get the maximum)."""
        size = int(self._model.scores["num_docs"])
        indptr = self._model.scores["indptr"]
        vocab = self._model.vocab_dict
        weights: dict[str, float] = {}
        for token in tokens:
            token_id = vocab.get(token)
            freq = int(indptr[token_id + 1] - indptr[token_id]) if token_id is not None else 0
            weights[token] = float(np.log(1.0 + (size - freq + 0.5) / (freq + 0.5)))
        return weights

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every row for the query (zeros when no query term is indexed)."""
        size = int(self._model.scores["num_docs"])
        ids = self._model.get_tokens_ids(self._tokenize(query))
        if not ids:
            return np.zeros(size, dtype=np.float32)
        return np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)
