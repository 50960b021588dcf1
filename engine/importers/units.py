"""The responsible-units cell (责任部门 / 责任单位): who leads a task and who works with it.

The rules of DESIGN.md, in order: a unit marked （牵头） is the lead; other parenthetical notes
(and notes inside a name that hold a separator: 各县（市、区）人民政府) are dropped, even when
they hold commas and the word 牵头 (Zhuhai's "（排在第一位的责任部门为牵头
单位，下同）"); "牵头单位：…" names the lead, "配合单位：…" / "协办单位：…" the co-units, and
"X牵头" marks X as the lead ("A、B分别牵头" marks both); names are split on 、，,；;/ and
whitespace, and on 及/和/与 right after a unit's last character; what follows a name to say
what the unit does ("按职责分工负责", "负责落实") and a trailing 等 / 等部门 are dropped; without a
marked lead the first unit leads; a unit listed twice counts once. Names are kept exactly as written
(aliases are resolved when a plan is loaded, not here) and collective names such as 各区政府 are
units like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LEAD = "\ue000"  # stands for a 牵头 mark while the cell is cut up; no unit name holds it
_SEPARATORS = re.compile(r"[、，,；;/／\s]+")
# "A及B", "A和B", "A与B" join two names, but 和 and 与 also occur inside names (市工业和信息化局,
# 市人力资源和社会保障局): a conjunction splits only right after a unit's last character.
_UNIT_END = "局委办府院会部室厅处队心司团行社所站门位区县镇道"
_CONJUNCTION = re.compile(rf"(?<=[{_UNIT_END}])(?:以及|及|和|与)(?=.)")
# What a cell says the units do, after their names: "按职责分工负责", "负责落实", "等部门".
_DUTY = re.compile(
    r"(?:(?:按照?|根据)?(?:各自)?职(?:责|能)(?:分工)?)?(?:分别|共同|具体|组织)?"
    r"(?:负责(?:落实|实施|推进)?|落实|实施|推进)$"
)
_ETC = re.compile(r"等(?:有关|相关)?(?:部门|单位)?$")
_JOINT_LEAD = ("分别牵头", "共同牵头")
_LEAD_MARK = re.compile(r"[（(]\s*牵头(?:单位|部门)?\s*[)）]")
_LABEL = re.compile(r"(牵头|主办|责任|配合|协办|协助|参与)(?:单位|部门)\s*[：:]")
_CO_LABELS = {"配合", "协办", "协助", "参与"}
_LEAD_LABELS = {"牵头", "主办"}
_CO_SUFFIXES = ("配合", "协办", "协助", "参与")
_OPEN, _CLOSE = "（(", "）)"
_ROLE_WORDS = ("牵头", "配合", "协办", "协助", "参与", "负责")
# Units numbered in the cell: 1.市发展改革委；2.市财政局
_ENUMERATOR = re.compile(r"^(?:\d{1,2}[.．、)）]|[（(]\d{1,2}[)）])")


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
        role = text.startswith(_ROLE_WORDS, j + 1)  # 市司法局（市委依法治市办）牵头
        if j >= len(text) or _is_boundary(before) or _is_boundary(after) or role:
            out.append(" ")
        elif any(sep in text[i : j + 1] for sep in "、，,；;"):
            pass  # 各县（市、区）人民政府: a note inside a name, which must not split it
        else:
            out.append(text[i : j + 1])
        i = j + 1
    return "".join(out)


def _names(segment: str) -> list[str]:
    """Split a run of names, turning "X牵头" into a marked X and "Y配合" into Y."""
    names: list[str] = []
    for token in _SEPARATORS.split(_CONJUNCTION.sub("、", segment)):
        token = re.split(r"[：:]", token)[-1]  # "市级：市司法局" → the name after a label
        if token.endswith(_JOINT_LEAD):
            # "A、B分别牵头": every name of the run leads; the first listed is the lead.
            token = token[: -len(_JOINT_LEAD[0])] + "牵头"
            names = [n.rstrip(_LEAD) + _LEAD for n in names]
        bare = _ETC.sub("", _DUTY.sub("", token))
        if not bare:
            continue  # a duty on its own: "各区政府（管委会）负责落实"
        if bare != token:  # a note that stood before the duty now ends the name
            token = strip_notes(bare).strip()
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
            name = _ENUMERATOR.sub("", raw.replace(_LEAD, "").strip())
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
