"""The state machine: every pair of states, with every kind of actor."""

from __future__ import annotations

import itertools

import pytest

from engine.errors import UserError
from engine.model.plan import Status
from engine.model.states import (
    TRANSITIONS,
    Role,
    auto_start,
    check_decider,
    check_request,
    parse_status,
    roles_of,
)

ALLOWED = {
    (Status.NOT_STARTED, Status.IN_PROGRESS): {Role.LEAD, Role.CO_UNIT, Role.COORDINATOR},
    (Status.IN_PROGRESS, Status.COMPLETED): {Role.LEAD, Role.CO_UNIT, Role.COORDINATOR},
    (Status.IN_PROGRESS, Status.LONG_TERM): {Role.LEAD, Role.CO_UNIT, Role.COORDINATOR},
    (Status.LONG_TERM, Status.COMPLETED): {Role.LEAD, Role.CO_UNIT, Role.COORDINATOR},
    (Status.COMPLETED, Status.IN_PROGRESS): {Role.COORDINATOR},
}


@pytest.mark.parametrize(
    ("source", "target", "role"), list(itertools.product(Status, Status, Role))
)
def test_every_pair_of_states_with_every_actor(source, target, role):
    allowed = role in ALLOWED.get((source, target), set())
    if allowed:
        transition = check_request(source, target, frozenset({role}))
        assert (transition.source, transition.target) == (source, target)
    else:
        with pytest.raises(UserError) as caught:
            check_request(source, target, frozenset({role}), unit="市某局")
        message = str(caught.value)
        assert "\n" not in message
        if role is Role.STRANGER:
            assert "不是该任务的牵头单位" in message
        elif (source, target) not in ALLOWED:
            assert source.label in message and target.label in message


@pytest.mark.parametrize("source", list(Status))
def test_an_invalid_transition_lists_the_valid_targets(source):
    invalid = next(t for t in Status if (source, t) not in ALLOWED)
    with pytest.raises(UserError) as caught:
        check_request(source, invalid, frozenset({Role.COORDINATOR}))
    for src, target in ALLOWED:
        if src is source:
            assert target.label in str(caught.value)


def test_the_table_is_the_one_in_the_design():
    assert {(t.source, t.target) for t in TRANSITIONS} == set(ALLOWED)


@pytest.mark.parametrize("role", list(Role))
def test_only_the_coordinator_decides(role):
    if role is Role.COORDINATOR:
        check_decider(frozenset({role}))
    else:
        with pytest.raises(UserError, match="统筹单位"):
            check_decider(frozenset({role}), unit="市财政局")


def test_a_coordinator_that_also_leads_holds_both_roles():
    roles = roles_of("市司法局", lead="市司法局", co_units=["市财政局"], coordinator="市司法局")
    assert roles == {Role.LEAD, Role.COORDINATOR}
    check_decider(roles)


def test_roles_of_each_kind_of_unit():
    task = {"lead": "市发改局", "co_units": ["市财政局", "市司法局"], "coordinator": "市司法局"}
    assert roles_of("市发改局", **task) == {Role.LEAD}
    assert roles_of("市财政局", **task) == {Role.CO_UNIT}
    assert roles_of("市司法局", **task) == {Role.CO_UNIT, Role.COORDINATOR}
    assert roles_of("市公安局", **task) == {Role.STRANGER}


@pytest.mark.parametrize(
    ("source", "role", "enabled", "started"),
    [
        (Status.NOT_STARTED, Role.LEAD, True, True),
        (Status.NOT_STARTED, Role.LEAD, False, False),
        (Status.NOT_STARTED, Role.CO_UNIT, True, False),
        (Status.NOT_STARTED, Role.COORDINATOR, True, False),
        (Status.NOT_STARTED, Role.STRANGER, True, False),
        (Status.IN_PROGRESS, Role.LEAD, True, False),
        (Status.COMPLETED, Role.LEAD, True, False),
        (Status.LONG_TERM, Role.LEAD, True, False),
    ],
)
def test_the_lead_units_first_report_starts_the_task(source, role, enabled, started):
    transition = auto_start(source, frozenset({role}), enabled=enabled)
    assert (transition is not None) == started
    if started:
        assert transition.target is Status.IN_PROGRESS


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("completed", Status.COMPLETED),
        ("已完成", Status.COMPLETED),
        (" 长期推进 ", Status.LONG_TERM),
    ],
)
def test_status_by_code_or_chinese_label(text, status):
    assert parse_status(text) is status


def test_an_unknown_status_names_the_choices():
    with pytest.raises(UserError) as caught:
        parse_status("done")
    assert "“done”" in str(caught.value) and "in_progress（推进中）" in str(caught.value)
