"""The outbox table: planned notices written once, each task share of a notice never twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from engine.planner import plan_notices
from engine.store import open_database
from engine.store.outbox import enqueue, list_notices, sent_keys
from tests.test_planner import CAL, POLICY, at, snap, task


def test_enqueue_writes_each_task_share_once_even_when_grouping_differs(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        morning = plan_notices(snap(task(1, date(2021, 6, 30))), at("2021-06-29"), POLICY, CAL)
        with db.transaction() as session:
            assert [r.tasks for r in enqueue(session, morning, at("2021-06-29"))] == [[1]]
        # A pass that knows nothing of the morning groups tasks 1 and 2 into one notice: only
        # task 2 is new, so the row written lists task 2 alone.
        both = snap(task(1, date(2021, 6, 30)), task(2, date(2021, 6, 30)))
        afternoon = plan_notices(both, at("2021-06-29", 15), POLICY, CAL)
        assert [n.tasks for n in afternoon] == [(1, 2)]
        with db.transaction() as session:
            rows = enqueue(session, afternoon, at("2021-06-29", 15))
            assert [r.tasks for r in rows] == [[2]]
            assert enqueue(session, afternoon, at("2021-06-29", 16)) == []
        with db.read() as session:
            notices = list_notices(session)
            assert [(n.kind, n.recipient, n.tasks, n.status) for n in notices] == [
                ("reminder", "市发改局", [1], "pending"),
                ("reminder", "市发改局", [2], "pending"),
            ]
            assert notices[0].send_at == at("2021-06-29")
            assert len(set(sent_keys(session))) == 2
            assert list_notices(session, "sent") == []
    finally:
        db.close()


def test_a_failed_transaction_leaves_no_notice(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        notices = plan_notices(snap(task(1, date(2021, 6, 30))), at("2021-06-29"), POLICY, CAL)
        try:
            with db.transaction() as session:
                enqueue(session, notices, at("2021-06-29"))
                raise RuntimeError("the decision failed after the rows were written")
        except RuntimeError:
            pass
        with db.read() as session:
            assert list_notices(session) == [] and sent_keys(session) == []
    finally:
        db.close()


def test_outbox_status_may_be_given_as_the_label_the_table_shows(duban) -> None:
    by_code = duban("outbox", "--status", "dead", "--json")
    by_label = duban("outbox", "--status", "发送失败", "--json")
    assert (by_code.code, by_label.code) == (0, 0)
    assert by_code.out == by_label.out
    wrong = duban("outbox", "--status", "已作废")
    assert wrong.code == 2
    assert wrong.err.count("\n") == 1 and "dead（发送失败）" in wrong.err
