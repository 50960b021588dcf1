"""The responsible-units cell (责任部门 / 责任单位): who leads a task and who works with it.

The rules of DESIGN.md, in order: a unit marked （牵头） is the lead; other parenthetical notes
are dropped, even when they hold commas and the word 牵头 (Zhuhai's "（排在第一位的责任部门为牵头
单位，下同）"); "牵头单位：…" names the lead, "配合单位：…" / "协办单位：…" the co-units, and
"X牵头" marks X as the lead; names are split on 、，,；; and whitespace; without a marked lead
the first unit leads; a unit listed twice counts once. Names are kept exactly as written
(aliases are resolved when a plan is loaded, not here) and collective names such as 各区政府 are
units like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LEAD = "\ue000"  # stands for a 牵头 mark while the cell is cut up; no unit name holds it
_SEPARATORS = re.compile(r"[、，,；;\s]+")
_LEAD_MARK = re.compile(r"[（(]\s*牵头(?:单位|部门)?\s*[)）]")
_LABEL = re.compile(r"(牵头|主办|责任|配合|协办|协助|参与)(?:单位|部门)\s*[：:]")
_CO_LABELS = {"配合", "协办", "协助", "参与"}
_LEAD_LABELS = {"牵头", "主办"}
_CO_SUFFIXES = ("配合", "协办", "协助", "参与")
_OPEN, _CLOSE = "（(", "）)"


@dataclass(frozen=True)
class Units:
    lead: str | None
    co_units: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    """Names the cell lists more than once (each kept once), for the importer to report."""


def _is_boundary(char: str) -> bool:
    return char == "" or char in "、，,；;：:" or char.isspace() or char in _OPEN


def strip_notes(text: str) -> str:
    """Drop parenthetical notes, nested or not; keep brackets inside a name (中国（广东）自贸区…).

    A bracketed group is a note when it stands apart: at the start of the cell or after a
    separator, or at the end of the cell or before a separator or another note. A group left
    open runs to the end of the cell.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] not in _OPEN:
            out.append(text[i])
            i += 1
            continue
        depth, j = 0, i
        while j < len(text):
            if text[j] in _OPEN:
                depth += 1
            elif text[j] in _CLOSE:
                depth -= 1
                if depth == 0:
                    break
            j += 1
        before = out[-1][-1:] if out else ""
        after = text[j + 1 : j + 2]
        if j >= len(text) or _is_boundary(before) or _is_boundary(after):
            out.append(" ")
        else:
            out.append(text[i : j + 1])
        i = j + 1
    return "".join(out)


def _names(segment: str) -> list[str]:
    """Split a run of names, turning "X牵头" into a marked X and "Y配合" into Y."""
    names: list[str] = []
    for token in _SEPARATORS.split(segment):
        token = re.split(r"[：:]", token)[-1]  # "市级：市司法局" → the name after a label
        if token == "牵头" and names:
            names[-1] = names[-1].rstrip(_LEAD) + _LEAD
            continue
        if token.endswith("牵头"):
            token = token[:-2].removeprefix("由") + _LEAD
        for suffix in _CO_SUFFIXES:
            if token.endswith(suffix) and len(token) > len(suffix):
                token = token[: -len(suffix)]
                break
        if token.strip(_LEAD):
            names.append(token)
    return names


def _labelled(text: str) -> list[tuple[str | None, str]]:
    """The cell cut at "牵头单位：" / "配合单位：" labels: (label or None, text after it)."""
    parts = _LABEL.split(text)
    segments: list[tuple[str | None, str]] = [(None, parts[0])]
    for k in range(1, len(parts), 2):
        segments.append((parts[k], parts[k + 1]))
    return segments


def parse_units(text: str) -> Units:
    """Read a units cell into the lead unit and the co-units, in the order written."""
    text = _LEAD_MARK.sub(_LEAD, text or "")
    text = strip_notes(text)
    marked: list[str] = []
    ordered: list[str] = []
    co_only: set[str] = set()
    for label, segment in _labelled(text):
        for position, raw in enumerate(_names(segment)):
            name = raw.replace(_LEAD, "").strip()
            if not name:
                continue
            if _LEAD in raw or (label in _LEAD_LABELS and position == 0):
                marked.append(name)
            if label in _CO_LABELS:
                co_only.add(name)
            ordered.append(name)
    seen: list[str] = []
    repeated: list[str] = []
    for name in ordered:
        if name in seen:
            if name not in repeated:
                repeated.append(name)
        else:
            seen.append(name)
    if not seen:
        return Units(lead=None)
    leads = [n for n in marked if n not in co_only] or marked
    lead = leads[0] if leads else next((n for n in seen if n not in co_only), seen[0])
    return Units(lead=lead, co_units=[n for n in seen if n != lead], repeated=repeated)
