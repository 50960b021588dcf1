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

`read_bracket` reads the units bracket that ends an item of a prose plan ("（A牵头，B、C参与）",
"（A会同B负责）", "（X指导）"): there 牵头, 牵头单位： and the first unit of "A会同B" lead; a unit
that 负责 leads over one that only 指导 (A指导，B负责: B leads, A works with it), and one that
指导 alone leads (it is the unit to chase); 配合/参与 name co-units.
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


# --- units brackets in a prose plan ----------------------------------------------------------
#
# A prose plan (实施意见, 行动方案) names an item's units in a bracket at its end:
# "（人力资源社会保障部、财政部负责。列第一位者为牵头单位，下同）", "（牵头单位：市发展改革委，
# 配合单位：市委组织部，各区、县级市）", "（A牵头，B、C参与）", "（A会同B负责）", "（X指导）".
# A bracket is read as units only when every clause of it is a labelled list of units, units
# followed by what they do, a rule about who leads, or a deadline: ordinary parentheses
# ("（以下简称…）", "（试行）", "（2019—2021年）") have no such clause and are left alone.

# "列第一位者为牵头单位", "排在第一位的为牵头单位", "排名首位的部门为牵头部门".
_RULE = re.compile(r"(?:列|排|位|居|放)[^，,；;。]*?(?:第一|首)[^，,；;。]*?牵头")
_SAME_BELOW = re.compile(r"^(?:以)?下同$")
_BRACKET_LABEL = re.compile(
    r"^(?P<role>牵头|主办|主责|责任|配合|协办|协助|参与|支持)(?:单位|部门)\s*[：:]\s*(?P<names>.*)$",
    re.S,
)
_VERB = (
    r"(?:按照?|根据)?(?:各自)?(?:职(?:责|能)(?:分工)?|分工)?"
    r"(?:分别|共同|具体|积极|协同|组织|统筹|牵头)?"
    r"(?:负责(?:落实|实施|推进)?|抓好落实|落实|实施|推进|牵头(?:负责|落实|组织)?"
    r"|配合|参与|协助|协办|支持|指导|督导)"
)
# Looked for in a clause's last characters only (no verb is longer): the leftmost match there is
# the longest verb, and what stands before it the names.
_VERB_END = re.compile(rf"(?:{_VERB})$")
_VERB_ENDINGS = ("负责", "落实", "实施", "推进", "牵头", "配合", "参与", "协助", "协办", "支持",
                 "指导", "督导", "牵头负责", "牵头落实", "牵头组织")
_VERB_SPAN = 20
_DEADLINE_WORDS = re.compile(
    r"[0-9０-９]{4}\s*年|[〇零一二三四五六七八九]{4}年|年[底内末]|月底|季度|长期|持续|常态化"
    r"|每[年月季周]|之日起|[0-9０-９一二三四五六七八九十]+\s*(?:个月|年|日|天)内"
)
# What never stands in a unit's name: function words, quotes, digits (a date or a figure).
_NOT_A_NAME = re.compile(
    r"(?<!自)由|自行|[的是把将对“”‘’《》\"'0-9０-９]|^(?:以下|简称|含|包括|即|如|详见|见|注)"
)
_MAX_NAME = 40
_VAGUE = re.compile(r"^各?(?:有关|相关)(?:部门|单位)$")
# After a collective name (各省, 各区), the other levels it lists are part of it: 各省、自治区、
# 直辖市人民政府 and 各区、县级市 are one collective unit each, not 各省 and 自治区.
_LEVEL = re.compile(
    r"^(?:自治区|直辖市|计划单列市|副省级城市|地级市|县级市|自治州|自治县|市|县|区|旗|盟|镇|乡|"
    r"街道|州)(?:（[^）]*）)?(?:人民政府|政府|党委|党委和政府|管委会)?$"
)
_CO_VERBS = ("配合", "参与", "协助", "协办", "支持")
_GUIDE_VERBS = ("指导", "督导")


@dataclass(frozen=True)
class Bracket:
    """A units bracket read: the units, and what the bracket says about who leads."""

    units: Units
    lead_marked: bool
    """Whether the lead is named by a mark (牵头, 牵头单位：, 会同, 负责 beside 指导/配合), not
    only by coming first among units of equal standing."""
    rule: bool
    """Whether the bracket states that the unit listed first leads (列第一位者为牵头单位)."""
    rule_below: bool
    """Whether that rule holds for the brackets that follow too (下同)."""
    further: list[str]
    """The 等 tails and vague names (A、B等有关部门, 有关部门): the item has more units."""
    deadline_text: str
    """Deadline words written inside the bracket ("2019年底前完成"), for the item's deadline."""


def states_rule(text: str) -> bool:
    """Whether a text states that the unit listed first leads."""
    return bool(_RULE.search(text))


_ANY_BRACKET = re.compile(r"[（()）]")
# What every units bracket holds: a label or a word for what the units do.
_DUTY_WORD = re.compile(r"负责|牵头|配合|参与|协助|协办|支持|指导|督导|落实|实施|推进|单位|部门")


def _depth_split(text: str, separators: str) -> list[str]:
    """`text` cut at any of `separators` that stands outside brackets."""
    if not _ANY_BRACKET.search(text):
        return [p.strip() for p in re.split(f"[{re.escape(separators)}]", text) if p.strip()]
    parts: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0 and char in separators:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _bracket_names(text: str, further: list[str]) -> list[str] | None:
    """The unit names of a run ("A、B等有关部门"), or None when one is no unit's name."""
    names: list[str] = []
    for token in _depth_split(_CONJUNCTION.sub("、", text), "、,，/／ \u3000"):
        bare = _ETC.sub("", token).strip()
        if bare != token:
            further.append(token)  # "财政部等有关部门": the name and its tail, as written
        if not bare:
            continue
        if _NOT_A_NAME.search(bare) or len(bare) > _MAX_NAME:
            return None
        if _VAGUE.match(bare):
            further.append(bare)
        if names and names[-1].startswith("各") and _LEVEL.match(bare):
            names[-1] = f"{names[-1]}、{bare}"
            continue
        names.append(bare)
    return names


def _verb(clause: str) -> tuple[str, str] | None:
    """A clause of units followed by what they do, as (the names, the verb); else None."""
    if not clause.endswith(_VERB_ENDINGS):
        return None
    cut = max(len(clause) - _VERB_SPAN, 0)
    found = _VERB_END.search(clause, cut)
    if found is None:
        return None
    names = clause[: found.start()].removeprefix("由")
    return (names, found.group()) if names else None


# How the names of agencies end; a bracket of names alone must hold only such names (or
# collectives: 各区、县级市), since （试行） and （示范区） are no units.
_AGENCY_END = ("局", "委", "办", "厅", "部", "府", "中心", "公司", "集团", "银行", "管委会",
               "委员会", "监会", "办公室", "联合会", "总会", "协会", "法院", "检察院", "海关",
               "队", "署")


def _unit_like(name: str) -> bool:
    """A name that reads as a unit's: 市财政局, 国务院办公厅, 各区人民政府, 各区、县级市."""
    return (len(name) >= 3 and name.endswith(_AGENCY_END)) or (
        name.startswith("各") and len(name) >= 2
    )


def read_bracket(inner: str, *, closing: bool = False) -> Bracket | None:
    """The units a bracket of a prose plan names (its text inside the brackets), or None when
    it is an ordinary parenthesis. A bracket that `closing` a paragraph may also list units'
    names alone ("（市发展改革委、市财政局）"), when every one reads as a unit's name."""
    text = " ".join(inner.split())
    if not text or len(text) > 300 or not (closing or _DUTY_WORD.search(text)):
        return None
    rule = rule_below = False
    roles: list[tuple[str, str]] = []  # (name, role): lead / duty / co / guide
    deadline: list[str] = []
    further: list[str] = []
    label_role: str | None = None  # a 配合单位： list carries on over commas
    pending: list[str] = []  # names before the verb that says what they do (A，B负责)
    clauses = 0
    for sentence in _depth_split(text, "。；;"):
        for clause in _depth_split(sentence, "，,"):
            if _RULE.search(clause):
                rule = True
                continue
            if _SAME_BELOW.match(clause):
                rule_below = True
                continue
            if _DEADLINE_WORDS.search(clause):
                deadline.append(clause)
                continue
            labelled = _BRACKET_LABEL.match(clause)
            if labelled:
                role = labelled.group("role")
                label_role = (
                    "lead" if role in ("牵头", "主办", "主责")
                    else "duty" if role == "责任"
                    else "co"
                )
                names = _bracket_names(labelled.group("names"), further)
                if names is None:
                    return None
                roles.extend((n, label_role) for n in names)
                clauses += 1
                continue
            verb = _verb(clause)
            if verb:
                head_names, role = verb
                kind = (
                    "lead" if "牵头" in role
                    else "co" if role.endswith(_CO_VERBS)
                    else "guide" if role.endswith(_GUIDE_VERBS)
                    else "duty"
                )
                head, _, rest = head_names.partition("会同")
                names = _bracket_names(head, further)
                others = _bracket_names(rest, further) if rest else []
                if names is None or others is None or not names:
                    return None
                roles.extend((n, kind) for n in pending)
                pending = []
                if rest:  # A会同B负责: A leads, B works with it
                    roles.extend((n, "lead") for n in names[:1])
                    roles.extend((n, kind if kind != "lead" else "co") for n in names[1:])
                    roles.extend((n, "co") for n in others)
                else:
                    roles.extend((n, kind) for n in names)
                label_role = None
                clauses += 1
                continue
            names = _bracket_names(clause, further)
            if names is None or not names:
                return None
            if label_role is not None:
                roles.extend((n, label_role) for n in names)
            else:
                pending.extend(names)
    if not clauses and not (closing and pending and all(map(_unit_like, pending))):
        return None
    roles.extend((n, "duty") for n in pending)
    return _bracket(roles, rule, rule_below, further, "，".join(deadline))


def _bracket(
    roles: list[tuple[str, str]], rule: bool, rule_below: bool, further: list[str], deadline: str
) -> Bracket:
    seen: dict[str, str] = {}
    repeated: list[str] = []
    for name, role in roles:
        if name in seen:
            if name not in repeated:
                repeated.append(name)
            if role == "lead":
                seen[name] = role
        else:
            seen[name] = role
    by_role = {
        kind: [n for n, r in seen.items() if r == kind] for kind in ("lead", "duty", "guide", "co")
    }
    lead: str | None = None
    marked = False
    if by_role["lead"]:
        lead, marked = by_role["lead"][0], True
    elif by_role["duty"]:
        # A指导，B负责: B leads; A负责，B配合: A leads. Several equal units: the first.
        lead = by_role["duty"][0]
        marked = len(by_role["duty"]) == 1 and len(seen) > 1
    elif by_role["guide"]:
        lead = by_role["guide"][0]  # X指导, alone: the unit that guides is the one chased
        marked = len(by_role["guide"]) == 1 and len(seen) > 1
    co_units = [n for n in seen if n != lead]
    alone = len(seen) == 1
    return Bracket(
        units=Units(lead=lead, co_units=co_units, repeated=repeated),
        lead_marked=marked or alone,
        rule=rule,
        rule_below=rule_below,
        further=further,
        deadline_text=deadline,
    )
