"""Label tables kept as evidence: rows rendered with their column headers, cell by cell.

A row becomes one line, "Header: cell; Header: cell", so that it can be quoted verbatim and cited
on its own ("Creatinine Clearance (mL/min): >15 to 29; Total Daily Dose Range (mg/day): 200 to
700"). The section records where each row line lies in its text (`Section.table_rows`)."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

from guideqa.ingest.models import Span

_MAX_CELL_CHARS = 400


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and whether all of it is bold (a header or row label)."""

    text: str
    bold: bool = False
    header: bool = False


@dataclass(frozen=True)
class Table:
    """A table as headers and rows of cell texts."""

    caption: str | None
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" \u2022")[:_MAX_CELL_CHARS]


def build_table(caption: str | None, rows: list[list[Cell]], header_rows: int = 0) -> Table:
    """Headers from explicit header rows, or a first row that is all bold (and the next not)."""
    rows = [r for r in rows if any(c.text.strip() for c in r)]
    if not header_rows and rows and all(c.header for c in rows[0]):
        header_rows = 1
    if not header_rows and len(rows) > 1 and _all_bold(rows[0]) and not _all_bold(rows[1]):
        header_rows = 1
    if not header_rows and len(rows) > 1 and _looks_like_headers(rows[0], rows[1:]):
        header_rows = 1
    headers = _merge_headers([[_clean(c.text) for c in r] for r in rows[:header_rows]])
    body = tuple(tuple(_clean(c.text) for c in r) for r in rows[header_rows:])
    return Table(_clean(caption) if caption else None, headers, body)


def _looks_like_headers(first: list[Cell], rest: list[list[Cell]]) -> bool:
    """Short labels without numbers ('Age', 'Dose') above rows that hold numbers."""
    short = all(len(c.text.split()) <= 4 and not any(ch.isdigit() for ch in c.text) for c in first)
    numbers = any(any(ch.isdigit() for ch in c.text) for row in rest for c in row)
    return len(first) > 1 and short and numbers


def _all_bold(row: list[Cell]) -> bool:
    cells = [c for c in row if c.text.strip()]
    return bool(cells) and all(c.bold for c in cells)


def _merge_headers(rows: list[list[str]]) -> tuple[str, ...]:
    """Several header rows (a spanning group over sub-columns) joined per column."""
    if not rows:
        return ()
    width = max(len(r) for r in rows)
    merged = []
    for column in range(width):
        parts = [r[column] for r in rows if column < len(r) and r[column]]
        merged.append(" ".join(dict.fromkeys(parts)))
    return tuple(merged)


def render_rows(table: Table) -> list[str]:
    """One line per data row: 'Header: cell; Header: cell' (or 'label: cell; cell' headless).

    A row with a single filled cell in a wider table is a group label: it is carried onto the
    rows below it."""
    width = max([len(table.headers), *(len(r) for r in table.rows)], default=0)
    lines: list[str] = []
    group = ""
    for row in table.rows:
        filled = [c for c in row if c]
        if width > 1 and len(filled) == 1 and not (table.headers and len(row) == width):
            group = filled[0]
            continue
        pairs = [_pair(table.headers, i, cell) for i, cell in enumerate(row) if cell]
        if not table.headers and len(pairs) > 1:
            pairs = [f"{pairs[0]}: {'; '.join(pairs[1:])}"]
        line = "; ".join(pairs)
        lines.append(f"{group} - {line}" if group else line)
    return [line for line in lines if line]


def _pair(headers: tuple[str, ...], column: int, cell: str) -> str:
    header = headers[column] if column < len(headers) else ""
    return f"{header}: {cell}" if header and header != cell else cell


def with_table_rows(text: str, tables: list[Table]) -> tuple[str, tuple[Span, ...]]:
    """The text with each table's rendered rows appended as lines, and the rows' spans."""
    spans: list[Span] = []
    parts = [text] if text else []
    offset = len(text)
    for table in tables:
        for line in render_rows(table):
            if parts:
                parts.append("\n")
                offset += 1
            spans.append((offset, offset + len(line)))
            parts.append(line)
            offset += len(line)
    return "".join(parts), tuple(spans)


class _HtmlTableParser(HTMLParser):
    """Collects <table> elements (rows of cells, bold and header flags) from HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[str | None, list[list[Cell]], int]] = []
        self._rows: list[list[Cell]] | None = None
        self._cell: list[tuple[str, bool]] | None = None
        self._is_th = False
        self._bold = 0
        self._styled: list[bool] = []  # per open b/strong/content: did it turn bold on
        self._in_head = False
        self._head_rows = 0
        self._caption: list[str] | None = None
        self._caption_text: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = dict(attrs).get("stylecode") or ""
        if tag == "table":
            self._rows, self._head_rows, self._caption_text = [], 0, None
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
            self._head_rows += 1 if self._in_head else 0
        elif tag in ("td", "th") and self._rows is not None:
            self._cell, self._is_th = [], tag == "th"
        elif tag in ("b", "strong", "content"):
            bold = tag != "content" or "bold" in style.lower()
            self._styled.append(bold)
            self._bold += 1 if bold else 0
        elif tag == "caption":
            self._caption = []
        elif tag == "br" and self._cell is not None:
            self._cell.append((" ", self._bold > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._rows:
            text = "".join(t for t, _ in self._cell)
            bold = all(b for t, b in self._cell if t.strip()) and bool(text.strip())
            self._rows[-1].append(Cell(text, bold, self._is_th))
            self._cell = None
        elif tag in ("b", "strong", "content") and self._styled:
            self._bold -= 1 if self._styled.pop() else 0
        elif tag == "thead":
            self._in_head = False
        elif tag == "caption" and self._caption is not None:
            self._caption_text, self._caption = "".join(self._caption), None
        elif tag == "table" and self._rows is not None:
            self.tables.append((self._caption_text, self._rows, self._head_rows))
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append((data, self._bold > 0))
        elif self._caption is not None:
            self._caption.append(data)


def html_tables(html: str) -> list[Table]:
    """Every table in an HTML fragment (openFDA `*_table` fields), with its headers."""
    parser = _HtmlTableParser()
    parser.feed(html)
    parser.close()
    return [build_table(caption, rows, head) for caption, rows, head in parser.tables]
