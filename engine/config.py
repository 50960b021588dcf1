"""Configuration: TOML files validated into typed settings.

An unknown key is an error that suggests the nearest known one; a wrong type names the file, the
key and what was expected. `include` pulls in more files (usually the `[units.*]` contact
directory) relative to the including file. `${NAME}` in a value is read from the environment only
when the value is used, so that secrets never sit in the settings object.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections import deque
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from engine.clock import FIRST_YEAR, LAST_YEAR
from engine.errors import UserError, os_reason
from engine.values import control_character, is_time_zone

DEFAULT_DATABASE_URL = "sqlite:///var/duban.db"
# Bounds that keep the date arithmetic of the planner within Python's dates and its loops short.
MAX_DAYS = 3660  # ten years: remind_before_days, yellow_within_days
MAX_WORKING_DAYS = 250  # about a year of working days
MAX_TIMEOUT = 600.0  # seconds a channel waits for its server



def _known_kinds(value: list[str]) -> list[str]:
    from engine.notify.kinds import KINDS

    unknown = [kind for kind in value if kind not in KINDS]
    if unknown:
        raise ValueError(f"未知的通知类别 {'、'.join(unknown)}，可用的类别：{'、'.join(KINDS)}")
    return list(dict.fromkeys(value))


MentionKinds = Annotated[list[str], AfterValidator(_known_kinds)]
"""Notice kinds that @-mention a unit's people: known kinds, each once."""

class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = DEFAULT_DATABASE_URL


class ServiceSettings(_Section):
    timezone: str = "Asia/Shanghai"
    tick_seconds: int = Field(default=60, ge=1, le=3600)
    plans_dir: str = "workflows"
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise ValueError(f"未知的时区“{value}”，例如 Asia/Shanghai")
        return value


class EscalationLevel(_Section):
    after_working_days: int = Field(ge=0)
    notify: list[Literal["lead", "co_units", "coordinator", "leader"]]
    every_working_days: int = Field(default=0, ge=0)
    recipients: list[str] = Field(default_factory=list)
    """Named units for a higher level (a leader's office); used with notify = ["leader"]."""


def _default_escalation() -> list[EscalationLevel]:
    return [
        EscalationLevel(after_working_days=0, notify=["lead", "co_units"], every_working_days=3),
        EscalationLevel(after_working_days=5, notify=["coordinator"], every_working_days=5),
    ]


class PolicySettings(_Section):
    send_at: time = time(9, 0)
    remind_before_days: list[int] = Field(default_factory=lambda: [30, 14, 7, 3, 1])
    yellow_within_days: int = Field(default=30, ge=0, le=MAX_DAYS)
    report_every: Literal["monthly", "quarterly", "none"] = "monthly"
    report_day: int = Field(default=25, ge=1, le=28)
    report_notice_working_days: int = Field(default=5, ge=0, le=MAX_WORKING_DAYS)
    auto_start_on_progress: bool = True
    digest_weekday: int = Field(default=1, ge=1, le=7)
    """ISO weekday of the coordinator's weekly digest (1 = Monday)."""
    escalation: list[EscalationLevel] = Field(default_factory=_default_escalation)

    @field_validator("send_at", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        # pydantic would read a number as seconds after midnight UTC: 9 is 00:00:09+00:00.
        if not isinstance(value, (str, time)):
            raise ValueError('应为时间，例如 "09:00"')
        return value

    @field_validator("send_at")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError('应为不带时区的时间，例如 "09:00"（时区由 service.timezone 决定）')
        return value

    @field_validator("remind_before_days")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(d < 0 for d in value):
            raise ValueError("提前天数不能为负数")
        if any(d > MAX_DAYS for d in value):
            raise ValueError(f"提前天数不能超过 {MAX_DAYS}")
        return sorted(set(value), reverse=True)


class CalendarSettings(_Section):
    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)

    @field_validator("extra_holidays", "extra_workdays")
    @classmethod
    def _in_range(cls, value: list[date]) -> list[date]:
        for day in value:  # the calendar's arithmetic must not run off Python's year 1..9999
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise ValueError(
                    f"日期 {day} 超出可用范围，应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间"
                )
        return value


class EmailSettings(_Section):
    host: str
    port: int = Field(default=465, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str | None = None
    password_env: str | None = None
    from_: str = Field(alias="from")
    timeout_seconds: float = Field(default=30.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    reply_to: str | None = None
    """Where replies to notices go; by default the mailbox duban reads (`imap_username`)."""
    # Progress by reply (engine.notify.replies): duban's own mailbox, read over TLS each tick.
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_tls: Literal["tls", "starttls"] = "tls"
    """`tls`: TLS from the start (port 993); `starttls`: STARTTLS on port 143. Never plain."""
    imap_username: str | None = None
    imap_password_env: str | None = None
    imap_folder: str = "INBOX"
    imap_ca_file: str | None = None
    """A CA certificate (PEM) to trust besides the system's, for a server with a private CA."""

    @model_validator(mode="after")
    def _mailbox_complete(self) -> EmailSettings:
        if self.imap_host and not (self.imap_username and self.imap_password_env):
            raise ValueError(
                "配置了 imap_host 时还须配置 imap_username 和 imap_password_env"
                "（读取回复邮件的邮箱）"
            )
        if not self.imap_host and (self.imap_username or self.imap_password_env):
            raise ValueError("配置了 imap_username 或 imap_password_env 时还须配置 imap_host")
        return self


class WecomSettings(_Section):
    allowed_hosts: list[str] = Field(default_factory=lambda: ["qyapi.weixin.qq.com"])
    per_robot_per_minute: int = Field(default=20, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    shift_minutes: int = Field(default=0, ge=0, le=10)
    """Send this many minutes after a full or half hour instead of on it (0: off)."""
    mention_kinds: MentionKinds = Field(default_factory=lambda: ["overdue", "escalation"])
    """The notice kinds followed by a text message @-mentioning the unit's mobiles.

    Each mention is one more message against the robot's 20 a minute and pings the whole group,
    so by default only a task overdue or escalated does it, not every routine reminder.
    """


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "应为环境变量的名称（字母、数字和下划线，不以数字开头），例如 DUBAN_SECRET"
        )
    return value


class WecomAppSettings(_Section):
    """企业微信应用消息: the corp's own application writes to members (`[units.*] wecom_users`)."""

    corp_id: str = Field(min_length=1)
    agent_id: StrictInt = Field(ge=1)
    secret_env: str
    """The variable holding the application's Secret (never the Secret itself)."""
    allowed_hosts: list[str] = Field(default_factory=lambda: ["qyapi.weixin.qq.com"])
    api_base: str = "https://qyapi.weixin.qq.com"
    """The API's scheme and host (a port at most); duban adds `/cgi-bin/…`."""
    per_member_per_minute: int = Field(default=30, ge=1)
    per_member_per_hour: int = Field(default=1000, ge=1)
    duplicate_check_seconds: int = Field(default=1800, ge=1, le=14400)
    """WeCom drops a repeat of the same message within this time (at most 4 hours)."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    shift_minutes: int = Field(default=0, ge=0, le=10)
    """Send this many minutes after a full or half hour instead of on it (0: off)."""

    @field_validator("secret_env")
    @classmethod
    def _secret_name(cls, value: str) -> str:
        return _env_name(value) or value

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str, info: ValidationInfo) -> str:
        from engine.notify.channels.hosts import check_api_base

        why = check_api_base(value, info.data.get("allowed_hosts") or [], "channels.wecom_app")
        if why:
            raise ValueError(why)
        return value.rstrip("/")


class RobotSettings(_Section):
    """What the DingTalk and Feishu group robots share."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    keywords: list[str] = Field(default_factory=list)
    """The robot's security keywords (自定义关键词): every message carries one of them."""

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        if any(not word.strip() for word in value):
            raise ValueError("关键词不能为空")
        return value


class DingtalkSettings(RobotSettings):
    allowed_hosts: list[str] = Field(default_factory=lambda: ["oapi.dingtalk.com"])
    per_robot_per_minute: int = Field(default=20, ge=1)
    mention_kinds: MentionKinds = Field(default_factory=lambda: ["overdue", "escalation"])
    """The notice kinds that @-mention the unit's `mobiles` (Feishu robots cannot: no key)."""


class FeishuSettings(RobotSettings):
    allowed_hosts: list[str] = Field(default_factory=lambda: ["open.feishu.cn"])
    per_robot_per_minute: int = Field(default=100, ge=1)
    per_robot_per_second: int = Field(default=5, ge=1)
    shift_minutes: int = Field(default=0, ge=0, le=10)
    """Send this many minutes after a full or half hour instead of on it (0: off)."""


class FileChannelSettings(_Section):
    dir: str = "var/outbox"


class ChannelSettings(_Section):
    email: EmailSettings | None = None
    wecom: WecomSettings = Field(default_factory=WecomSettings)
    wecom_app: WecomAppSettings | None = None
    dingtalk: DingtalkSettings = Field(default_factory=DingtalkSettings)
    feishu: FeishuSettings = Field(default_factory=FeishuSettings)
    file: FileChannelSettings = Field(default_factory=FileChannelSettings)


class UnitContact(_Section):
    aliases: list[str] = Field(default_factory=list)
    email: list[str] = Field(default_factory=list)
    wecom: str | None = None
    mobiles: list[str] = Field(default_factory=list)
    file: bool = False
    dingtalk: str | None = None
    """A DingTalk group robot's URL (`…/robot/send?access_token=${NAME}`)."""
    dingtalk_secret_env: str | None = None
    """The variable holding that robot's signing secret (加签), when it signs."""
    feishu: str | None = None
    """A Feishu group robot's URL (`…/open-apis/bot/v2/hook/${NAME}`)."""
    feishu_secret_env: str | None = None
    wecom_users: list[str] = Field(default_factory=list)
    """WeCom member user ids the `wecom_app` channel writes to."""

    @field_validator("email", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("dingtalk_secret_env", "feishu_secret_env")
    @classmethod
    def _secret_name(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("wecom_users")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for user in value:
            if not user.strip() or "|" in user or any(ch.isspace() for ch in user):
                raise ValueError(f"成员账号“{user}”无效（不能为空，不能含空白或“|”）")
        return list(dict.fromkeys(value))

    @property
    def has_contact(self) -> bool:
        return bool(
            self.email or self.wecom or self.file or self.dingtalk or self.feishu
            or self.wecom_users
        )


class TemplateSettings(_Section):
    dir: str | None = None


class WebSettings(_Section):
    """The console, the units' links and the API (`duban web`)."""

    base_url: str = "http://127.0.0.1:8080"
    """The address people reach the console at: the start of every link in a notice."""
    secret_env: str = "DUBAN_WEB_SECRET"
    """The variable holding the secret that signs links and sessions; when it is unset, duban
    makes one and keeps it in the database (doctor says so)."""
    link_days: int = Field(default=30, ge=1, le=366)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    threads: int = Field(default=8, ge=1, le=64)
    max_upload_mb: int = Field(default=10, ge=1, le=100)
    upload_types: list[str] = Field(
        default_factory=lambda: [
            "pdf", "doc", "docx", "xls", "xlsx", "ofd", "wps", "jpg", "jpeg", "png", "txt", "zip"
        ]
    )
    """File name suffixes a unit may attach as evidence (佐证材料)."""
    secure_cookies: bool | None = None
    """Cookies only over HTTPS; by default, when `base_url` is https."""


class Settings(_Section):
    include: list[str] = Field(default_factory=list)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    templates: TemplateSettings = Field(default_factory=TemplateSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    units: dict[str, UnitContact] = Field(default_factory=dict)

    source: Path | None = Field(default=None, exclude=True)
    """The file these settings came from (None: built-in defaults)."""

    @property
    def configured(self) -> bool:
        """True when a config file was given; without one every unit uses the file channel."""
        return self.source is not None

    def resolve_path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder (else to the cwd)."""
        path = Path(value)
        if path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"配置文件 {path} 不存在") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"配置文件 {path} 不是有效的 TOML：{_toml_reason(exc)}") from None
    except OSError as exc:
        raise UserError(f"无法读取配置文件 {path}：{os_reason(exc)}") from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise UserError(f"配置文件 {path}：数组或表嵌套过深，配置文件不会嵌套这么深") from None
    _check_values(doc, path)
    return doc


# A configuration nests four deep ([policy] [[policy.escalation]] notify = [...]); a value far
# deeper is a mistake, and checking or quoting it would recurse without end.
MAX_DEPTH = 16


def _check_values(doc: dict[str, Any], path: Path) -> None:
    """Refuse what no key takes: nesting beyond MAX_DEPTH, and control characters.

    No value of a config is more than one line of text, and a NUL cannot be part of a file name,
    an address or a header (the OS and the libraries raise ValueError on it); a line break would
    split the one line an error or `doctor` prints. So they are named here, with their key,
    rather than failing where the value is used.
    """
    queue: deque[tuple[str, Any, int]] = deque([("", doc, 0)])
    while queue:
        key, value, depth = queue.popleft()
        if depth > MAX_DEPTH:
            raise UserError(
                f"配置文件 {path}：键 {key} 嵌套超过 {MAX_DEPTH} 层，不是任何键可取的值"
            )
        if isinstance(value, str) and (code := control_character(value)):
            raise UserError(
                f"配置文件 {path}：键 {key} 的值含控制字符或换行（{code}），应为一行普通文本"
            )
        if isinstance(value, dict):
            for name, item in value.items():
                if code := control_character(name):
                    raise UserError(f"配置文件 {path}：{f'键 {key} 中' if key else ''}"
                                    f"有键名含控制字符或换行（{code}），应为一行普通文本")
                queue.append((f"{key}.{_key_part(name)}" if key else _key_part(name), item,
                              depth + 1))
        elif isinstance(value, list):
            queue.extend((f"{key}[{i}]", item, depth + 1) for i, item in enumerate(value))


def _key_part(name: str) -> str:
    """A TOML key as written in a dotted key: bare if it can be, else quoted."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# tomllib (Python 3.11) only has English messages ending in "(at line L, column C)": the operator
# gets the place and the usual cause in Chinese instead.
_TOML_HINTS = (
    ("Expected ']' at the end of a table", "表头缺少右方括号“]”"),
    ("Expected ']]' at the end of an array", "数组表头缺少“]]”"),
    ("Expected '=' after a key", "键后应有“=”（TOML 写作 键 = 值）"),
    ("Invalid value", "值无效（文本须加双引号，布尔值为 true/false）"),
    ("Illegal character", "含非法字符（文本可能缺少结尾的引号）"),
    ("Unclosed inline table", "内联表缺少右花括号“}”"),
    ("Unclosed array", "数组缺少右方括号“]”"),
    ("Cannot overwrite a value", "同一个键写了两次"),
    ("Cannot declare", "同一个表写了两次"),
    ("Expected newline or end of document", "一行只能写一个 键 = 值"),
)


def _toml_reason(exc: tomllib.TOMLDecodeError) -> str:
    text = str(exc)
    hint = next((zh for en, zh in _TOML_HINTS if text.startswith(en)), "语法错误")
    place = re.search(r"\(at line (\d+), column (\d+)\)$", text)
    if place:
        return f"第 {place[1]} 行第 {place[2]} 列附近{hint}"
    if text.endswith("(at end of document)"):
        return f"文件末尾{hint}；可能有未闭合的括号或引号"
    return hint


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items() if name != "source"]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model that sits at a location, to suggest its keys."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        if field is None:
            if model is Settings or part in ("units",):
                return None
            return model
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [a for a in (annotation, *args) if isinstance(a, type)]
        inner = [c for c in candidates if issubclass(c, BaseModel)] or [
            a
            for arg in args
            for a in getattr(arg, "__args__", ())
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        model = inner[0] if inner else None
        if part == "units":
            model = UnitContact
    return model


_EXPECTED = {
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "应为整数（位数过多）",
    "finite_number": "应为有限的数字（不能是 inf 或 nan）",
    "date_from_datetime_inexact": "应为日期（不带时刻），例如 2024-10-01",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本（用引号括起）",
    "list_type": "应为列表，例如 [\"a\", \"b\"]",
    "dict_type": "应为表（[section]）",
    "model_type": "应为表（[section]）",
    "model_attributes_type": "应为表（[section]）",
    "time_parsing": "应为时间，例如 \"09:00\"",
    "time_type": "应为时间，例如 \"09:00\"",
    "date_parsing": "应为日期，例如 2024-10-01",
    "date_from_datetime_parsing": "应为日期，例如 2024-10-01",
    "date_type": "应为日期，例如 2024-10-01",
}


_BOUNDS = {
    "greater_than_equal": ("不小于", "ge"),
    "less_than_equal": ("不大于", "le"),
    "greater_than": ("大于", "gt"),
    "less_than": ("小于", "lt"),
}


def _describe(error: dict[str, Any], path: Path) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    if error["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = _known_keys(parent) if parent else _known_keys(Settings)
        near = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
        hint = f"，您是否想写“{near[0]}”？" if near else f"（可用的键：{', '.join(known)}）"
        return f"配置文件 {path}：未知的键 {key}{hint}"
    if error["type"] == "missing":
        return f"配置文件 {path}：缺少必填的键 {key}"
    got = error.get("input")
    msg = _EXPECTED.get(error["type"]) or error["msg"].removeprefix("Value error, ")
    ctx = error.get("ctx") or {}
    if error["type"] == "literal_error":
        msg = f"应为 {ctx.get('expected', '')} 之一"
    elif error["type"] in _BOUNDS:
        word, name = _BOUNDS[error["type"]]
        msg = f"应{word} {ctx.get(name)}"
    return f"配置文件 {path}：键 {key} 的值 {_quoted(got)} 无效：{msg}"


def _quoted(value: Any) -> str:
    """A value as the message quotes it: a table only named, anything else cut short."""
    if isinstance(value, dict):
        return "（一个表）"
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _merge_includes(doc: dict[str, Any], path: Path, seen: set[Path]) -> dict[str, Any]:
    _validate(doc, path)  # this file's own shape first, so that a mistake names this file
    for index, name in enumerate(doc.get("include", [])):
        try:
            sub = (path.parent / name).resolve()
        except RuntimeError:  # a symlink loop (Python 3.11; later versions raise OSError)
            raise UserError(
                f"配置文件 {path}：键 include[{index}] 的文件“{name}”是循环的符号链接"
            ) from None
        except OSError as exc:
            raise UserError(
                f"配置文件 {path}：键 include[{index}] 的文件“{name}”无法读取：{os_reason(exc)}"
            ) from None
        if sub in seen:
            raise UserError(f"配置文件 {path}：include 循环引用了 {sub}")
        seen.add(sub)
        part = _read_toml(sub)
        extra = set(part) - {"units", "include"}
        if extra:
            raise UserError(
                f"配置文件 {sub}：被 include 的文件只能包含 [units.*]，"
                f"而不是 {', '.join(sorted(_key_part(k) for k in extra))}"
            )
        part = _merge_includes(part, sub, seen)
        units = doc.setdefault("units", {})
        for unit, contact in part.get("units", {}).items():
            if unit in units:
                raise UserError(f"配置文件 {sub}：单位“{unit}”已在 {path} 中配置过")
            units[unit] = contact
    return doc


def load_settings(path: str | Path | None) -> Settings:
    """Read and validate the config; with no path, the built-in defaults."""
    if path is None:
        return Settings()
    path = Path(path)
    doc = _merge_includes(_read_toml(path), path, {path.resolve()})
    return _validate(doc, path).model_copy(update={"source": path})


def _validate(doc: dict[str, Any], path: Path) -> Settings:
    if "source" in doc:  # a field of Settings, but set by load_settings, never by the file
        known = ", ".join(_known_keys(Settings))
        raise UserError(f"配置文件 {path}：未知的键 source（可用的键：{known}）")
    try:
        return Settings.model_validate(doc)
    except ValidationError as exc:
        # An unknown key explains a "missing" one beside it (a misspelt required key): say it first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise UserError(_describe(dict(errors[0]), path)) from None
