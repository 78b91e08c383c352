"""Read back a report: its tables' keyed numbers, its images, anything it would fetch."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class KeyedCell:
    key: str
    value: str
    text: str
    table: str


@dataclass
class ParsedReport:
    cells: list[KeyedCell] = field(default_factory=list)
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)
    external: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    text: str = ""

    def keyed(self) -> dict[str, KeyedCell]:
        out: dict[str, KeyedCell] = {}
        for cell in self.cells:
            assert cell.key not in out, f"key {cell.key} appears twice"
            out[cell.key] = cell
        return out


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.report = ParsedReport()
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: dict[str, Any] | None = None
        self._figure: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.report.tags.add(tag)
        for name in ("src", "href"):
            if name in a and not a[name].startswith(("data:", "#")):
                self.report.external.append(a[name])
        if tag == "table":
            self._table = a.get("id", "")
            self.report.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = {"key": a.get("data-key"), "value": a.get("data-value"), "text": ""}
        elif tag == "figure":
            self._figure = a.get("id", "")
        elif tag == "img":
            src = a.get("src", "")
            prefix = "data:image/png;base64,"
            if src.startswith(prefix):
                self.report.images[self._figure or f"img{len(self.report.images)}"] = \
                    base64.b64decode(src[len(prefix):])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(self._cell["text"])
            if self._cell["key"] is not None:
                self.report.cells.append(KeyedCell(self._cell["key"], self._cell["value"],
                                                   self._cell["text"], self._table or ""))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.report.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._cell is not None:
            self._cell["text"] += data


def parse_report(html_text: str) -> ParsedReport:
    parser = _Parser()
    parser.feed(html_text)
    parser.close()
    parser.report.text = "".join(parser._text)
    return parser.report


def resolve(record: Any, key: str) -> Any:
    """The value at a dotted ``key`` in a JSON record (digits index lists)."""
    value = record
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def parse_mcse(html_text: str) -> list[tuple[str, str]]:
    """``(data-mcse-key, data-mcse-value)`` of every cell that carries an MCSE."""
    pairs: list[tuple[str, str]] = []

    class _Mcse(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if "data-mcse-key" in a:
                pairs.append((a["data-mcse-key"] or "", a.get("data-mcse-value") or ""))

    _Mcse().feed(html_text)
    return pairs
