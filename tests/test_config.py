"""Configuration: every mistake an operator can make in a TOML file is one clear sentence."""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path

import pytest

from engine.config import DEFAULT_DATABASE_URL, Settings, load_settings
from engine.errors import UserError
from engine.values import expand_env

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "config"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(UserError) as info:
        load_settings(path)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- defaults ------------------------------------------------------------------------------------


def test_no_config_gives_the_embedded_defaults():
    settings = load_settings(None)
    assert settings == Settings()
    assert not settings.configured
    assert settings.database.url == DEFAULT_DATABASE_URL
    assert settings.channels.file.dir == "var/outbox"
    assert settings.channels.email is None
    assert settings.policy.send_at == time(9, 0)
    assert settings.policy.remind_before_days == [30, 14, 7, 3, 1]
    assert [lvl.after_working_days for lvl in settings.policy.escalation] == [0, 5]
    assert settings.units == {}


def test_an_empty_file_is_the_defaults_but_counts_as_configured(tmp_path):
    settings = load_settings(write(tmp_path / "duban.toml", ""))
    assert settings.configured
    assert settings.service == Settings().service


# --- unknown keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("[service]\ntick_secnds = 5\n", "service.tick_secnds", "tick_seconds"),
        ("[databse]\nurl = 'sqlite://'\n", "databse", "database"),
        ("[policy]\nremind_before = [3]\n", "policy.remind_before", "remind_before_days"),
        ('[channels.email]\nhots = "smtp.example.gov.cn"\nfrom = "a@b"\n', "channels.email.hots",
         "host"),
        ('[units."市司法局"]\nemial = "sfj@example.gov.cn"\n', "units.市司法局.emial", "email"),
        (
            "[[policy.escalation]]\nafter_working_days = 0\nnotify = ['lead']\n"
            "evry_working_days = 3\n",
            "policy.escalation[0].evry_working_days",
            "every_working_days",
        ),
    ],
)
def test_an_unknown_key_suggests_the_nearest_known_one(tmp_path, text, key, suggestion):
    path = write(tmp_path / "duban.toml", text)
    message = error_of(path)
    assert str(path) in message
    assert f"未知的键 {key}" in message
    assert f"“{suggestion}”" in message


def test_a_misspelt_required_key_is_reported_as_the_typo_not_as_missing(tmp_path):
    path = write(tmp_path / "duban.toml", '[channels.email]\nhots = "x"\nfrom = "a@b"\n')
    message = error_of(path)
    assert "hots" in message and "缺少" not in message


def test_an_unknown_key_far_from_any_lists_the_known_ones(tmp_path):
    message = error_of(write(tmp_path / "duban.toml", "[service]\nzzzzzz = 1\n"))
    assert "可用的键" in message and "tick_seconds" in message and "log_level" in message


# --- wrong types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[service]\ntick_seconds = "often"\n', "service.tick_seconds", "应为整数"),
        ('[policy]\nsend_at = "9am"\n', "policy.send_at", "应为时间"),
        ("[policy]\nremind_before_days = 7\n", "policy.remind_before_days", "应为列表"),
        ('[policy]\nauto_start_on_progress = "maybe"\n', "policy.auto_start_on_progress",
         "true 或 false"),
        ('[policy]\nreport_every = "weekly"\n', "policy.report_every", "monthly"),
        ("[policy]\nreport_day = 31\n", "policy.report_day", "不大于 28"),
        ('[calendar]\nextra_holidays = ["soon"]\n', "calendar.extra_holidays[0]", "应为日期"),
        ('[service]\ntimezone = "Mars/Olympus"\n', "service.timezone", "Asia/Shanghai"),
        ('[service]\nlog_level = "LOUD"\n', "service.log_level", "INFO"),
        ("database = 5\n", "database", "应为表"),
    ],
)
def test_a_wrong_type_names_the_file_the_key_and_what_was_expected(tmp_path, text, key, expected):
    path = write(tmp_path / "duban.toml", text)
    message = error_of(path)
    assert str(path) in message
    assert f"键 {key} " in message
    assert expected in message


def test_a_missing_required_key_is_named(tmp_path):
    message = error_of(write(tmp_path / "duban.toml", '[channels.email]\nhost = "smtp"\n'))
    assert "缺少必填的键 channels.email.from" in message


# --- files that cannot be read -------------------------------------------------------------------


def test_a_file_that_is_not_toml_is_a_clear_error(tmp_path):
    path = write(tmp_path / "duban.toml", "[service\ntick_seconds = 60\n")
    message = error_of(path)
    assert str(path) in message and "不是有效的 TOML" in message
    assert "第 1 行第 9 列" in message  # the position, in Chinese, helps find the mistake
    assert "line" not in message and "Expected" not in message


def test_a_yaml_file_given_as_config_is_not_toml(tmp_path):
    path = write(tmp_path / "duban.yaml", "service:\n  tick_seconds: 60\n")
    assert "不是有效的 TOML" in error_of(path)


def test_a_missing_file_is_a_clear_error(tmp_path):
    path = tmp_path / "nowhere.toml"
    message = error_of(path)
    assert str(path) in message and "不存在" in message


def test_a_directory_given_as_config_is_a_clear_error(tmp_path):
    message = error_of(tmp_path)
    assert str(tmp_path) in message


# --- include -------------------------------------------------------------------------------------


def test_include_is_relative_to_the_including_file(tmp_path, monkeypatch):
    (tmp_path / "etc" / "units").mkdir(parents=True)
    write(tmp_path / "etc" / "units" / "a.toml",
          '[units."市司法局"]\nemail = "sfj@example.gov.cn"\n')
    write(tmp_path / "etc" / "units" / "b.toml",
          '[units."市财政局"]\nemail = ["czj@example.gov.cn", "czj2@example.gov.cn"]\n')
    main = write(tmp_path / "etc" / "duban.toml",
                 'include = ["units/a.toml", "units/b.toml"]\n')
    monkeypatch.chdir(tmp_path)  # a cwd elsewhere must not matter
    settings = load_settings(main)
    assert settings.units["市司法局"].email == ["sfj@example.gov.cn"]
    assert settings.units["市财政局"].email == ["czj@example.gov.cn", "czj2@example.gov.cn"]


def test_nested_includes_are_relative_to_each_file(tmp_path):
    (tmp_path / "d").mkdir()
    write(tmp_path / "d" / "inner.toml", '[units."市人社局"]\nfile = true\n')
    write(tmp_path / "d" / "outer.toml", 'include = ["inner.toml"]\n')
    settings = load_settings(write(tmp_path / "duban.toml", 'include = ["d/outer.toml"]\n'))
    assert settings.units["市人社局"].file is True


def test_an_include_loop_is_refused(tmp_path):
    write(tmp_path / "a.toml", 'include = ["b.toml"]\n')
    write(tmp_path / "b.toml", 'include = ["a.toml"]\n')
    message = error_of(tmp_path / "a.toml")
    assert "循环" in message


def test_a_file_including_itself_is_refused(tmp_path):
    assert "循环" in error_of(write(tmp_path / "a.toml", 'include = ["a.toml"]\n'))


def test_an_included_file_holds_only_units(tmp_path):
    write(tmp_path / "units.toml", '[service]\ntick_seconds = 5\n[units."市司法局"]\nfile = true\n')
    message = error_of(write(tmp_path / "duban.toml", 'include = ["units.toml"]\n'))
    assert str(tmp_path / "units.toml") in message
    assert "只能包含 [units.*]" in message and "service" in message


def test_a_missing_included_file_is_named(tmp_path):
    message = error_of(write(tmp_path / "duban.toml", 'include = ["units.toml"]\n'))
    assert str(tmp_path / "units.toml") in message and "不存在" in message


def test_a_wrong_type_in_an_included_file_names_that_file(tmp_path):
    write(tmp_path / "units.toml", '[units."市司法局"]\nemail = 5\n')
    message = error_of(write(tmp_path / "duban.toml", 'include = ["units.toml"]\n'))
    assert str(tmp_path / "units.toml") in message
    assert "units.市司法局.email" in message


def test_a_unit_configured_twice_is_refused(tmp_path):
    write(tmp_path / "units.toml", '[units."市司法局"]\nfile = true\n')
    main = write(tmp_path / "duban.toml",
                 'include = ["units.toml"]\n[units."市司法局"]\nemail = "a@example.gov.cn"\n')
    assert "已在" in error_of(main)


def test_include_must_be_a_list_of_names(tmp_path):
    assert "include" in error_of(write(tmp_path / "duban.toml", "include = 5\n"))


# --- ${ENV} --------------------------------------------------------------------------------------


def test_env_references_are_kept_in_the_settings_and_read_at_use(tmp_path, monkeypatch):
    monkeypatch.delenv("DUBAN_WECOM_TEST", raising=False)
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${DUBAN_WECOM_TEST}"
    path = write(tmp_path / "duban.toml", f'[units."市司法局"]\nwecom = "{url}"\n')
    settings = load_settings(path)  # loading does not need the secret yet
    assert settings.units["市司法局"].wecom == url
    monkeypatch.setenv("DUBAN_WECOM_TEST", "k-1")
    assert expand_env(settings.units["市司法局"].wecom).endswith("key=k-1")
    monkeypatch.setenv("DUBAN_WECOM_TEST", "k-2")  # rotated without a reload
    assert expand_env(settings.units["市司法局"].wecom).endswith("key=k-2")


def test_a_missing_env_variable_names_the_variable_and_where(monkeypatch):
    monkeypatch.delenv("DUBAN_NOT_SET", raising=False)
    with pytest.raises(UserError) as info:
        expand_env("x${DUBAN_NOT_SET}y", where="units.市司法局.wecom")
    assert "DUBAN_NOT_SET" in str(info.value) and "units.市司法局.wecom" in str(info.value)


def test_text_without_references_is_unchanged():
    assert expand_env("plain $HOME {x}") == "plain $HOME {x}"


# --- paths ---------------------------------------------------------------------------------------


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    settings = load_settings(write(tmp_path / "duban.toml", ""))
    assert settings.resolve_path("workflows") == tmp_path / "workflows"
    assert settings.resolve_path("/srv/plans") == Path("/srv/plans")
    assert Settings().resolve_path("workflows") == Path("workflows")


# --- the shipped examples ------------------------------------------------------------------------


def example_keys(model: type, prefix: str = "") -> set[str]:
    from pydantic import BaseModel

    keys = set()
    for name, field in model.model_fields.items():
        if name == "source":
            continue
        key = prefix + (field.alias or name)
        keys.add(key)
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            inner = getattr(arg, "__args__", ())
            for cls in (arg, *inner):
                if isinstance(cls, type) and issubclass(cls, BaseModel):
                    keys |= example_keys(cls, key + ".")
    return keys


def flatten(doc: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in doc.items():
        keys.add(prefix + key)
        if isinstance(value, dict):
            keys |= flatten(value, prefix + key + ".")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                keys |= flatten(item, prefix + key + ".")
    return keys


def test_the_example_config_documents_every_key(monkeypatch):
    """Every key the settings know appears in duban.example.toml (commented or set)."""
    text = (EXAMPLES / "duban.example.toml").read_text(encoding="utf-8")
    set_keys = flatten(tomllib.loads(text))
    # Keys left at their default are shown commented out: `# key = value`.
    commented = {line.lstrip("# ").split("=")[0].strip() for line in text.splitlines()
                 if line.lstrip().startswith("#") and "=" in line}
    missing = []
    for key in example_keys(Settings):
        if key == "units" or key.startswith("units."):
            continue  # the contact directory lives in units.example.toml
        leaf = key.rsplit(".", 1)[-1]
        if key not in set_keys and leaf not in commented:
            missing.append(key)
    assert missing == []


def install_examples(target: Path) -> Path:
    """Copy the examples as the README's install steps do: duban.toml including units.toml."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "duban.toml").write_bytes((EXAMPLES / "duban.example.toml").read_bytes())
    (target / "units.toml").write_bytes((EXAMPLES / "units.example.toml").read_bytes())
    return target / "duban.toml"


def env_names(*paths: Path) -> set[str]:
    names = set()
    for path in paths:
        names |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text("utf-8")))
    return names


def test_the_examples_load_and_every_secret_is_an_env_reference(tmp_path, monkeypatch):
    names = env_names(EXAMPLES / "duban.example.toml", EXAMPLES / "units.example.toml")
    assert names, "the examples show how a webhook key comes from the environment"
    for name in names:
        monkeypatch.setenv(name, f"placeholder-{name.lower()}")
    settings = load_settings(install_examples(tmp_path / "etc"))
    assert settings.channels.email is not None
    assert settings.channels.email.password_env == "DUBAN_SMTP_PASSWORD"
    for unit, contact in settings.units.items():
        assert contact.has_contact, unit
        assert all(addr.endswith("@example.gov.cn") for addr in contact.email), unit
        if contact.wecom:
            # A robot key in the file itself would be a leaked secret.
            assert re.search(r"key=\$\{DUBAN_WECOM_[A-Z]+\}$", contact.wecom), unit
            assert expand_env(contact.wecom).startswith("https://qyapi.weixin.qq.com/")


def seed_plan_units() -> set[str]:
    from engine.planfile import read_plan

    plan = read_plan(REPO / "workflows" / "zhuhai-gba-legal-services.yaml")
    names = {plan.coordinator} - {""}
    for task in plan.tasks:
        names.update(task.units)
    names.update(plan.aliases)
    return names


def test_the_example_directory_covers_every_unit_of_the_seed_plan(tmp_path):
    from engine.notify.directory import contact_of

    if not (REPO / "workflows" / "zhuhai-gba-legal-services.yaml").exists():
        pytest.skip("the seed plan has not been imported yet")
    settings = load_settings(install_examples(tmp_path / "etc"))
    names = seed_plan_units()
    assert len(names) >= 25
    missing = sorted(name for name in names if contact_of(name, settings) is None)
    assert missing == []
    # One bureau under two names: both reach the same entry.
    assert contact_of("市市场监督管理局", settings) is settings.units["市市场监管局"]


@pytest.mark.parametrize("value", ["9", "9.5", '"09:00+08:00"', "true"])
def test_send_at_must_be_a_local_clock_time(tmp_path, value):
    message = error_of(write(tmp_path / "duban.toml", f"[policy]\nsend_at = {value}\n"))
    assert "键 policy.send_at" in message and "09:00" in message


@pytest.mark.parametrize(("value", "expected"), [('"09:00"', time(9)), ("08:30:00", time(8, 30))])
def test_send_at_as_text_or_toml_time(tmp_path, value, expected):
    path = write(tmp_path / "duban.toml", f"[policy]\nsend_at = {value}\n")
    assert load_settings(path).policy.send_at == expected
