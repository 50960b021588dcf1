"""The command line's global contract: version, usage errors, the clock option."""

from engine import __version__


def test_version(duban):
    result = duban("--version")
    assert result.code == 0
    assert __version__ in result.out


def test_unknown_command_is_one_line_and_exit_2(duban):
    result = duban("frobnicate")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "frobnicate" in result.err
    assert "Traceback" not in result.err


def test_bad_now_is_a_user_error(duban):
    result = duban("--now", "yesterday", "--config", "/nonexistent/duban.toml", "tasks")
    assert result.code == 2
    assert result.err.count("\n") == 1
