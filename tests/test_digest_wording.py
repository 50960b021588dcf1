"""The digest never claims every lead unit reported when it only found none missing (a plan loaded
after the report period began has no unit counted as missing, yet none may have reported)."""

import dataclasses

import pytest

from engine.notify.render import environment, render_notice
from engine.notify.samples import sample_context


@pytest.mark.parametrize("channel", ["email", "file", "wecom"])
def test_no_missing_units_is_said_without_claiming_all_reported(channel: str) -> None:
    ctx = sample_context("digest", channel)
    ctx = dataclasses.replace(ctx, extra=dict(ctx.extra, missing_reports=[]))
    rendered = render_notice(ctx, environment(None))
    body = "\n".join(rendered.markdown) if channel == "wecom" else rendered.text + rendered.html
    assert "均已按期报送" not in body
    assert "本报送期无逾期未报送推进情况的单位" in body
