"""Rendering notices with Jinja: one template per kind and part, any of them overridable.

Undefined names are errors (StrictUndefined). The HTML body is rendered by an environment in which
every template autoescapes, the shared wording and macros included; the subject, the plain text and
the messenger bodies by one in which none does.

The messenger bodies (WeCom and DingTalk markdown, the lines of a Feishu post, the description of
a wecom_app card) are rendered from a context whose every text has been neutralised by
`md_escape`: only the templates' own markup is markup, and no "@" of the data mentions anyone. A
WeCom, DingTalk or Feishu notice is cut into messages of at most the channel's bytes (`LIMITS`) at
task boundaries ("另有 N 项" closes each message but the last). A message still too long (one task
with a very long text, or the closing lists of a coordinator's report over hundreds of units) goes
on in continuation messages, split between lines: nothing is ever cut away. Every message ends
with the notice's link (`_link.md.j2`), added after splitting so that none goes without it. A
wecom_app card is a summary (512 bytes) whose button opens the notice's page, which shows it all.

Templates are rendered in Jinja's sandbox: an operator's override can use the variables and filters
it is given, never reach Python's internals (`cycler.__init__.__globals__…`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from types import BuiltinFunctionType, FunctionType
from typing import Any

import markupsafe
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
)
from jinja2.runtime import Context, Macro
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import internalcode
from markupsafe import Markup

from engine.config import Settings
from engine.errors import UserError
from engine.notify import kinds
from engine.notify.context import NoticeContext, group_by_lead, lead_name
from engine.paths import templates_dir

WECOM_LIMIT = 4096
"""WeCom rejects a markdown body longer than this many bytes of UTF-8 (errcode 40058)."""
DINGTALK_LIMIT = 18000
"""Bytes of one DingTalk markdown text: DingTalk takes 20,000; room is left for the mentions."""
FEISHU_LIMIT = 14000
"""Bytes of the lines of one Feishu post: the whole body, in JSON, must stay within 20 KB."""
LIMITS: dict[str, int] = {"wecom": WECOM_LIMIT, "dingtalk": DINGTALK_LIMIT, "feishu": FEISHU_LIMIT}
"""The channels whose notices are cut into messages, and the bytes of one message."""
CARD_BYTES = 512
"""WeCom's limit for a text card's description (wecom_app)."""
CARD_TITLE_BYTES = 128
BUTTON_CHARS = 4
"""WeCom shows at most this many characters of a text card's button."""
CARD_BUTTON = "_card_button.j2"
_CARD_ROOMS = (160, 120, 90, 60, 40, 20)
"""The characters a card's summary may take, tried in turn until the description fits."""

LINK_LINE = "_link.md.j2"
"""The line that ends every WeCom message of a notice with a link (one for every kind)."""

_GOES_ON = "（未完，见下一条消息）"
_PUNCTUATION = "。；，、：）」』》"

# Characters that make WeCom markdown: links, emphasis, code, headings, quotes, @-mentions, tags and
# entities. Full-width forms keep the text readable in Chinese and can never become markup.
_MD_TABLE = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "#": "＃",
        "@": "＠",
        "~": "～",
        "|": "｜",
        "\\": "＼",
        "&": "＆",
        "!": "！",
        "\r": " ",
        "\n": " ",
        "\t": " ",
    }
)


def md_escape(value: object) -> str:
    """Text that WeCom shows as written: no link, mention, heading or emphasis can come of it."""
    text = str(value).translate(_MD_TABLE)
    # a bare URL is made clickable by the client: break the scheme separator
    return text.replace("://", "：//")


def cn_date(value: date | datetime | str | None) -> str:
    """2021年6月30日, as documents write dates (an ISO string from stored JSON is read first)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    return f"{value.year}年{value.month}月{value.day}日"


def clip(value: str, limit: int = 200) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TITLE_END = "。．.；;，,、 \t\u3000"


def bare(title: object) -> str:
    """A task title as subjects and headings quote it: without the full stop or comma it ends with.

    “不断提高法律援助的工作质量。”任务 reads wrong; the stored title keeps its punctuation.
    """
    text = str(title).strip()
    return text.rstrip(_TITLE_END) or text


def book(title: str) -> str:
    """A title between 《》; a title inside it takes 〈〉, as documents nest them."""
    inner = str(title).strip().removeprefix("《").removesuffix("》")
    return "《" + inner.replace("《", "〈").replace("》", "〉") + "》"


def wecom_color(light: str) -> str:
    """WeCom markdown knows three colours: warning (orange-red), info (green), comment (grey)."""
    return {"red": "warning", "yellow": "warning", "green": "info"}.get(light, "comment")


@dataclass(frozen=True)
class Card:
    """A wecom_app text card: title, description (WeCom's few HTML classes) and button text."""

    title: str
    description: str
    button: str


@dataclass(frozen=True)
class Rendered:
    """One notice ready for a channel: email/file use subject, text and html; WeCom and DingTalk
    their markdown messages, Feishu the lines of its posts (`markdown` too); wecom_app its card
    (and the text, for a notice without a page to open)."""

    subject: str
    text: str = ""
    html: str = ""
    markdown: tuple[str, ...] = ()
    card: Card | None = None


def _loaders(override: str | None) -> list[BaseLoader]:
    loaders: list[BaseLoader] = []
    if override:
        loaders.append(FileSystemLoader(override))
    loaders.append(FileSystemLoader(str(templates_dir())))
    return loaders


_escape_text: Callable[[str], str] = getattr(
    markupsafe, "_escape_inner", lambda text: str(markupsafe.escape(text))
)
"""MarkupSafe's escaping of a plain string, in C, without the `Markup` around it (3.x; with
another MarkupSafe, its public `escape`)."""
_safe = str.__new__
"""`_safe(Markup, text)` is `Markup(text)` for a text that is no markup, without `Markup.__new__`,
which is Python since MarkupSafe 3 and looks for `__html__` first."""


def _escape(value: Any) -> Markup:
    """`markupsafe.escape`, without its Python steps for the values a notice writes most: a plain
    string, an integer and markup already safe (a macro's output)."""
    kind = type(value)
    if kind is str:
        return _safe(Markup, _escape_text(value))
    if kind is Markup:
        return value
    if kind is int:
        return _safe(Markup, str(value))
    return markupsafe.escape(value)


class _Macro(Macro):
    """Jinja's macro, marking an autoescaped macro's output safe without `Markup.__new__`."""

    def _invoke(self, arguments: list[Any], autoescape: bool) -> str:
        if autoescape and not self._environment.is_async:
            return _safe(Markup, self._func(*arguments))
        return super()._invoke(arguments, autoescape)


class _Template(Template):
    """A template whose compiled code escapes with `_escape` and makes its macros `_Macro`.

    In an autoescaped template every value written goes through `escape`, and every macro's
    output through `Markup`: about 150 and 190 times an HTML notice, in Python since MarkupSafe
    3, a quarter of the HTML body's rendering. The compiled code finds both by name in its
    module's namespace at each call, so they are replaced there once, when it is loaded."""

    @classmethod
    def from_code(
        cls,
        environment: Environment,
        code: Any,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
    ) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        names = template.root_render_func.__globals__
        names["escape"], names["Macro"] = _escape, _Macro
        return template


class _Context(Context):
    """Jinja's context, calling a template's macros and plain functions straight away.

    `Context.call` runs for every call in a template (a notice makes about a hundred: the
    macros of each task line, `cn_date`, `light_label`, `dict.get`…) and looks each time for a
    `pass_context`-like mark, on the object and on its `__call__`: three failed attribute
    lookups each, a sixth of a notice's rendering (a tenth in the sandbox, which checks the
    callable before it comes here). A macro or a built-in never has one, nor does a
    function without the mark; anything else (a marked function, a method, which takes its
    function's mark, a class) goes through Jinja's own.
    """

    @internalcode
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        if kind is FunctionType:
            if hasattr(__obj, "jinja_pass_arg"):
                return super().call(__obj, *args, **kwargs)
        elif kind is not _Macro and kind is not BuiltinFunctionType:  # every macro (`_Template`)
            return super().call(__obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:  # as Jinja says it
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


class _FlatGlobals(Environment):
    """A template's globals as one dict, not Jinja's ChainMap over the environment's; calls
    made by `_Context`.

    Jinja copies a template's globals into every render's context (`dict(globals, **vars)`) and,
    at each `{% import %}`, compares them with the imported template's (`globals_keys -
    globals.keys()`): over a ChainMap both walk its maps in Python, six times a notice. The
    environment's globals are complete before any template is loaded and never change after
    (`environment` sets them once), so the copy a template takes when loaded stays true.
    """

    context_class = _Context
    template_class = _Template

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **d} if d else dict(self.globals)


class _Sandbox(_FlatGlobals, SandboxedEnvironment):
    """Jinja's sandbox, with its verdict on an attribute remembered per type and name.

    `SandboxedEnvironment.is_safe_attribute` looks only at the attribute's name and the kind of
    object (a function, a method, a class, a frame, a generator…), never at the value: its answer
    for one (type, name) holds for every object of that type. A notice reads the same few
    attributes of every task line, hundreds of times a message, so the check is made once.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._safe: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        safe = self._safe.get(key)
        if safe is None:
            safe = self._safe[key] = super().is_safe_attribute(obj, attr, value)
        return safe


@lru_cache(maxsize=8)
def environment(override: str | None = None) -> Environment:
    """The Jinja environment; a file in `override` replaces the bundled one of the same name.

    It renders the text parts; `render_notice` renders the HTML body with its `html_environment`.
    """
    # The bundled templates are the package's own code, trusted as the rest of it: no value a
    # user gives is ever compiled as a template, only written into one. An operator's folder
    # (`[templates] dir`) is other code: with one, every template renders in Jinja's sandbox,
    # which costs about half of a notice's rendering time (benchmarks/render_bench.py).
    # tests/test_templates.py renders every kind on every channel both ways and compares.
    kind: type[Environment] = _Sandbox if override else _FlatGlobals
    env = kind(
        loader=ChoiceLoader(_loaders(override)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates do not change under a running service
    )
    env.filters.update(
        cn_date=cn_date,
        clip=clip,
        md=md_escape,
        book=book,
        bare=bare,
        wecom_color=wecom_color,
        by_lead=group_by_lead,
    )
    env.globals["kind_labels"] = kinds.KIND_LABELS
    return env


@lru_cache(maxsize=8)
def html_environment(env: Environment) -> Environment:
    """The same templates, filters and globals as `env`, with every template autoescaped.

    The HTML body imports the shared wording (`<kind>/wording.j2`) and `_macros.j2`, which the
    text and WeCom bodies use as well. Escaping by file name would leave those unescaped, and a
    macro called from an autoescaped template hands back its output marked safe: a reason or a
    title would reach the e-mail as raw HTML. Here every template, the wording included, escapes
    each value where it writes it, and the wording stays written once for every format.
    """
    # a cache of its own: templates compiled without autoescape must not be found in it
    return env.overlay(autoescape=True, cache_size=400)


def templates_override(settings: Settings) -> str | None:
    """The operator's template folder (`[templates] dir`), resolved; None for the bundled ones."""
    override = settings.templates.dir
    return str(settings.resolve_path(override)) if override else None


def environment_for(settings: Settings) -> Environment:
    return environment(templates_override(settings))


def _render(
    env: Environment,
    ctx: NoticeContext,
    template: str,
    names: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    return _render_file(env, ctx, kinds.template_name(ctx.kind, template), names, **extra)


def _render_file(
    env: Environment,
    ctx: NoticeContext,
    name: str,
    names: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    """The template `name` rendered for `ctx`; `names`: more variables for it (a card's room)."""
    variables = ctx.template_vars(**extra)
    if names:
        variables.update(names)
    try:
        return env.get_template(name).render(variables).strip()
    except TemplateError as exc:
        # an operator's override can be wrong: say which template and why, in one line
        raise UserError(f"通知模板 {name} 无法渲染：{exc}") from exc


def render_notice(ctx: NoticeContext, env: Environment) -> Rendered:
    """Render the parts the notice's channel needs."""
    if ctx.kind not in kinds.KINDS:
        raise UserError(f"未知的通知类型“{ctx.kind}”，应为 {'、'.join(kinds.KINDS)} 之一")
    if ctx.lists_units:
        ctx = ctx.grouped_by_lead()
    subject = " ".join(_render(env, ctx, kinds.SUBJECT).split())
    if ctx.channel in LIMITS:
        template = kinds.CHANNEL_PARTS[ctx.channel][-1]
        messages = split_messages(ctx, env, template, LIMITS[ctx.channel])
        return Rendered(subject=subject, markdown=tuple(messages))
    if ctx.channel == "wecom_app":
        text = _render(env, ctx, kinds.TEXT) + "\n"
        return Rendered(subject=subject, text=text, card=render_card(ctx, env, subject))
    return Rendered(
        subject=subject,
        text=_render(env, ctx, kinds.TEXT) + "\n",
        html=_render(html_environment(env), ctx, kinds.HTML) + "\n",
    )


def _fits(text: str, limit: int) -> bool:
    return len(text.encode("utf-8")) <= limit


def split_wecom(ctx: NoticeContext, env: Environment, limit: int = WECOM_LIMIT) -> list[str]:
    """The WeCom messages of one notice, each at most `limit` bytes, together the whole notice;
    each ends with the notice's link, when it has one."""
    return split_messages(ctx, env, kinds.WECOM, limit)


def split_messages(ctx: NoticeContext, env: Environment, template: str, limit: int) -> list[str]:
    """The messages of one notice from its `template` (WeCom, DingTalk, Feishu), each at most
    `limit` bytes, together the whole notice; each ends with the notice's link, when it has one."""
    footer = _link_footer(ctx, env, limit)
    room = limit - len(footer.encode("utf-8"))
    bodies = _pack_tasks(ctx, env, room, template)
    return [body + footer for body in _continued(bodies, room)]


def fit_bytes(text: str, limit: int) -> str:
    """`text` in at most `limit` bytes of UTF-8, with an ellipsis when cut (a card's title)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def render_card(ctx: NoticeContext, env: Environment, subject: str) -> Card | None:
    """The wecom_app card of a notice with a page to open (None without one): the subject as its
    title, the kind's card template as its description, the button from `_card_button.j2`. The
    summary is shortened (`room`, in characters) until the description fits in 512 bytes."""
    if ctx.link is None:
        return None
    safe = ctx.escaped(md_escape)
    name = kinds.template_name(ctx.kind, kinds.WECOM_APP)
    for room in _CARD_ROOMS:
        lines = _render(env, safe, kinds.WECOM_APP, {"room": room}).splitlines()
        description = "".join(line.strip() for line in lines)
        if _fits(description, CARD_BYTES):
            break
    else:
        raise UserError(f"通知模板 {name} 的内容过长（应不超过 {CARD_BYTES} 字节）")
    button = " ".join(_render_file(env, safe, CARD_BUTTON).split())
    if not button or len(button) > BUTTON_CHARS:
        raise UserError(
            f"通知模板 {CARD_BUTTON} 的按钮文字“{button}”应为 1 至 {BUTTON_CHARS} 个字"
            "（企业微信截断更长的文字）"
        )
    return Card(title=fit_bytes(subject, CARD_TITLE_BYTES), description=description, button=button)


def _link_footer(ctx: NoticeContext, env: Environment, limit: int) -> str:
    """The link line every message ends with ("" for a notice without a link)."""
    if ctx.link is None:
        return ""
    line = _render_file(env, ctx.escaped(md_escape), LINK_LINE)
    if not _fits(line, limit // 8):  # an override gone wrong: the messages must keep their room
        raise UserError(f"通知模板 {LINK_LINE} 的内容过长（应不超过 {limit // 8} 字节）")
    return "\n\n" + line if line else ""


def _pack_tasks(
    ctx: NoticeContext, env: Environment, limit: int, template: str = kinds.WECOM
) -> list[str]:
    """As many tasks per message as fit, cut between tasks; a body that does not fit even with one
    task is left whole, for `_continued` to split between its lines.

    Lengths grow with the count of tasks, so the largest count that fits is searched for from the
    count of the message before: doubled while it fits, then halved between the last that fit and
    the first that did not. Each message is rendered a few times over about its own tasks, never
    over every task left: a notice of thousands of tasks costs what its messages cost.
    """
    safe = ctx.escaped(md_escape)
    tasks = safe.tasks
    messages: list[str] = []
    start, part, guess = 0, 1, 1
    while True:
        left = len(tasks) - start

        def attempt(count: int, start: int = start, left: int = left, part: int = part) -> str:
            chunk = tasks[start : start + count]
            return _render(env, safe, template, tasks=chunk, part=part, more=left - count)

        if left <= 1:
            messages.append(attempt(left))
            return messages
        best = attempt(1)
        if not _fits(best, limit):
            messages.append(best)
            start, part = start + 1, part + 1
            continue
        count, best = _largest_fitting(attempt, limit, left, guess, best)
        if count == left:  # every task left fits: the last message
            messages.append(best)
            return messages
        if safe.lists_units:  # a unit and its tasks stay in one message where they fit in one
            unit_end = _unit_boundary(tasks, start, count)
            if unit_end != count:
                best, count = attempt(unit_end), unit_end
        messages.append(best)
        start, part, guess = start + count, part + 1, max(1, count)


def _largest_fitting(
    attempt: Callable[[int], str], limit: int, left: int, guess: int, first: str
) -> tuple[int, str]:
    """The largest count of tasks (1 to `left`) whose message fits in `limit`, and that message,
    given that one task fits (`first`); searched from `guess`."""
    fit, fit_body = 1, first
    high = min(left, max(2, guess))
    while True:  # double while it fits
        body = attempt(high)
        if not _fits(body, limit):
            break
        fit, fit_body = high, body
        if high == left:
            return left, body
        high = min(left, high * 2)
    while high - fit > 1:  # then halve between the last that fit and the first that did not
        mid = (fit + high) // 2
        body = attempt(mid)
        if _fits(body, limit):
            fit, fit_body = mid, body
        else:
            high = mid
    return fit, fit_body


_CONTINUED = re.compile(r"（续\d+）$")


def _continued(bodies: list[str], limit: int) -> list[str]:
    """Split every body over `limit` into messages that go on from it, and number the headings.

    Each message after the first starts with the notice's heading and "（续N）", N its place; a
    body that was split ends each of its pieces but the last with "（未完，见下一条消息）".
    Renumbering can lengthen a heading by a digit, so this repeats until every message fits.
    """
    first = bodies[0].split("\n", 1)[0] if bodies else ""
    heading = clip(_CONTINUED.sub("", first), 60) if first.startswith("#") else ""
    while True:
        messages: list[str] = []
        for body in bodies:
            if _fits(body, limit):
                messages.append(body)
                continue
            for piece in _pieces(body, limit, heading):
                messages.append(piece)
        numbered = [_number(body, heading, i) for i, body in enumerate(messages)]
        if all(_fits(body, limit) for body in numbered):
            return numbered
        bodies = numbered


def _number(body: str, heading: str, index: int) -> str:
    """The message at `index` with its heading saying where it stands."""
    if not heading or index == 0:
        return body
    line, _, rest = body.partition("\n")
    title = f"{heading}（续{index}）"
    if _CONTINUED.sub("", line) == heading:
        return f"{title}\n{rest}" if rest else title
    return f"{title}\n\n{body}"


def _pieces(body: str, limit: int, heading: str) -> list[str]:
    """A body split between lines (a line too long itself, between characters) into pieces that
    fit with a continuation heading and the closing note."""
    # room for "（续NNNN）" and the blank line after the heading, and for the closing note
    room = limit - len(f"{heading}（续0000）\n\n\n{_GOES_ON}".encode())
    pieces: list[list[str]] = [[]]
    size = 0
    for line in body.split("\n"):
        while True:
            cost = len(line.encode("utf-8")) + 1
            if size + cost <= room:
                break
            free = room - size - 1
            if free < min(200, room // 4):  # too little left for a piece of a long line
                pieces.append([])
                size = 0
                if cost <= room:
                    break
                free = room - 1
            head, line = _split_line(line, free)
            pieces[-1].append(head)
            pieces.append([])
            size = 0
        pieces[-1].append(line)
        size += cost
    texts = ["\n".join(piece).strip("\n") for piece in pieces]
    texts = [text for text in texts if text]
    return [text + ("\n" + _GOES_ON if i < len(texts) - 1 else "") for i, text in enumerate(texts)]


def _split_line(line: str, room: int) -> tuple[str, str]:
    """A line too long for `room` bytes as the part that fits and the rest, cut after punctuation
    where one is near; a quoted line (`> `) stays quoted in the rest."""
    prefix = "> " if line.startswith("> ") else ""
    text = line[len(prefix) :]
    fitting = (prefix + text).encode("utf-8")[:room].decode("utf-8", errors="ignore")
    cut = max(1, len(fitting) - len(prefix))
    near = max(text.rfind(p, max(1, cut - 60), cut) for p in _PUNCTUATION)
    cut = near + 1 if near > 0 else cut
    return prefix + text[:cut], prefix + text[cut:]


def _unit_boundary(tasks: tuple[Any, ...], start: int, count: int) -> int:
    """The largest count ≤ `count` of tasks from `start` that ends with a unit's last task, or
    `count` when even the first unit does not fit (it is then cut between its tasks)."""
    for end in range(count, 0, -1):
        if start + end >= len(tasks) or lead_name(tasks[start + end - 1]) != lead_name(
            tasks[start + end]
        ):
            return end
    return count
