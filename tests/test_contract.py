"""The command-line contract of DESIGN.md as an outside tester drives it: one test per finding.

Each test runs the real CLI (in-process through `duban`, or the installed script where the process
matters) and shows what the contract asks: one Chinese line on stderr with the right exit status for
a mistake, only JSON on stdout with --json, and nothing stored changed by a refused command.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from tests.conftest import SEED_PLAN

NOW = ("--now", "2021-06-01T10:00:00+08:00")


def one_line_error(result, code: int = 2) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1 and result.err.startswith("duban: "), result.err
    return result.err


@pytest.fixture
def loaded(duban, workdir: Path):
    shutil.copy(SEED_PLAN, workdir / "plan.yaml")
    assert duban(*NOW, "load", "plan.yaml").code == 0
    return duban


def board(duban) -> list[dict]:
    result = duban(*NOW, "tasks", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


# --- usage mistakes Click detects were English, and a bare `duban` printed the whole help -------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((), "duban tasks"),
        (("show", "abc"), "abc"),
        (("show",), "NO"),
        (("progress", "1", "--unit", "市发改局"), "--text"),
        (("tasks", "--bogus"), "--bogus"),
        (("tsks",), "tasks"),
        (("show", "1", "2"), "2"),
        (("request", "1", "--unit", "市发改局", "--to"), "--to"),
    ],
)
def test_usage_mistakes_are_one_chinese_line(loaded, args, names):
    before = board(loaded)
    err = one_line_error(loaded(*NOW, *args))
    assert names in err
    assert not any(word in err for word in ("Usage", "Missing", "No such", "Invalid", "Got "))
    assert board(loaded) == before


# --- an explicit --db whose folder does not exist built the folders silently --------------------


def test_db_in_a_missing_folder_is_refused(duban, workdir: Path):
    missing = workdir / "no-such-dir" / "sub"
    err = one_line_error(duban("--db", f"sqlite:///{missing / 'x.db'}", *NOW, "tasks"))
    assert str(workdir / "no-such-dir") in err
    assert not (workdir / "no-such-dir").exists()
    # the file's own folder is still made, as for the default ./var/
    assert duban("--db", f"sqlite:///{workdir / 'fresh' / 'x.db'}", *NOW, "tasks").code == 0
    assert (workdir / "fresh" / "x.db").is_file()


# --- doctor: stdout held a verdict line besides the problems, and it took no --json ----------


def test_doctor_stdout_is_one_line_per_problem_and_json_lists_them(duban, workdir: Path):
    missing = f"sqlite:///{workdir / 'gone' / 'sub' / 'x.db'}"
    result = duban("--db", missing, *NOW, "doctor")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines and all(line.startswith("问题：") for line in lines), lines
    assert any("gone" in line for line in lines)
    assert f"共发现 {len(lines)} 个问题" in result.err
    as_json = duban("--db", missing, *NOW, "doctor", "--json")
    assert as_json.code == 1
    document = json.loads(as_json.out)
    assert [f"问题：{p}" for p in document["problems"]] == lines
    assert "检查通过" not in as_json.out


# --- simulate said nothing of years without official holiday data ------------------------------


def test_simulate_json_stays_clean_while_missing_calendar_years_are_said(loaded):
    result = loaded(
        "--now", "2030-06-03T10:00:00+08:00",
        "simulate", "--from", "2030-06-03", "--to", "2030-06-05", "--json",
    )
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert rows and all(row["at"].endswith("+08:00") for row in rows)
    assert "2030 年的法定节假日数据缺失" in result.err


# --- send-test wrote a test notice to a unit nobody knows ----------------------------------------


def test_send_test_to_an_unknown_unit_is_refused(loaded, workdir: Path):
    err = one_line_error(loaded(*NOW, "send-test", "--unit", "市无此局", "--channel", "file"))
    assert "市无此局" in err and "不是已知的单位" in err
    assert not (workdir / "var" / "outbox").exists()
    assert loaded(*NOW, "send-test", "--unit", "市发改局", "--channel", "file").code == 0


# --- `--db sqlite:///` (no path) silently used a throw-away in-memory database ------------------


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://"])
def test_db_url_without_a_path_is_refused(loaded, workdir: Path, url: str):
    before = board(loaded)
    err = one_line_error(loaded("--db", url, *NOW, "load", "plan.yaml"))
    assert url in err
    assert board(loaded) == before


# --- a folder given as the config or the plan file was answered in English ("Is a directory") -


@pytest.mark.parametrize("args", [("--config", "adir", "tasks"), ("load", "adir")])
def test_a_folder_instead_of_a_file_is_one_chinese_line(loaded, workdir: Path, args):
    (workdir / "adir").mkdir()
    before = board(loaded)
    err = one_line_error(loaded(*NOW, *args))
    assert "adir" in err and "文件夹" in err and "directory" not in err
    assert board(loaded) == before


# --- retry of a notice still waiting pulled its send time forward and freed its claim -------


def test_retry_of_a_pending_notice_is_refused_and_changes_nothing(loaded):
    assert loaded(*NOW, "request", "1", "--unit", "市发改局", "--to", "in_progress",
                  "--reason", "已启动").code == 0
    pending = [n for n in json.loads(loaded(*NOW, "outbox", "--json").out)
               if n["status"] == "pending"]
    assert pending, "the approval request should wait in the outbox"
    notice = pending[0]
    err = one_line_error(loaded(*NOW, "retry", str(notice["id"])))
    assert f"#{notice['id']}" in err and "等待发送" in err
    after = json.loads(loaded(*NOW, "outbox", "--json").out)
    assert [n for n in after if n["id"] == notice["id"]] == [notice]


# --- --db naming a file that is not a database was "a failure that is not the user's" (exit 1) --


def test_db_naming_a_file_that_is_not_a_database_is_a_user_error(loaded, workdir: Path):
    text = (workdir / "plan.yaml").read_bytes()
    err = one_line_error(loaded("--db", "sqlite:///plan.yaml", *NOW, "tasks", "--json"))
    assert "plan.yaml" in err and "不是 SQLite 数据库" in err
    assert (workdir / "plan.yaml").read_bytes() == text


# --- the installed script: env variables stand for the global options, default ./var/ ---------

DUBAN = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "duban"


def script(workdir: Path, *args: str, **env: str):
    import os
    import subprocess

    clean = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return subprocess.run([str(DUBAN), *args], cwd=workdir, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")
def test_env_variables_work_as_the_global_options(workdir: Path):
    shutil.copy(SEED_PLAN, workdir / "plan.yaml")
    (workdir / "duban.toml").write_text("[policy]\nyellow_within_days = 60\n", "utf-8")
    version = script(workdir, "--version")
    assert version.returncode == 0 and version.stdout.startswith("duban ")
    assert script(workdir, *NOW, "load", "plan.yaml").returncode == 0
    assert (workdir / "var" / "duban.db").is_file()  # the default database
    by_options = script(workdir, "--db", "sqlite:///var/duban.db", "--config", "duban.toml",
                        "--now", "2021-05-01T10:00:00+08:00", "tasks", "--json")
    by_env = script(workdir, "tasks", "--json", DUBAN_DATABASE_URL="sqlite:///var/duban.db",
                    DUBAN_CONFIG="duban.toml", DUBAN_NOW="2021-05-01T10:00:00+08:00")
    assert by_options.returncode == by_env.returncode == 0, by_env.stderr
    rows = json.loads(by_env.stdout)
    assert rows == json.loads(by_options.stdout)
    default = json.loads(script(workdir, "--now", "2021-05-01T10:00:00+08:00",
                                "tasks", "--json").stdout)
    # the config's 60-day yellow window reached the board through DUBAN_CONFIG
    assert [r["light"] for r in rows] != [r["light"] for r in default]
    bad = script(workdir, "tasks", DUBAN_NOW="2021-13-01")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "DUBAN_NOW" in bad.stderr


# --- load --json kept stdout clean by dropping the import-warning note a person must see ------


def test_load_json_is_clean_and_still_warns_on_stderr(duban, workdir: Path):
    shutil.copy(SEED_PLAN, workdir / "plan.yaml")
    result = duban(*NOW, "load", "plan.yaml", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["plan"] == "zhuhai-gba-legal-services" and len(document["created"]) == 18
    assert "条导入警告" in result.err


# --- out-of-range dates and numbers reached the code and came back as "内部错误" (exit 1) --------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--now", "9999-12-31T23:59", "stats", "--json"), "9999-12-31T23:59"),
        (("--now", "1900-01-01", "tasks", "--json"), "1900-01-01"),
        (("simulate", "--from", "9999-12-30", "--to", "9999-12-31", "--json"), "--from"),
        (("simulate", "--from", "0001-01-01", "--to", "0001-01-05"), "0001-01-01"),
        (("extend", "1", "--unit", "市发改局", "--until", "9999-12-31", "--reason", "x"),
         "--until"),
        (("show", "99999999999999999999999", "--json"), "99999999999999999999999"),
        (("approve", "99999999999999999999999", "--by", "市司法局"), "REQ"),
        (("preview", "reminder", "--task", "99999999999999999999999"), "--task"),
        (("retry", "99999999999999999999999"), "99999999999999999999999"),
    ],
)
def test_out_of_range_values_are_user_errors(loaded, args, names):
    before = board(loaded)
    requests_before = loaded(*NOW, "requests", "--json").out
    clock = () if args[0] == "--now" else NOW
    err = one_line_error(loaded(*clock, *args))
    assert names in err and "内部错误" not in err
    assert board(loaded) == before
    assert loaded(*NOW, "requests", "--json").out == requests_before


# --- export and import wrote into any missing path, creating every folder on the way ----------


@pytest.mark.parametrize(
    "args",
    [
        ("export", "-o", "no/such/ledger.xlsx"),
        ("import", "seed.txt", "-o", "no/such/plan.yaml"),
    ],
)
def test_an_output_under_a_missing_path_is_refused(loaded, workdir: Path, args):
    from tests.conftest import SEED

    shutil.copy(SEED, workdir / "seed.txt")
    err = one_line_error(loaded(*NOW, *args))
    assert "no" in err and "不存在" in err
    assert not (workdir / "no").exists()
    # one new folder for the file is still fine
    assert loaded(*NOW, *[a.replace("no/such/", "out/") for a in args]).code == 0


# --- a plan file with a date that does not exist or a huge task number was an internal error ---


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("due: 2021-06-30}", "due: 2021-13-30}", "2021-13-30"),
        ("- 'no': 2\n", "- 'no': 99999999999999999999999\n", "tasks[1].no"),
    ],
)
def test_a_plan_file_with_an_impossible_value_is_a_user_error(loaded, workdir: Path, old, new,
                                                               names):
    text = (workdir / "plan.yaml").read_text("utf-8")
    assert old in text
    (workdir / "bad.yaml").write_text(text.replace(old, new, 1), "utf-8")
    before = board(loaded)
    err = one_line_error(loaded(*NOW, "load", "bad.yaml"))
    assert "bad.yaml" in err and names in err and "内部错误" not in err
    assert board(loaded) == before


@pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")
def test_installed_run_once_and_run_until_sigterm(workdir: Path):
    import os
    import signal
    import subprocess

    shutil.copy(SEED_PLAN, workdir / "plan.yaml")
    (workdir / "duban.toml").write_text("[service]\ntick_seconds = 1\n", "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_CONFIG="duban.toml", DUBAN_NOW="2021-07-01T10:00:00+08:00")
    assert script(workdir, "load", "plan.yaml", **env).returncode == 0
    once = script(workdir, "run", "--once", **env)
    assert once.returncode == 0, once.stderr
    assert "生成通知" in once.stdout and "Traceback" not in once.stderr
    process = subprocess.Popen([str(DUBAN), "run"], cwd=workdir, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        for line in process.stderr:  # wait for the ready line, no sleeping
            if "督办服务已启动" in line:
                break
        else:
            raise AssertionError("duban run exited before it was ready")
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert "Traceback" not in rest


# --- a MySQL URL was answered "driver MySQLdb not installed (PostgreSQL: install duban[postgres])"


def test_an_unsupported_database_kind_is_named_and_its_password_hidden(duban):
    err = one_line_error(duban("--db", "mysql://duban:s3cret@db.example/duban", *NOW, "tasks"))
    assert "不受支持" in err and "sqlite" in err and "s3cret" not in err


# --- the sweep of mistakes an outside tester tries first (these already held; kept as a guard) -


@pytest.mark.parametrize(
    "args",
    [
        ("--now", "2021-13-01", "tasks", "--json"),
        ("simulate", "--from", "2021-02-01", "--to", "2021-01-01", "--json"),
        ("export", "--format", "pdf", "-o", "x.pdf"),
        ("preview", "nosuchkind"),
        ("retry", "999"),
        ("approve", "999", "--by", "市司法局"),
        ("reject", "1", "--by", "市司法局"),
        ("--db", "notaurl", "tasks", "--json"),
        ("--config", "no-such.toml", "tasks"),
        ("tasks", "--status", "finished", "--json"),
        ("tasks", "--unit", "市无此局", "--json"),
        ("show", "1", "--plan", "nope", "--json"),
        ("show", "99", "--json"),
        ("outbox", "--status", "lost", "--json"),
        ("request", "1", "--unit", "市发改局", "--to", "done", "--reason", "x", "--json"),
        ("extend", "1", "--unit", "市发改局", "--until", "2021-05-01", "--reason", "x"),
        ("progress", "1", "--unit", "市发改局", "--text", " "),
        ("send-test", "--unit", "市发改局", "--channel", "fax"),
        ("import", "missing.txt", "-o", "p.yaml", "--json"),
        ("load", "missing.yaml", "--json"),
        ("stats", "--plan", "nope", "--json"),
    ],
)
def test_common_mistakes_are_one_line_exit_2_and_change_nothing(loaded, workdir: Path, args):
    before = board(loaded)
    outbox = loaded(*NOW, "outbox", "--json").out
    clock = () if args[0] == "--now" else NOW
    one_line_error(loaded(*clock, *args))
    assert board(loaded) == before
    assert loaded(*NOW, "outbox", "--json").out == outbox
    assert loaded(*NOW, "requests", "--json").out.strip() == "[]"


# --- a %40 in a --db password reached Alembic's configparser: "invalid interpolation syntax" and
# --- the URL with its password in clear; no message or log line may ever show a password -------

SECRET = "Pg@Secret"
SPECIAL = "S3cr:t/p@ss%w?rd#&'x"


def password_forms(password: str, pieces: bool = True) -> set[str]:
    """The password as typed, escaped and decoded, and the pieces an unescaped @ : / cuts it in."""
    forms = {password, quote(password, safe=""), unquote(password)}
    for form in list(forms) if pieces else []:
        forms.update(piece for piece in re.split(r"[@:/]", form) if len(piece) >= 4)
    return forms


def assert_password_never_shown(result, password: str, pieces: bool = True) -> None:
    shown = result.stdout + result.stderr
    for form in password_forms(password, pieces):
        assert form not in shown, (form, shown)
    assert "Traceback" not in shown


def assert_one_line_without_password(result, password: str, codes=(1, 2)) -> None:
    assert_password_never_shown(result, password)
    assert result.returncode in codes, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("duban: "), result.stderr
    assert "内部错误" not in result.stderr


@pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")
@pytest.mark.parametrize("password", ["Pg%40Secret", quote(SPECIAL, safe=""), SPECIAL])
@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("mysql://duban:{pw}@db.example/duban", 2),  # unsupported kind
        ("postgresql+nosuch://duban:{pw}@db.example/duban", 2),  # unknown driver
        ("duban:{pw}@db.example/duban", 2),  # no scheme
        ("postgresql+psycopg://duban:{pw}@127.0.0.1:port/duban", 2),  # port not a number
        ("sqlite://duban:{pw}@/no-such-dir/sub/x.db", 2),  # folder's parent missing
        ("sqlite://duban:{pw}@/", 2),  # no file
        ("sqlite://duban:{pw}@/plan.yaml", 2),  # not a database
        ("postgresql+psycopg://duban:{pw}@127.0.0.1:1/duban", 1),  # nothing listens
    ],
)
def test_no_database_error_shows_the_password(workdir: Path, url: str, code: int, password: str):
    shutil.copy(SEED_PLAN, workdir / "plan.yaml")
    result = script(workdir, "--db", url.format(pw=password), *NOW, "tasks")
    # an unescaped @ makes any URL unreadable: a user error whatever the kind was meant to be
    assert_one_line_without_password(result, password, (code,) if "@" not in password else (2,))


@pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://duban:{pw}@127.0.0.1:1/duban",
        "postgresql+psycopg://duban:{pw}@127.0.0.1:port/duban",
        "duban:{pw}@db.example/duban",
    ],
)
def test_doctor_never_shows_the_database_password(workdir: Path, url: str):
    for password in ("Pg%40Secret", SPECIAL):
        doctor = script(workdir, "--db", url.format(pw=password), *NOW, "doctor")
        assert doctor.returncode == 1 and "数据库" in doctor.stdout, doctor.stdout
        assert_password_never_shown(doctor, password)


@pytest.fixture(scope="module")
def secret_role():
    """A role whose password is Pg@Secret, owning its own database; dropped after the module."""
    from support.postgres import role_with_password

    with role_with_password("duban_secret", SECRET) as found:
        yield found


@pytest.fixture(scope="module")
def special_role():
    from support.postgres import role_with_password

    with role_with_password("duban_special", SPECIAL) as found:
        yield found


def with_password(url: str, escaped: str, **parts: str) -> str:
    """`url` (which has a user and no password) with `escaped` written in as the password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(**parts)
    bare = parsed.render_as_string(hide_password=False)
    return bare.replace(f"://{parsed.username}@", f"://{parsed.username}:{escaped}@", 1)


def has_schema(url: str, password: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(make_url_with(url, password))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def make_url_with(url: str, password: str):
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")
def test_a_postgres_password_with_percent_escapes_works_and_is_never_shown(
    workdir: Path, secret_role, special_role
):
    for (url, checked), password in ((secret_role, SECRET), (special_role, SPECIAL)):
        escaped = quote(password, safe="")  # Pg%40Secret
        good = with_password(url, escaped)
        # a database not yet migrated: the schema is made (Alembic never sees the URL)
        first = script(workdir, "--db", good, *NOW, "tasks")
        assert first.returncode == 0, first.stderr
        assert_password_never_shown(first, password)
        assert has_schema(url, password)

        # the service's log at DEBUG, and doctor's report, name the database without it
        (workdir / "debug.toml").write_text('[service]\nlog_level = "DEBUG"\n', "utf-8")
        run = script(workdir, "--db", good, "--config", "debug.toml", *NOW, "run", "--once")
        assert run.returncode == 0, run.stderr
        assert "***" in run.stderr  # the database is named, its password hidden
        # (whole forms only: a piece such as "Secret" is also in the ORM's debug lines)
        assert_password_never_shown(run, password, pieces=False)
        doctor = script(workdir, "--db", good, *NOW, "doctor")
        assert "可以连接" in doctor.stderr, doctor.stderr
        assert_password_never_shown(doctor, password)

        failing = {
            "unknown database": with_password(url, escaped, database="duban_no_such_db"),
            "nothing listens": with_password(url, escaped, port=1),
        }
        if checked:  # the server asks this role for its password
            failing["wrong password"] = with_password(url, quote("Wr0ng@" + password, safe=""))
        for what, bad in failing.items():
            result = script(workdir, "--db", bad, *NOW, "tasks")
            assert_one_line_without_password(result, password, (1,))
            assert "操作失败" in result.stderr, (what, result.stderr)
            if what == "wrong password":
                assert_password_never_shown(result, "Wr0ng@" + password)
                assert "password authentication failed" in result.stderr
