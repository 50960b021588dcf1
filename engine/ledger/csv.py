"""The ledger as CSV: UTF-8 with a byte-order mark so that Excel opens the Chinese correctly.

No merged cells in CSV: the 项目 text is repeated on every row of its section (as a spreadsheet
filter needs), and the light is a word in a last 灯号 column.
"""

from __future__ import annotations

import csv
import io

from engine.ledger.model import ColumnKind, Ledger, flat_headers

SUFFIX = ".csv"


def render(ledger: Ledger) -> bytes:
    """The .csv file's bytes: the title, the header, one line per task (and per section row)."""
    names = flat_headers(ledger)
    buffer = io.StringIO()
    # Excel expects CRLF line ends; cells holding line breaks are quoted by the writer.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([ledger.title])
    writer.writerow(names)
    section_rows = not ledger.has_section_column
    for section, rows in ledger.groups():
        if section and section_rows:
            writer.writerow([section.heading] + [""] * (len(names) - 1))
        for row in rows:
            cells = [
                (section.heading if section else "")
                if column.kind is ColumnKind.SECTION
                else row.cell(column.kind)
                for column in ledger.columns
            ]
            writer.writerow([*cells, row.light_word])
    return buffer.getvalue().encode("utf-8-sig")
