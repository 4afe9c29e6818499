"""HTML fragments to Markdown-like text: paragraphs, nested lists, headings and flat tables."""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.list_depth = 0
        self.prefix = ""
        self.cells: list[str] | None = None

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        if text:
            self.lines.append(self.prefix + text)
        self.prefix = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"ul", "ol"}:
            self._flush()
            self.list_depth += 1
        elif tag == "li":
            self._flush()
            self.prefix = "  " * (self.list_depth - 1) + "- "
        elif tag in {"td", "th"}:
            self.current.append(" | " if self.current else "")
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in {"ul", "ol"}:
            self._flush()
            self.list_depth = max(0, self.list_depth - 1)
        elif tag in _BLOCKS or tag == "li":
            self._flush()

    def handle_data(self, data: str) -> None:
        self.current.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML fragment; entities such as `&lt;150` decoded once."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    converter._flush()
    return "\n".join(line for line in converter.lines if line.strip(" -|"))
