"""Which known unit names are close enough to a mistyped one to suggest. Pure.

Government unit names share most of their characters: 市…局, 市委…办, …区. A plain string ratio
finds 市公安局 close to 市金融局 (half the characters match), which is no help. So the names are
compared on their distinctive part — the name without its place prefix (珠海市, 市委, 市, …) and
without its kind suffix (局, 委, 办, 管理局, …) — and a name is close only when that part is the
same, one contains the other, or (for a part of three characters or more) they differ by one
character.
"""

from __future__ import annotations

import difflib

# Longest first: each is stripped at most once, so 市市场监管局 keeps 市场 in its distinctive part.
_PREFIXES = ("广东省珠海市", "珠海市", "广东省", "珠海", "市委", "省委", "区委", "市", "省", "区")
_SUFFIXES = (
    "管理委员会",
    "委员会",
    "管委会",
    "管理局",
    "人民政府",
    "政府",
    "集团",
    "局",
    "委",
    "办",
    "厅",
    "会",
)


def distinctive(name: str) -> str:
    """The part of a unit's name that tells it from others: 珠海市司法局 → 司法."""
    core = name.strip()
    for prefix in _PREFIXES:
        if core.startswith(prefix) and len(core) > len(prefix):
            core = core[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if core.endswith(suffix) and len(core) > len(suffix):
            core = core[: -len(suffix)]
            break
    return core


def _one_apart(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by one character replaced, added or removed."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def is_close(typed: str, known: str) -> bool:
    """Whether `known` is plausibly the unit someone meant by `typed`."""
    a, b = distinctive(typed), distinctive(known)
    if not a or not b:
        return False
    if a == b:
        return True
    if min(len(a), len(b)) >= 2 and (a in b or b in a):
        return True
    # One character off counts only in a longer distinctive part: 民政 and 财政, 公路 and 公安
    # differ by one character and are different units; 市场监督 and 市场监管 are not.
    return min(len(a), len(b)) >= 3 and _one_apart(a, b)


def near_names(typed: str, known: list[str], n: int = 3) -> list[str]:
    """Up to `n` of `known` close to `typed`, the most alike first."""
    wanted = typed.strip()
    close = [name for name in dict.fromkeys(known) if is_close(wanted, name)]
    close.sort(key=lambda name: (-difflib.SequenceMatcher(None, wanted, name).ratio(), name))
    return close[:n]
