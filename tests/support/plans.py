"""Small plan files for tests, written with the real plan-file writer."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.deadlines.grammar import parse_deadline
from engine.model.plan import Plan, Section, Task
from engine.planfile import write_plan

COORDINATOR = "市司法局"


def small_plan(plan_id: str = "trial-plan", coordinator: str = COORDINATOR) -> Plan:
    """Five tasks covering every kind of deadline, one without a lead or a deadline."""
    return Plan(
        id=plan_id,
        title="试点分工方案",
        coordinator=coordinator,
        sections=[Section("一", "完善体系"), Section("二", "加强保障")],
        tasks=[
            Task(
                1,
                "一",
                "统筹谋划体系建设",
                "在支持澳门经济适度多元发展……",
                "市发改局",
                ["市财政局", "市司法局"],
                "市发改局、市财政局、市司法局",
                Deadline("2021年6月30日前", DeadlineKind.DATE, date(2021, 6, 30)),
            ),
            Task(
                2,
                "一",
                "建设法律服务中心",
                "",
                "市市场监督管理局",
                ["市商务局"],
                "市市场监督管理局、市商务局",
                Deadline(
                    "2021年10月前启动，2022年底前完成",
                    DeadlineKind.MILESTONES,
                    date(2022, 12, 31),
                    (
                        Milestone("2021年10月前启动", date(2021, 9, 30)),
                        Milestone("2022年底前完成", date(2022, 12, 31)),
                    ),
                ),
            ),
            Task(
                3,
                "二",
                "持续开展普法宣传",
                "",
                "市司法局",
                [],
                "市司法局",
                Deadline("长期推进", DeadlineKind.LONG_TERM),
            ),
            Task(
                4,
                "二",
                "按季度报送情况",
                "",
                "市商务局",
                ["市发改局"],
                "市商务局、市发改局",
                # The grammar's own rule, so that the plan says what an imported table would.
                parse_deadline("每季度末"),
            ),
            Task(5, "二", "其他工作", "", None, [], "", Deadline("", DeadlineKind.UNKNOWN)),
        ],
        aliases={"市市场监督管理局": "市市场监管局"},
    )


def write_small_plan(path: Path, plan: Plan | None = None) -> Path:
    write_plan(plan or small_plan(), path)
    return path


def with_task(plan: Plan, no: int, **changes: object) -> Plan:
    """A copy of `plan` with task `no` changed."""
    tasks = [replace(t, **changes) if t.no == no else t for t in plan.tasks]  # type: ignore[arg-type]
    return replace(plan, tasks=tasks)


def big_plan(tasks: int, plan_id: str = "big-plan") -> Plan:
    """A generated plan with `tasks` dated tasks over a handful of units (for benchmarks)."""
    units = [f"市第{i}局" for i in range(1, 41)]
    return Plan(
        id=plan_id,
        title="生成的大型分工方案",
        coordinator=COORDINATOR,
        sections=[Section("一", "生成")],
        tasks=[
            Task(
                n,
                "一",
                f"第{n}项任务",
                "",
                units[n % 40],
                [units[(n + 7) % 40], COORDINATOR],
                "",
                Deadline(
                    f"{2021 + n % 5}年{n % 12 + 1}月底前",
                    DeadlineKind.DATE,
                    date(2021 + n % 5, n % 12 + 1, 28),
                ),
            )
            for n in range(1, tasks + 1)
        ],
    )


def dump(database: Path) -> list[str]:
    """Every row of a SQLite file as SQL text, to show that a refused command changed nothing."""
    import sqlite3

    conn = sqlite3.connect(database)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def decide_in_process(args: list[str], barrier: object, results: object) -> None:
    """Run `duban ARGS…` in this (child) process once every racer is ready; report the outcome."""
    import contextlib
    import io

    from engine.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    barrier.wait()  # type: ignore[attr-defined]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    results.put((code, out.getvalue(), err.getvalue()))  # type: ignore[attr-defined]


def race_approvals(url: str, request_id: int) -> list[tuple[int, str, str]]:
    """Two real processes approve one request at the same moment; their (code, out, err), sorted."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    args = ["--db", url, "--now", "2021-06-10T10:00", "approve", str(request_id)]
    args += ["--by", COORDINATOR]
    racers = [
        ctx.Process(target=decide_in_process, args=(args, barrier, results)) for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    outcomes = sorted(results.get(timeout=60) for _ in racers)
    for racer in racers:
        racer.join(timeout=60)
    return outcomes


def open_in_process(url: str, barrier: object, results: object) -> None:
    """Open (and so create or upgrade) the database once every racer is ready."""
    from engine.store import open_database

    barrier.wait()  # type: ignore[attr-defined]
    try:
        open_database(url).close()
        results.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def essentials(plan: Plan, *, deadline_text: bool = True) -> list[tuple]:
    """What two readings of one plan must share, task by task (a format against another)."""
    return [
        (t.no, t.section, t.title, t.content, t.lead, t.co_units, t.units_text,
         t.deadline.kind, t.deadline.due, t.deadline.text if deadline_text else None)
        for t in plan.tasks
    ]  # fmt: skip
