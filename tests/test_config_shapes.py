"""A config of the wrong shape is the operator's mistake: one line naming the file and the key.

Issue 15: `include = ["\\u0000"]` was an internal error (ValueError: embedded null byte), and so
were TOML nested deeper than tomllib's recursion, `units = 5` beside an include, a time-zone folder
(`Asia`), a symlink loop in `include`, and values the service later choked on (a NaN timeout, a
port or a number of days too large). Through a command that reads the config this is exit 2;
`doctor` keeps its own contract and reports it as its one problem (exit 1), never an internal error.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli.context import AppContext
from engine.config import load_settings
from engine.errors import UserError
from tests.support.plans import write_small_plan

NOW = ("--now", "2021-06-01T09:30:00+08:00")
DUBAN = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "duban"
NUL_INCLUDE = 'include = ["\\u0000"]\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, *names: str) -> str:
    with pytest.raises(UserError) as info:
        load_settings(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for name in names:
        assert name in message, message
    return message


def one_line(result, code: int = 2) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert result.out == ""
    assert "Traceback" not in result.err and "内部错误" not in result.err, result.err
    assert result.err.count("\n") == 1 and result.err.startswith("duban: "), result.err
    return result.err


# --- the shapes of issue 15, and what the fuzzer below found -----------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (NUL_INCLUDE, ("include[0]", "U+0000")),
        ('[service]\nplans_dir = "plans\\n"\n', ("service.plans_dir", "U+000A")),
        ('[units."市司法局\\r"]\nfile = true\n', ("units", "键名", "U+000D")),
        # tomllib recursed until Python's stack ran out
        ("a = " + "[" * 20000 + "]" * 20000 + "\n", ("嵌套",)),
        ("a = " + "{b = " * 20000 + "1" + "}" * 20000 + "\n", ("嵌套",)),
        # dotted keys and table headers nest without recursing in tomllib: pydantic and the
        # messages did
        ("a" + ".b" * 20000 + " = 1\n", ("a.b.b", "嵌套超过")),
        ("[a" + ".b" * 20000 + "]\n", ("a.b.b", "嵌套超过")),
        # IsADirectoryError, and a name too long for a file name
        ('[service]\ntimezone = "Asia"\n', ("service.timezone", "时区")),
        ('[service]\ntimezone = "' + "a" * 300 + '"\n', ("service.timezone", "时区")),
        # values the service choked on later: OverflowError, ValueError: Invalid value NaN
        ('[service]\ntick_seconds = 99999999999999999\n', ("service.tick_seconds", "3600")),
        ("[policy]\nremind_before_days = [99999999999999999]\n", ("remind_before_days",)),
        ("[policy]\nremind_before_days = [1e300]\n", ("remind_before_days[0]", "整数")),
        ("[policy]\nreport_notice_working_days = 99999999999\n", ("report_notice_working_days",)),
        ("[calendar]\nextra_holidays = [9999-12-31]\n", ("calendar.extra_holidays", "2199")),
        ('[channels.email]\nhost = "h"\nfrom = "f"\nport = 99999999\n', ("channels.email.port",)),
        ("[channels.wecom]\ntimeout_seconds = nan\n", ("timeout_seconds", "有限")),
        ("[channels.wecom]\ntimeout_seconds = -1.0\n", ("timeout_seconds", "大于 0")),
        ('source = 5\n', ("source", "未知的键")),
    ],
)
def test_a_config_of_the_wrong_shape_names_the_key(tmp_path, text, names):
    error_of(write(tmp_path / "duban.toml", text), *names)


def test_units_that_are_not_a_table_beside_an_include(tmp_path):
    # 'argument of type int is not iterable' while merging the included units
    write(tmp_path / "units.toml", '[units."市司法局"]\nfile = true\n')
    error_of(write(tmp_path / "duban.toml", 'include = ["units.toml"]\nunits = 5\n'), "units")
    error_of(write(tmp_path / "duban.toml", 'include = ["units.toml"]\nunits = [1]\n'), "units")


def test_an_include_that_is_a_symlink_loop(tmp_path):
    (tmp_path / "loop.toml").symlink_to("loop.toml")  # RuntimeError: Symlink loop
    error_of(write(tmp_path / "duban.toml", 'include = ["loop.toml"]\n'), "include[0]", "符号链接")


def test_a_nul_include_through_the_commands(duban, workdir):
    config = write(workdir / "duban.toml", NUL_INCLUDE)
    err = one_line(duban(*NOW, "--config", str(config), "tasks"))
    assert "duban.toml" in err and "include[0]" in err
    write_small_plan(workdir / "plan.yaml")
    assert "include[0]" in one_line(duban(*NOW, "--config", str(config), "load", "plan.yaml"))
    assert not (workdir / "var").exists()
    doctor = duban(*NOW, "--config", str(config), "doctor")
    assert doctor.code == 1 and "内部错误" not in doctor.err  # doctor: exit 1 for a problem
    [line] = doctor.out.splitlines()
    assert line.startswith("问题：配置文件 ") and "include[0]" in line


def test_what_the_examples_and_defaults_hold_passes_the_new_checks(tmp_path):
    shutil.copy(Path("config/duban.example.toml").resolve(), tmp_path / "duban.toml")
    shutil.copy(Path("config/units.example.toml").resolve(), tmp_path / "units.toml")
    assert load_settings(tmp_path / "duban.toml").units


# --- the installed command ---------------------------------------------------------------------


def script(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return subprocess.run([str(DUBAN), *NOW, *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")
def test_the_installed_duban_names_a_nul_include(workdir: Path):
    write(workdir / "duban.toml", NUL_INCLUDE)
    done = script(workdir, "--config", "duban.toml", "tasks")
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.count("\n") == 1 and "include[0]" in done.stderr
    assert done.stderr.startswith("duban: 配置文件 duban.toml：")
    doctor = script(workdir, "--config", "duban.toml", "doctor")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert "内部错误" not in doctor.stderr
    [line] = doctor.stdout.splitlines()
    assert line.startswith("问题：配置文件 duban.toml：") and "include[0]" in line


# --- any document: settings, or one line -------------------------------------------------------


def toml_string(text: str) -> str:
    # JSON's escapes are TOML's, but for DEL, which TOML wants escaped too
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else {math.inf: "inf", -math.inf: "-inf"}.get(
            value, repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict[str, object]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in doc.items())


keys = st.sampled_from(["units", "include", "email", "host", "dir", "市司法局", "a b", "\x1c"])
keys |= st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=8)
scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-3, max_value=100), st.floats(), st.text(max_size=10),
    st.dates(), st.times(), st.datetimes(),
)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


def maybe(good: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the right type for a key, sometimes anything at all."""
    return st.one_of(good, good, good, anything)


def section(**keys: st.SearchStrategy) -> st.SearchStrategy:
    return maybe(st.fixed_dictionaries({}, optional={k: maybe(v) for k, v in keys.items()}))


numbers = st.integers(min_value=-2, max_value=400) | st.integers()
names = st.sampled_from(["市司法局", "市发改局", "市财政局", "", "各区政府"]) | st.text(max_size=6)
includes = st.sampled_from(["units.toml", "missing.toml", "", ".", "duban.toml", "\0", "plans",
                            "sub/../units.toml", "/"]) | st.text(max_size=8)
urls = st.sampled_from([
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${DUBAN_FUZZ_KEY}",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "http://evil.example/x",
    "http://[::1", "${UNCLOSED", "", "qyapi.weixin.qq.com",
]) | st.text(max_size=12)
contact = section(
    aliases=st.lists(names, max_size=2),
    email=st.sampled_from(["sfj@example.gov.cn", "not an address", ""]) | st.lists(
        st.sampled_from(["a@example.gov.cn", "@", "${DUBAN_FUZZ_MAIL}"]), max_size=2),
    wecom=urls,
    mobiles=st.lists(st.sampled_from(["13800000000", "x", ""]), max_size=2),
    file=st.booleans(),
)
units = st.dictionaries(names, contact, max_size=3)
escalation = st.fixed_dictionaries(
    {"after_working_days": maybe(numbers),
     "notify": maybe(st.lists(st.sampled_from(["lead", "co_units", "coordinator", "leader", "x"]),
                              max_size=3))},
    optional={"every_working_days": maybe(numbers), "recipients": maybe(st.lists(names))},
)
configs = st.fixed_dictionaries({}, optional={
    "include": maybe(st.lists(includes, max_size=2) | includes),
    "database": section(url=st.sampled_from(["sqlite:///var/fuzz.db", "nonsense://", "",
                                             "sqlite:////nonexistent/dir/x.db"])),
    "service": section(
        timezone=st.sampled_from(["Asia/Shanghai", "UTC", "Asia", "", "Mars/Base"]),
        tick_seconds=numbers, plans_dir=st.sampled_from(["plans", "missing", "", "duban.toml"]),
        log_level=st.sampled_from(["INFO", "DEBUG", "LOUD"]),
    ),
    "policy": section(
        send_at=st.sampled_from(["09:00", "25:00", "9", "09:00+08:00"]) | st.times(),
        remind_before_days=st.lists(numbers, max_size=4), yellow_within_days=numbers,
        report_every=st.sampled_from(["monthly", "quarterly", "none", "weekly"]),
        report_day=numbers, report_notice_working_days=numbers,
        auto_start_on_progress=st.booleans(), digest_weekday=numbers,
        escalation=st.lists(escalation, max_size=3),
    ),
    "calendar": section(extra_holidays=st.lists(st.dates(), max_size=3),
                        extra_workdays=st.lists(st.dates(), max_size=3)),
    "channels": section(
        email=section(host=st.sampled_from(["127.0.0.1", "smtp.example.gov.cn", ""]),
                      port=numbers, security=st.sampled_from(["ssl", "starttls", "none", "tls"]),
                      username=st.text(max_size=6),
                      password_env=st.sampled_from(["DUBAN_FUZZ_PASSWORD", "", "1 bad"]),
                      **{"from": st.sampled_from(["督办 <duban@example.gov.cn>", "x", ""])},
                      timeout_seconds=st.floats()),
        wecom=section(allowed_hosts=st.lists(st.sampled_from(["qyapi.weixin.qq.com", "", "*"])),
                      per_robot_per_minute=numbers, timeout_seconds=st.floats()),
        file=section(dir=st.sampled_from(["outbox", "", "/nonexistent/outbox", "duban.toml"])),
    ),
    "templates": section(dir=st.sampled_from(["templates", "", "missing"])),
    "web": section(base_url=st.sampled_from(["https://duban.example.gov.cn", "", "x"]),
                   secret_env=st.sampled_from(["DUBAN_WEB_SECRET", ""]), link_days=numbers,
                   port=numbers, upload_types=st.lists(st.sampled_from(["pdf", "", ".exe"]))),
    "units": maybe(units),
})
included = st.fixed_dictionaries({}, optional={"units": maybe(units),
                                               "include": maybe(st.lists(includes, max_size=1)),
                                               "service": anything})
TOML_CHARS = st.sampled_from([*'[]{}=.,"\'#\n ab01_-:+一\\', "units", "include", "\\u0000"])
toml_texts = st.lists(TOML_CHARS, max_size=40).map("".join)
KNOWN_KEYS = [
    "include", "database", "database.url", "service", "service.timezone", "service.tick_seconds",
    "service.plans_dir", "policy", "policy.send_at", "policy.remind_before_days",
    "policy.yellow_within_days", "policy.report_day", "policy.report_notice_working_days",
    "policy.escalation", "calendar.extra_holidays", "calendar.extra_workdays", "channels",
    "channels.email", "channels.email.port", "channels.email.timeout_seconds", "channels.wecom",
    "channels.wecom.allowed_hosts", "channels.wecom.timeout_seconds", "channels.file.dir",
    "templates.dir", "web", "web.port", "web.upload_types", "units", "units.市司法局",
    "units.市司法局.email", "units.市司法局.wecom", "units.市司法局.aliases", "units.市司法局.file",
]
SPECIAL = st.sampled_from([
    "\0", "Asia", "\n", "", " ", "units.toml", 2**63 - 1, -1, 0, math.inf, math.nan, 1e300,
    [], {}, ["\0"], [""], ["units.toml", "units.toml"], [{}], [[]], date(9999, 12, 31),
    time(9, 0), "09:00", True,
])


def one_key(path: str, value: object) -> dict[str, object]:
    """A document holding `value` at a dotted path of known keys."""
    doc: object = value
    for part in reversed(path.split(".")):
        doc = {part: doc}
    assert isinstance(doc, dict)
    return doc


wrong_types = st.builds(one_key, st.sampled_from(KNOWN_KEYS), SPECIAL | anything)
documents = st.one_of(
    configs.map(toml_document), configs.map(toml_document),
    wrong_types.map(toml_document), toml_texts,
)


@pytest.fixture
def fuzz_dir(workdir: Path) -> Path:
    """A config folder with a plan to check the directory against."""
    folder = workdir / "etc"
    write_small_plan(folder / "plans" / "trial.yaml")
    (folder / "templates").mkdir()
    return folder


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=documents, units_text=included.map(toml_document) | toml_texts)
def test_any_config_gives_settings_or_one_line(duban, fuzz_dir, text, units_text):
    config = write(fuzz_dir / "duban.toml", text)
    write(fuzz_dir / "units.toml", units_text)
    try:
        assert AppContext(db_url=None, config_path=str(config), now_text=None).settings
    except UserError as exc:
        message = str(exc)
        assert "\n" not in message and "配置文件" in message, message
        assert not any(english in message for english in ("Input should", "Value error")), message
        expected: str | None = message
    else:
        expected = None
    doctor = duban(*NOW, "--config", str(config), "doctor")
    assert doctor.code in (0, 1), (doctor.code, doctor.err)
    assert "内部错误" not in doctor.err and "Traceback" not in doctor.err, doctor.err
    lines = doctor.out.splitlines()
    assert all(line.startswith("问题：") for line in lines), doctor.out
    if expected is not None:
        assert lines == [f"问题：{expected}"]
        board = duban(*NOW, "--config", str(config), "tasks")
        assert one_line(board) == f"duban: {expected}\n"
