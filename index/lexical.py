"""BM25 adapter over bm25s, with Snowball stemming and English stopwords."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer
from scipy import sparse

_TOKEN = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


class LexicalTokenizer:
    """Lowercase word tokens (keeping '2.5', 'b12', 'covid-19'), stopwords out, stemmed."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._stopwords = frozenset(bm25s.stopwords.STOPWORDS_EN)

    def __call__(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in self._stopwords]
        return list(self._stemmer.stemWords(words))


_K1, _B = 1.2, 0.75
_STATS = "guideqa_stats.json"  # mean document length: what scoring appended rows needs


def lucene_score(
    idf: float, tf: npt.NDArray[np.float32], length: npt.NDArray[np.float32], mean: float | None
) -> npt.NDArray[np.float32]:
    """BM25 as bm25s computes it by default (Lucene): idf * tf / (tf + k1 (1 - b + b l/avg))."""
    norm = _K1 * ((1 - _B) + _B * length / np.float32(mean or 1.0))
    return np.asarray(idf * tf / (norm + tf), dtype=np.float32)


def bm25_idf(rows: int, frequency: int) -> float:
    """Inverse document frequency as bm25s computes it (Lucene):
    log(1 + (N - df + 0.5) / (df + 0.5))."""
    return float(np.log(1.0 + (rows - frequency + 0.5) / (frequency + 0.5)))


def has_append_stats(directory: Path) -> bool:
    """Whether a saved BM25 index records what scoring appended rows needs."""
    return (directory / _STATS).exists()


class DeltaPostings:
    """BM25 postings of rows appended after the base index was built (an incremental update).

    bm25s stores finished scores, so rows cannot be added to it; these few rows are scored
    here with the same Lucene formula, the base's mean length and the combined frequencies."""

    def __init__(self, token_lists: list[list[str]]) -> None:
        self.size = len(token_lists)
        self.lengths = np.asarray([len(t) for t in token_lists], dtype=np.float32)
        collected: dict[str, dict[int, int]] = {}
        for row, tokens in enumerate(token_lists):
            for token in tokens:
                counts = collected.setdefault(token, {})
                counts[row] = counts.get(row, 0) + 1
        self.postings = {
            token: (
                np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)),
                np.fromiter(counts.values(), dtype=np.float32, count=len(counts)),
            )
            for token, counts in collected.items()
        }

    def df(self, token: str) -> int:
        """Appended rows that contain the token."""
        found = self.postings.get(token)
        return len(found[0]) if found is not None else 0


class LexicalIndex:
    """BM25 scores for every chunk row: the base index, plus any rows appended since."""

    def __init__(
        self,
        model: bm25s.BM25,
        tokenizer: LexicalTokenizer,
        mean_length: float | None = None,
        delta: DeltaPostings | None = None,
    ) -> None:
        self._model = model
        self._tokenize = tokenizer
        self.mean_length = mean_length
        self._delta = delta

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts; row i of the index is texts[i]."""
        tokenizer = LexicalTokenizer()
        model = bm25s.BM25(k1=_K1, b=_B)
        corpus = [tokenizer(t) or ["_empty_"] for t in texts]
        mean_length = float(np.mean([len(c) for c in corpus])) if corpus else 1.0
        model.index(corpus, show_progress=False)
        return cls(model, tokenizer, mean_length)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Read an index written by `save`, memory-mapped: the postings stay on disk and in the
        page cache (shared between processes) instead of in each process's heap."""
        model = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        stats = directory / _STATS
        mean = json.loads(stats.read_text())["mean_length"] if stats.exists() else None
        return cls(model, LexicalTokenizer(), mean)

    def save(self, directory: Path) -> None:
        """Write the index files into `directory`."""
        self._model.save(str(directory), show_progress=False)
        (directory / _STATS).write_text(json.dumps({"mean_length": self.mean_length}))

    def with_appended(self, texts: list[str]) -> LexicalIndex:
        """This index plus rows for `texts`, numbered after the base rows."""
        if self.mean_length is None:
            raise ValueError("this BM25 index predates appended rows: rebuild it")
        delta = DeltaPostings([self._tokenize(t) or ["_empty_"] for t in texts])
        return LexicalIndex(self._model, self._tokenize, self.mean_length, delta)

    @property
    def base_size(self) -> int:
        """Rows in the base index."""
        return int(self._model.scores["num_docs"])

    def tokens(self, text: str) -> list[str]:
        """The stemmed tokens BM25 sees for a text."""
        return self._tokenize(text)

    def _base_df(self, token: str) -> int:
        indptr = self._model.scores["indptr"]
        token_id = self._model.vocab_dict.get(token)
        return int(indptr[token_id + 1] - indptr[token_id]) if token_id is not None else 0

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency of each token (unknown tokens get the maximum)."""
        delta = self._delta
        size = self.base_size + (delta.size if delta else 0)
        weights: dict[str, float] = {}
        for token in tokens:
            freq = self._base_df(token) + (delta.df(token) if delta else 0)
            weights[token] = bm25_idf(size, freq)
        return weights

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every row for the query (zeros when no query term is indexed)."""
        tokens = self._tokenize(query)
        ids = self._model.get_tokens_ids(tokens)
        base = (
            np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)
            if ids
            else np.zeros(self.base_size, dtype=np.float32)
        )
        if self._delta is None:
            return base
        return np.concatenate([base, self._appended_scores(tokens, self._delta)])

    def _appended_scores(self, tokens: list[str], delta: DeltaPostings) -> npt.NDArray[np.float32]:
        scores = np.zeros(delta.size, dtype=np.float32)
        idf = self.idf(tokens)
        for token in tokens:  # a repeated query word counts again, as in bm25s
            found = delta.postings.get(token)
            if found is not None:
                rows, tf = found
                scores[rows] += lucene_score(idf[token], tf, delta.lengths[rows], self.mean_length)
        return scores


def sparse_rows(index: LexicalIndex) -> tuple[sparse.csr_matrix, dict[str, int]]:
    """Every row's BM25 weight per token, as a row-major sparse matrix, with the token ids.

    The inner product of a row with a query's token counts is the row's BM25 score for that
    query, as `LexicalIndex.scores` computes it: how another engine (Milvus) ranks lexically
    with exactly the same scores, idf and mean length as the local index."""
    model = index._model
    stored = model.scores
    columns = len(stored["indptr"]) - 1
    # bm25s keeps an id for the empty token that has no column of scores
    vocabulary = {str(t): int(i) for t, i in model.vocab_dict.items() if int(i) < columns}
    base = sparse.csc_matrix(
        (stored["data"], stored["indices"], stored["indptr"]), shape=(index.base_size, columns)
    ).tocsr()
    delta = index._delta
    if delta is None or delta.size == 0:
        return base, vocabulary
    for token in delta.postings:
        vocabulary.setdefault(token, len(vocabulary))
    idf = index.idf(list(delta.postings))
    at_rows: list[npt.NDArray[np.int64]] = []
    at_tokens: list[npt.NDArray[np.int64]] = []
    weights: list[npt.NDArray[np.float32]] = []
    for token, (found, tf) in delta.postings.items():
        at_rows.append(found)
        at_tokens.append(np.full(len(found), vocabulary[token], dtype=np.int64))
        weights.append(lucene_score(idf[token], tf, delta.lengths[found], index.mean_length))
    position = (np.concatenate(at_rows), np.concatenate(at_tokens))
    shape = (delta.size, len(vocabulary))
    appended = sparse.coo_matrix((np.concatenate(weights), position), shape=shape).tocsr()
    base.resize((index.base_size, len(vocabulary)))  # new tokens: columns after the base's
    return sparse.vstack([base, appended], format="csr"), vocabulary
