"""Reading the header of a CSV file: one rule for every command that reads a table.

``score --csv`` and ``analyze`` (through the cohort reader) match a header cell to a
column name the same way: without regard to case, surrounding spaces, a byte-order
mark, or whether words are joined by ``_``, ``-`` or spaces. So ``Extrahepatic-Spread``,
`` AFP `` and ``albumin`` name ``extrahepatic_spread``, ``afp`` and ``albumin``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

_JOINERS: Final = re.compile(r"[\s\-_]+")
#: The field delimiters a table file may use; the header decides which one it does.
DELIMITERS: Final = (",", ";", "\t")


def column_key(header_cell: str) -> str:
    """The column name a header cell stands for.

    >>> column_key(" Extrahepatic-Spread "), column_key("\\ufeffAFP"), column_key("lab date")
    ('extrahepatic_spread', 'afp', 'lab_date')
    """
    return _JOINERS.sub("_", header_cell.replace("\ufeff", "").strip().lower())


def sniff_delimiter(header_line: str, known: Iterable[str]) -> str:
    """The delimiter that splits ``header_line`` into the most ``known`` column names;
    a comma when none does better (decimal commas in the data rows do not matter, only
    the header is read).

    >>> sniff_delimiter("Albumin;Lymphocytes;AFP", {"albumin", "lymphocytes", "afp"})
    ';'
    >>> sniff_delimiter("id,albumin", {"albumin"})
    ','
    """
    names = set(known)

    def recognised(delimiter: str) -> int:
        return sum(column_key(cell) in names for cell in header_line.split(delimiter))

    return max(DELIMITERS, key=lambda d: (recognised(d), d == ","))


def repeated(keys: Sequence[str]) -> list[str]:
    """The column names that more than one header cell stands for.

    >>> repeated(["afp", "albumin", "afp", ""])
    ['afp']
    """
    seen: set[str] = set()
    twice: list[str] = []
    for key in keys:
        if key and key in seen and key not in twice:
            twice.append(key)
        seen.add(key)
    return twice
