"""Reading a chat model's reply while it streams: each top-level field of the answer schema
(answerable, bottom_line, guidelines, label, research) is reported as soon as its value is
complete, so the sections can be verified and shown one by one before the model finishes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from guideqa.qa.prompt import GeneratedAnswer, GeneratedSentence, parse_reply

FIELDS = ("answerable", "bottom_line", "guidelines", "label", "research")
_KEY = re.compile(r'\s*"((?:[^"\\]|\\.)*)"\s*:')


class ReplyError(Exception):
    """The reply is neither the answer schema nor cited sentences, or it stopped part-way."""


@dataclass(frozen=True)
class ReplyField:
    """One completed field of the answer: its name and value (sentences, or answerable)."""

    name: str
    sentences: tuple[GeneratedSentence, ...] = ()
    answerable: bool = True


@dataclass
class _Scan:
    """Where the scanner is in the JSON object: nesting depth, inside a string or not, and
    where the current top-level key and value began."""

    started: bool = False
    depth: int = 0
    in_string: bool = False
    escaped: bool = False
    key_start: int | None = None
    object_closed: bool = False


@dataclass
class ReplyReader:
    """Feed it the reply's text as it arrives; it returns the fields completed so far."""

    text: str = ""
    reported: set[str] = field(default_factory=set)
    _scan: _Scan = field(default_factory=_Scan)
    _position: int = 0

    def feed(self, chunk: str) -> list[ReplyField]:
        """The fields whose values the new text completes, in the order they were written."""
        self.text += chunk
        done: list[ReplyField] = []
        scan = self._scan
        while self._position < len(self.text) and not scan.object_closed:
            i, char = self._position, self.text[self._position]
            self._position += 1
            if not scan.started:  # text before the object ("Here you go: ```json")
                scan.started = char == "{"
                scan.depth = int(scan.started)
                continue
            if scan.in_string:
                if scan.escaped:
                    scan.escaped = False
                elif char == "\\":
                    scan.escaped = True
                elif char == '"':
                    scan.in_string = False
                continue
            if char == '"':
                scan.in_string = True
                if scan.depth == 1 and scan.key_start is None:
                    scan.key_start = i
            elif char in "{[":
                scan.depth += 1
            elif char in "}]":
                scan.depth -= 1
            if (scan.depth == 1 and char == ",") or (scan.depth == 0 and char == "}"):
                done += self._complete(i)
                if scan.depth == 0:
                    # an object with none of the answer's fields ("{see below}") is not the
                    # answer: look for the next one
                    scan.object_closed = bool(self.reported)
                    if not scan.object_closed:
                        self._scan = scan = _Scan()
        return done

    def _complete(self, end: int) -> list[ReplyField]:
        """The field written from the current key up to `end`, validated by the schema."""
        start, self._scan.key_start = self._scan.key_start, None
        if start is None:
            return []
        written = self.text[start:end]
        key = _KEY.match(written)
        if key is None or key.group(1) not in FIELDS or key.group(1) in self.reported:
            return []  # not a field of the answer, or written twice (the first one counts)
        try:
            parsed = json.loads("{" + written + "}")
            answer = GeneratedAnswer.model_validate(parsed)
        except (ValueError, ValidationError) as exc:
            where = written[:60]
            raise ReplyError(f"its reply does not fit the answer schema at {where!r}") from exc
        return [self._report(answer, name) for name in parsed if name in FIELDS]

    def _report(self, answer: GeneratedAnswer, name: str) -> ReplyField:
        self.reported.add(name)
        if name == "answerable":
            return ReplyField(name, answerable=answer.answerable)
        return ReplyField(name, sentences=tuple(getattr(answer, name)))

    def close(self) -> list[ReplyField]:
        """The fields not reported yet, read from the whole reply now that it has ended."""
        if self._scan.object_closed:
            return [ReplyField(n) for n in FIELDS[1:] if n not in self.reported]
        if self._scan.started and self.reported:
            raise ReplyError("its reply stopped before the answer was complete")
        parsed = parse_reply(self.text)
        if parsed is None:
            raise ReplyError("its reply is neither the answer schema nor cited sentences")
        return [self._report(parsed, n) for n in FIELDS if n not in self.reported]
