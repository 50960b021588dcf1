"""A fast reader for the YAML that the plan writer emits, or None for anything else.

A plan file of thousands of tasks takes seconds to read through PyYAML, even on libyaml's parser:
every one of its hundreds of thousands of events becomes a Python object, then a node, then a
value. The writer (engine.planfile.dump_plan) emits a small, regular part of YAML: block mappings
and sequences two spaces deep, flow mappings and lists, plain and single-quoted scalars, literal
blocks (`|`). This module reads exactly that part line by line and gives the same values the
strict loader would: plain scalars are resolved and built by that loader's own resolvers and
constructors.

Anything outside that part — a comment, a blank line, a tab, an anchor, an alias, a tag, a
folded or double-quoted scalar over several lines, a document marker, a character YAML does not
allow, a value the constructors refuse — makes `read` return None, and the caller reads the file
with the full loader, whose checks and messages (with the line and column) apply as before. So
this is only ever a faster way to the same document, never a second set of rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

_STR = "tag:yaml.org,2002:str"
_BUILT = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:null",
          "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")

# What the fast reader leaves alone: what YAML does not allow (control characters, surrogates,
# U+FFFE, U+FFFF), tabs, carriage returns, the other line breaks (U+0085, U+2028, U+2029) and
# the byte order mark. (Listed, not their complement: a short class compiles at once.)
_UNTAKEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# A plain scalar cannot start with an indicator (`-` only when a space follows, handled apart).
_INDICATORS = frozenset("?:,[]{}#&*!|>'\"%@`")
_FLOW_STOP = re.compile(r"[,\[\]{}]")
_FLOW_KEY_STOP = re.compile(r"[,\[\]{}:]")
_FLOW_PLAIN_REFUSED = re.compile(r"[:#?]")
_DEPTH = 8
_NONE = object()
_QUOTED_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MEMO_LONGEST = 100
# A plain scalar in a flow collection, as flow_plain takes it: no quote, `:`, `#`, `?` or flow
# indicator in it, no indicator, space or `-` first, no space last.
_ITEM = r"[^\s\-?:,\[\]{}#&*!|>'\"%@`](?:[^,\[\]{}'\"#:?]*[^\s,\[\]{}'\"#:?])?"
_SIMPLE_LIST = re.compile(rf"\[(?:{_ITEM}(?:, {_ITEM})*)?\]")
_SIMPLE_MAP = re.compile(rf"\{{{_ITEM}: {_ITEM}(?:, {_ITEM}: {_ITEM})*\}}")


class _Unread(Exception):
    """The text leaves the writer's part of YAML: read it with the full loader."""


class _Reader:
    def __init__(self, text: str, loader: Any) -> None:
        self.lines = text.split("\n")
        self.lines.pop()  # the text ends with a line break: the last piece is empty
        self.loader = loader
        self.table: dict[Any, list[tuple[str, re.Pattern[str]]]] = loader.yaml_implicit_resolvers
        self.constructors: dict[str, Callable[[Any, yaml.Node], Any]] = loader.yaml_constructors
        self.folded = False
        self.keys: dict[str, Any] = {}
        """Keys read before, by their text (`title`, `'no'`)."""
        self.memo: dict[str, Any] = {}
        """Short plain scalars read before (keys, states, numbers, dates), by their text."""
        """Whether the value being read was joined from several lines."""

    # --- scalars ---------------------------------------------------------------------------

    def plain(self, text: str) -> Any:
        """The value of a plain scalar, resolved and built as the strict loader does."""
        if text and text[0] not in self.table:
            return text
        known = self.memo.get(text, _NONE)
        if known is not _NONE:
            return known
        tag = self.loader.resolve(yaml.ScalarNode, text, (True, False))
        if tag == _STR:
            if len(text) <= _MEMO_LONGEST:
                self.memo[text] = text
            return text
        if tag not in _BUILT:  # a merge key (<<), a value key (=)
            raise _Unread
        try:
            value = self.constructors[tag](self.loader, yaml.ScalarNode(tag, text))
        except Exception:  # the full loader says what is wrong, and where
            raise _Unread from None
        self.memo[text] = value
        return value

    @staticmethod
    def block_plain(text: str) -> str:
        """`text` when it is one plain scalar in block context, as the writer emits it."""
        if (not text or text[0] in _INDICATORS or (text[0] == "-" and text[1:2] in ("", " "))
                or ": " in text or " #" in text or text.endswith((":", " "))):
            raise _Unread
        return text

    @staticmethod
    def single_quoted(text: str, at: int) -> tuple[str, int]:
        """The single-quoted scalar starting at `at` and the position after it."""
        parts = []
        start = at + 1
        while True:
            end = text.find("'", start)
            if end < 0:
                raise _Unread
            parts.append(text[start:end])
            if text[end + 1:end + 2] != "'":
                return "".join(parts), end + 1
            parts.append("'")
            start = end + 2

    def double_quoted(self, text: str, at: int) -> tuple[str, int]:
        if self.folded:  # a break in a double-quoted scalar may be escaped: not a plain space
            raise _Unread
        end = at + 1
        while True:
            end = text.find('"', end)
            if end < 0:
                raise _Unread
            before = end - 1  # an escaped quote has an odd number of backslashes before it
            while before > at and text[before] == "\\":
                before -= 1
            if (end - 1 - before) % 2 == 0:
                break
            end += 1
        token = text[at:end + 1]
        if "\\" not in token:
            return token[1:-1], end + 1
        try:  # a double-quoted scalar is a text whatever the resolvers: libyaml reads it
            value = yaml.load(token, Loader=_QUOTED_LOADER)
        except yaml.YAMLError:
            raise _Unread from None
        if not isinstance(value, str):
            raise _Unread
        return value, end + 1

    # --- flow collections ------------------------------------------------------------------

    def flow_line(self, text: str) -> Any:
        """A flow list or mapping that is the whole of `text`."""
        # The common ones, whose items the patterns have checked: `[a, b]`, `{k: v, k: v}`.
        starts, plain = self.table, self.plain
        if _SIMPLE_LIST.fullmatch(text):
            if text == "[]":
                return []
            return [v if v[0] not in starts else plain(v) for v in text[1:-1].split(", ")]
        if _SIMPLE_MAP.fullmatch(text):
            pairs = [part.split(": ") for part in text[1:-1].split(", ")]
            return {k if k[0] not in starts else plain(k): v if v[0] not in starts else plain(v)
                    for k, v in pairs}
        value, end = self.flow(text, 0, 0)
        if end != len(text):
            raise _Unread
        return value

    def flow_plain(self, text: str) -> Any:
        """A plain scalar in a flow collection that holds no quotes and no `:`/`#`/`?`."""
        if not text or text[0] in _INDICATORS or text[0] in " -" or text[-1] == " ":
            raise _Unread
        return self.plain(text)

    def flow(self, text: str, at: int, depth: int) -> tuple[Any, int]:
        """The flow node starting at `at` and the position after it."""
        if depth > _DEPTH:
            raise _Unread
        first = text[at:at + 1]
        if first == "[":
            return self.flow_sequence(text, at + 1, depth)
        if first == "{":
            return self.flow_mapping(text, at + 1, depth)
        return self.flow_scalar(text, at)

    def flow_scalar(self, text: str, at: int, *, key: bool = False) -> tuple[Any, int]:
        first = text[at:at + 1]
        if first == "'":
            return self.single_quoted(text, at)
        if first == '"':
            return self.double_quoted(text, at)
        stop = (_FLOW_KEY_STOP if key else _FLOW_STOP).search(text, at)
        end = stop.start() if stop else len(text)
        raw = text[at:end]
        value = raw.rstrip(" ")
        if (not value or value[0] in _INDICATORS or value[0] in " -"
                or _FLOW_PLAIN_REFUSED.search(value)):
            raise _Unread
        return self.plain(value), at + len(value)

    @staticmethod
    def after(text: str, at: int, closing: str) -> tuple[bool, int]:
        """After an item: (the collection ended, the position of the next item)."""
        if text.startswith(", ", at) and text[at + 2:at + 3] not in ("", " ", closing):
            return False, at + 2
        if text[at:at + 1] == closing:
            return True, at + 1
        raise _Unread

    def flow_sequence(self, text: str, at: int, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        if text[at:at + 1] == "]":
            return items, at + 1
        while True:
            item, at = self.flow(text, at, depth + 1)
            items.append(item)
            ended, at = self.after(text, at, "]")
            if ended:
                return items, at

    def flow_mapping(self, text: str, at: int, depth: int) -> tuple[dict[Any, Any], int]:
        mapping: dict[Any, Any] = {}
        if text[at:at + 1] == "}":
            return mapping, at + 1
        while True:
            if text[at:at + 1] in ("[", "{"):
                raise _Unread
            key, at = self.flow_scalar(text, at, key=True)
            if not text.startswith(": ", at) or text[at + 2:at + 3] in ("", " ", ",", "}"):
                raise _Unread
            if key in mapping:
                raise _Unread  # a key written twice: the strict loader names it
            mapping[key], at = self.flow(text, at + 2, depth + 1)
            ended, at = self.after(text, at, "}")
            if ended:
                return mapping, at

    # --- block structure -------------------------------------------------------------------

    def line(self, i: int) -> str:
        """Line `i`, which must not end in a space (the writer never leaves one)."""
        text = self.lines[i]
        if text.endswith(" "):
            raise _Unread
        return text

    def indent_of(self, i: int) -> int:
        """The indentation of line `i`; -1 past the end."""
        if i >= len(self.lines):
            return -1
        text = self.lines[i]
        return len(text) - len(text.lstrip(" "))

    def continued(self, first: str, i: int, indent: int) -> tuple[str, int]:
        """A value that the writer may have broken over lines deeper than `indent` (at a
        space): its lines joined by one space each, as YAML folds them."""
        parts = [first]
        while i < len(self.lines) and self.lines[i] and self.indent_of(i) > indent:
            more = self.line(i).lstrip(" ")
            if more[0] in _INDICATORS or more.startswith("- "):
                raise _Unread
            parts.append(more)
            i += 1
        return " ".join(parts), i

    def inline(self, text: str, i: int, indent: int) -> tuple[Any, int]:
        """A value written after `key: ` or `- ` on line i - 1, with its continuation lines."""
        start = i
        text, i = self.continued(text, i, indent)
        self.folded = i > start
        first = text[0]
        if first in "[{":
            value, end = self.flow(text, 0, 0)
        elif first == "'":
            value, end = self.single_quoted(text, 0)
        elif first == '"':
            value, end = self.double_quoted(text, 0)
        else:
            return self.plain(self.block_plain(text)), i
        if end != len(text):
            raise _Unread
        return value, i

    def literal(self, header: str, i: int, indent: int) -> tuple[str, int]:
        """A literal block (`|`, `|-`, `|+`) whose lines start at line i."""
        chomp = header[1:]
        if chomp not in ("", "-", "+"):
            raise _Unread
        inner = self.indent_of(i)
        if inner <= indent or not self.lines[i].strip(" "):
            raise _Unread
        content: list[str] = []
        blank = 0
        while i < len(self.lines):
            text = self.lines[i]
            if not text:
                blank += 1
                i += 1
                continue
            depth = len(text) - len(text.lstrip(" "))
            if depth < inner:
                if depth > indent or not text.strip(" "):
                    raise _Unread
                break
            content.extend([""] * blank)
            blank = 0
            content.append(text[inner:])
            i += 1
        body = "\n".join(content)
        if chomp == "-":
            return body, i
        if chomp == "+":
            return body + "\n" * (1 + blank), i
        return body + "\n", i

    def key(self, text: str) -> tuple[Any, str | None]:
        """A block mapping entry `key: value` or `key:`: the key and the rest (None: nothing)."""
        if text[0] == "'":
            key, end = self.single_quoted(text, 0)
            rest = text[end:]
        else:
            colon = text.find(": ")
            end = colon if colon >= 0 else len(text) - 1
            if not text.endswith(":") and colon < 0:
                raise _Unread
            raw = text[:end]
            if ":" in raw or "#" in raw:
                raise _Unread
            key = self.plain(self.block_plain(raw))
            rest = text[end:]
        if rest == ":":
            return key, None
        if not rest.startswith(": ") or rest[2:3] in ("", " "):
            raise _Unread
        return key, rest[2:]

    def node(self, i: int, indent: int, depth: int) -> tuple[Any, int]:
        """The block node (mapping or sequence) whose first line, i, is at `indent`."""
        if depth > _DEPTH:
            raise _Unread
        text = self.line(i)
        if text[indent:indent + 2] == "- ":
            return self.sequence(i, indent, depth)
        return self.mapping(i, indent, depth, text[indent:])

    def sequence(self, i: int, indent: int, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        prefix = " " * indent + "- "
        while i < len(self.lines) and self.lines[i].startswith(prefix):
            rest = self.line(i)[indent + 2:]
            if not rest or rest[0] == " ":
                raise _Unread
            if self._is_key(rest):
                value, i = self.mapping(i, indent + 2, depth + 1, rest)
            else:
                value, i = self.inline(rest, i + 1, indent)
            items.append(value)
        if i < len(self.lines) and (self.indent_of(i) > indent
                                    or self.lines[i][indent:indent + 1] == "-"):
            raise _Unread
        return items, i

    @staticmethod
    def _is_key(text: str) -> bool:
        """Whether a sequence item starts a mapping (`- key: value`)."""
        if text[0] == "'":
            end = 1
            while True:
                end = text.find("'", end)
                if end < 0:
                    return False
                if text[end + 1:end + 2] != "'":
                    break
                end += 2
            return text[end + 1:end + 3] == ": " or text[end + 1:] == ":"
        if text[0] in "[{\"":
            return False
        return ": " in text or text.endswith(":")

    def mapping(self, i: int, indent: int, depth: int, first: str) -> tuple[dict[Any, Any], int]:
        """The block mapping at `indent` whose first entry is `first` (line i, perhaps after
        a `- `); the others are the lines at `indent` that follow."""
        mapping: dict[Any, Any] = {}
        lines, count, keys, starts = self.lines, len(self.lines), self.keys, self.table
        pad = " " * indent
        deeper = pad + " "
        text = first
        while True:
            if not text or text[0] in " -#" or text[-1] == " ":
                raise _Unread
            # The common entry, first: a key read before, a value on this one line.
            colon = text.find(": ")
            key = keys.get(text[:colon], _NONE) if colon > 0 else _NONE
            if key is not _NONE and not (i + 1 < count and lines[i + 1].startswith(deeper)):
                written = text[colon + 2:]
                head = written[0]
                if head in "[{":
                    value = self.flow_line(written)
                elif head == "'" and written[-1] == "'":
                    value, end = self.single_quoted(written, 0)
                    if end != len(written):
                        raise _Unread
                elif head in "\"|>":
                    key = _NONE
                elif (head in _INDICATORS or ": " in written or " #" in written
                      or written[-1] == ":" or (head == "-" and written[1:2] in ("", " "))):
                    raise _Unread  # what block_plain refuses
                else:
                    value = written if head not in starts else self.plain(written)
                if key is not _NONE:
                    if key in mapping:
                        raise _Unread  # a key written twice: the strict loader names it
                    mapping[key] = value
                    i += 1
                    if i < count:
                        line = lines[i]
                        if line.startswith(pad) and line[indent:indent + 1] not in ("", " ", "-"):
                            text = line[indent:]
                            continue
                    return self.mapping_end(mapping, i, indent)
            key, rest = self.key(text)
            if rest is not None and colon > 0 and len(text) - len(rest) == colon + 2:
                keys[text[:colon]] = key  # the whole key is what comes before the first ": "
            i += 1
            if rest is None:
                below = self.indent_of(i)
                if below > indent:
                    value, i = self.node(i, below, depth + 1)
                elif below == indent and lines[i][indent:indent + 2] == "- ":
                    value, i = self.sequence(i, indent, depth + 1)
                else:
                    value = self.plain("")
            elif rest[0] == "|":
                value, i = self.literal(rest, i, indent)
            elif rest[0] == ">":
                raise _Unread
            else:
                value, i = self.inline(rest, i, indent)
            if key in mapping:
                raise _Unread  # a key written twice: the strict loader names it
            mapping[key] = value
            if i < count:
                line = lines[i]
                if line.startswith(pad) and line[indent:indent + 1] not in ("", " ", "-"):
                    text = line[indent:]
                    continue
            return self.mapping_end(mapping, i, indent)

    def mapping_end(self, mapping: dict[Any, Any], i: int, indent: int) -> tuple[dict[Any, Any],
                                                                                int]:
        """The mapping, when line i (not one of its entries) may end it: a line less deep."""
        if i < len(self.lines) and self.indent_of(i) >= indent and self.lines[i]:
            raise _Unread
        return mapping, i


def read(text: str, loader: Any) -> Any | None:
    """The document `text` holds, as `loader` (an instance of the strict loader: its resolvers
    and constructors) would build it; None when the text is not in the writer's part of YAML."""
    if not text.endswith("\n") or _UNTAKEN.search(text) or text.startswith(("---", "%", "#")):
        return None
    if None in loader.yaml_implicit_resolvers:  # a resolver for any first character: not here
        return None
    reader = _Reader(text, loader)
    if not reader.lines or reader.indent_of(0) != 0 or not reader.lines[0]:
        return None
    try:
        value, end = reader.node(0, 0, 0)
    except (_Unread, IndexError):
        return None
    if end != len(reader.lines) or not isinstance(value, dict):
        return None
    return value
