"""The ledger as a Markdown table, for a wiki page or a message: lights as words."""

from __future__ import annotations

from engine.ledger.model import (
    LIGHT_WORDS,
    LIGHTS,
    ColumnKind,
    Ledger,
    flat_headers,
    format_day,
    light_meanings,
)

SUFFIX = ".md"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(_escape(c) for c in cells) + " |"


def render(ledger: Ledger) -> bytes:
    """The .md file's bytes (UTF-8)."""
    names = flat_headers(ledger)
    out = [f"# {ledger.title}", ""]
    if ledger.coordinator_line:
        out += [ledger.coordinator_line, ""]
    out += [_line(names), "|" + "---|" * len(names)]
    section_rows = not ledger.has_section_column
    for section, rows in ledger.groups():
        if section and section_rows:
            out.append(_line([f"**{section.heading}**"] + [""] * (len(names) - 1)))
        for k, row in enumerate(rows):
            cells = [
                (section.heading if section and k == 0 else "")
                if column.kind is ColumnKind.SECTION
                else row.cell(column.kind)
                for column in ledger.columns
            ]
            out.append(_line([*cells, row.light_word]))
    meanings = light_meanings(ledger.yellow_within_days)
    legend = "；".join(f"{LIGHT_WORDS[c]}：{meanings[c]}" for c in LIGHTS)
    notes = f"灯号按{format_day(ledger.as_of)}计算。{ledger.scope_note}"
    out += ["", f"说明：{legend}。{notes}", ""]
    return "\n".join(out).encode("utf-8")
