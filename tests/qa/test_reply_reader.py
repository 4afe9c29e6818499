"""Reading a streamed reply: each field of the answer schema is reported as soon as its value
is complete, whatever the chunk boundaries; bad replies are named."""

from __future__ import annotations

import json

import pytest

from guideqa.qa.reply_reader import ReplyError, ReplyReader

REPLY = {
    "answerable": True,
    "bottom_line": [{"text": 'Screen women [aged 65], "always", with DXA.', "citations": [1]}],
    "guidelines": [{"text": "Use bone measurement testing {DXA}.", "citations": [1, 2]}],
}


def test_each_field_is_reported_when_its_value_is_complete() -> None:
    text = "Here is the answer:\n```json\n" + json.dumps(REPLY) + "\n```"
    reader = ReplyReader()
    seen: list[tuple[int, str]] = []
    for i, char in enumerate(text):  # one character at a time: the worst chunking
        seen += [(i, f.name) for f in reader.feed(char)]
    assert [name for _, name in seen] == ["answerable", "bottom_line", "guidelines"]
    # the bottom line is reported before the model has written the guidelines
    assert seen[1][0] < text.index('"guidelines"')
    [bottom] = [f for f in ReplyReader().feed(text) if f.name == "bottom_line"]
    # brackets, commas and escaped quotes inside strings do not end a field
    assert bottom.sentences[0].text == 'Screen women [aged 65], "always", with DXA.'
    assert [f.name for f in reader.close()] == ["label", "research"]  # never written: empty


def test_a_field_that_does_not_fit_the_schema_is_named() -> None:
    reader = ReplyReader()
    with pytest.raises(ReplyError, match="does not fit the answer schema"):
        reader.feed('{"bottom_line": [{"text": "x", "citations": ["one"]}], ')


def test_a_reply_that_stops_part_way_is_an_error() -> None:
    reader = ReplyReader()
    fields = reader.feed(json.dumps(REPLY)[:-40])
    assert [f.name for f in fields] == ["answerable", "bottom_line"]
    with pytest.raises(ReplyError, match="stopped before the answer was complete"):
        reader.close()


def test_cited_lines_are_read_when_the_reply_ends() -> None:
    reader = ReplyReader()
    assert reader.feed("Bottom line:\nScreen women 65 and older [1].\n") == []
    fields = {f.name: f for f in reader.close()}
    assert fields["bottom_line"].sentences[0].citations == [1]
    with pytest.raises(ReplyError, match="neither the answer schema nor cited sentences"):
        ReplyReader().close()


def test_an_escaped_quote_does_not_end_a_string() -> None:
    reply = {
        "bottom_line": [{"text": 'Use a 1.5" needle for "deep" injections.', "citations": [1]}]
    }
    reader = ReplyReader()
    [bottom] = reader.feed(json.dumps(reply))
    assert bottom.sentences[0].text == 'Use a 1.5" needle for "deep" injections.'
    assert [f.name for f in reader.close()] == ["guidelines", "label", "research"]


def test_braces_before_the_answer_or_in_cited_lines_are_not_the_answer() -> None:
    text = "Note {see the passages below}: " + json.dumps(REPLY)
    names = [f.name for f in ReplyReader().feed(text)]
    assert names == ["answerable", "bottom_line", "guidelines"]
    lines = ReplyReader()
    lines.feed("Bottom line:\nUse {DXA} to screen women 65 and older [1].\n")
    [bottom] = [f for f in lines.close() if f.name == "bottom_line"]
    assert bottom.sentences[0].text == "Use {DXA} to screen women 65 and older."


def test_a_field_written_twice_counts_once() -> None:
    text = '{"bottom_line": [{"text": "First.", "citations": [1]}], "bottom_line": []}'
    fields = ReplyReader().feed(text)
    assert [(f.name, len(f.sentences)) for f in fields] == [("bottom_line", 1)]
