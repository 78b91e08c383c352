"""Building blocks of a self-contained HTML report: escaped text, tables, embedded figures.

A report is one file: its stylesheet is inside it, its images are base64 PNG ``data:``
URIs, and a Content-Security-Policy forbids fetching anything else, so the file opens
offline, can be mailed, and prints on paper (a print stylesheet keeps figures and tables
whole on a page).

Every number in a table cell carries its machine value and its place in the source
record (``data-key="cox.univariable.afp.hr" data-value="2.54..."``), so that anyone (and
the tests) can check a report against the JSON it came from.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from simulation.stats.jsonsafe import finite_or_none

#: Forbid every fetch: images only from data: URIs, styles only from the page itself.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLESHEET = """
:root { --rule: #999; --soft: #f2f2f2; }
html { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111;
       line-height: 1.45; }
body { max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; font-size: 0.95rem; }
h1 { font-size: 1.55rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.02rem; margin-top: 1.3rem; }
p.subtitle { margin-top: 0; color: #444; }
nav ol { columns: 2; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.86rem; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.3rem; }
th, td { padding: 0.18rem 0.55rem; border-bottom: 1px solid #ddd; vertical-align: top; }
thead th { border-bottom: 1.5px solid #333; text-align: left; }
table.numeric thead th:not(:first-child) { text-align: right; }
tbody th { text-align: left; font-weight: normal; }
tbody th.indent { padding-left: 1.6rem; }
tbody th.heading { font-weight: bold; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.group th { font-weight: bold; background: var(--soft); }
td.missing { color: #666; }
.note { font-size: 0.82rem; color: #333; max-width: 52rem; }
figure { margin: 1rem 0 1.5rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; max-width: 52rem; }
dl.ademp { display: grid; grid-template-columns: 9rem 1fr; gap: 0.3rem 1rem; }
dl.ademp dt { font-weight: bold; }
dl.ademp dd { margin: 0; }
ul.flags li { margin-bottom: 0.2rem; }
footer { margin-top: 2.5rem; font-size: 0.8rem; color: #555; border-top: 1px solid #ccc; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; margin: 0; font-size: 9.5pt; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, figure { break-inside: avoid; page-break-inside: avoid; }
  tr.group th { background: none; }
  figure img { border: none; max-height: 230mm; width: auto; }
  a { color: inherit; text-decoration: none; }
}
"""


def escape(text: Any) -> str:
    """Text made safe for HTML content and attribute values.

    >>> escape('<b> & "x"')
    '&lt;b&gt; &amp; &quot;x&quot;'
    """
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------------------------------
# Numbers in cells
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One table cell: its display ``text`` and, for a number, its ``value`` and ``key``.

    ``key`` is the path of the number in the source record (dots between levels), shown
    in the HTML as ``data-key``; ``value`` is its machine value (``data-value``, in
    ``repr`` precision). A performance measure shown with its Monte Carlo SE in brackets
    carries the SE the same way (``data-mcse-key``, ``data-mcse-value``).
    """

    text: str
    value: float | None = None
    key: str | None = None
    numeric: bool = False
    mcse_value: float | None = None
    mcse_key: str | None = None

    def html(self, header: bool = False) -> str:
        tag = "th" if header else "td"
        classes = []
        if self.numeric:
            classes.append("num")
        if self.numeric and self.value is None and self.key is not None:
            classes.append("missing")
        attributes = f' class="{" ".join(classes)}"' if classes else ""
        if self.key is not None:
            attributes += f' data-key="{escape(self.key)}"'
            attributes += ' data-value="{}"'.format(
                "" if self.value is None else escape(repr(float(self.value))))
        if self.mcse_key is not None:
            attributes += f' data-mcse-key="{escape(self.mcse_key)}"'
            attributes += ' data-mcse-value="{}"'.format(
                "" if self.mcse_value is None else escape(repr(float(self.mcse_value))))
        scope = ' scope="row"' if header else ""
        return f"<{tag}{scope}{attributes}>{escape(self.text)}</{tag}>"


def finite(value: Any) -> float | None:
    """``value`` as a float if it is a finite number, else None (missing or undefined)."""
    if isinstance(value, bool):
        return None
    try:
        return finite_or_none(value)
    except (TypeError, ValueError):
        return None


def number(value: Any, fmt: str | Callable[[float], str], key: str | None = None,
           missing: str = "-") -> Cell:
    """A numeric cell: ``value`` formatted with ``fmt`` (a format spec or a function).

    >>> number(0.123456, ".3f", key="roc.auc").html()
    '<td class="num" data-key="roc.auc" data-value="0.123456">0.123</td>'
    >>> number(None, ".3f", key="x").text
    '-'
    """
    v = finite(value)
    if v is None:
        return Cell(missing, None, key, numeric=True)
    if callable(fmt):
        shown = fmt(v)
    elif fmt.endswith("d"):  # a count: whole numbers only
        if not v.is_integer():
            raise ValueError(f"format {fmt!r} is for whole numbers; got {v!r} for {key}")
        shown = format(int(v), fmt)
    else:
        shown = format(v, fmt)
    return Cell(shown, v, key, numeric=True)


def text(value: Any) -> Cell:
    """A text cell."""
    return Cell(str(value))


# ---------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """A table row: a header cell (the row label) and data cells; ``group`` rows are
    section headings spanning the table, ``indent`` rows sit under a heading row."""

    label: str
    cells: Sequence[Cell] = ()
    group: bool = False
    indent: bool = False
    heading: bool = False


def table(caption: str, headers: Sequence[str], rows: Iterable[Row], *, table_id: str,
          note: str = "", css_class: str = "") -> str:
    """An HTML table with a caption, a header row, row labels and an optional note.

    ``css_class="numeric"`` right-aligns the column headings over their numbers.
    """
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    out = [f'<table id="{escape(table_id)}"{attribute}>', f"<caption>{escape(caption)}</caption>",
           "<thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
           + "</tr></thead>", "<tbody>"]
    for row in rows:
        if row.group:
            out.append(f'<tr class="group"><th colspan="{len(headers)}" scope="rowgroup">'
                       f"{escape(row.label)}</th></tr>")
            continue
        label = Cell(row.label).html(header=True)
        if row.indent or row.heading:
            css = "indent" if row.indent else "heading"
            label = label.replace("<th ", f'<th class="{css}" ', 1)
        out.append("<tr>" + label + "".join(c.html() for c in row.cells) + "</tr>")
    out.append("</tbody></table>")
    if note:
        out.append(paragraph(note, "note"))
    return "\n".join(out)


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for embedding PNG bytes in the page."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("png_data_uri expects PNG bytes (they start with the PNG signature)")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(png: bytes, *, figure_id: str, alt: str, caption: str) -> str:
    """An embedded PNG image with its caption."""
    return (f'<figure id="{escape(figure_id)}"><img src="{png_data_uri(png)}" '
            f'alt="{escape(alt)}"><figcaption>{escape(caption)}</figcaption></figure>')


def paragraph(content: str, css_class: str = "") -> str:
    """A paragraph of (escaped) text."""
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{attribute}>{escape(content)}</p>"


def bullet_list(items: Iterable[str], css_class: str = "") -> str:
    """An unordered list of (escaped) text items."""
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<ul{attribute}>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def definitions(items: Iterable[tuple[str, str]], css_class: str = "") -> str:
    """A definition list of (term, escaped text) pairs."""
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    body = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text_)}</dd>" for term, text_ in items)
    return f"<dl{attribute}>{body}</dl>"


@dataclass(frozen=True)
class Section:
    """A titled part of the report; ``body`` is HTML built with the functions above."""

    section_id: str
    title: str
    body: str

    def html(self) -> str:
        return (f'<section id="{escape(self.section_id)}"><h2>{escape(self.title)}</h2>\n'
                f"{self.body}\n</section>")


def page(title: str, subtitle: str, sections: Sequence[Section], footer: str) -> str:
    """The whole HTML document: head with stylesheet and policy, contents, sections."""
    contents = "".join(f'<li><a href="#{escape(s.section_id)}">{escape(s.title)}</a></li>'
                       for s in sections)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLESHEET}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{escape(title)}</h1>{paragraph(subtitle, 'subtitle')}</header>",
        f"<nav><ol>{contents}</ol></nav>",
        *(s.html() for s in sections),
        f"<footer>{paragraph(footer)}</footer>",
        "</body>",
        "</html>",
        "",
    ])
