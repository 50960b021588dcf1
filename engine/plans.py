"""The plans the service runs: where their files are, and loading every one at start.

Where: `service.plans_dir` when the config sets it (relative to the config file); otherwise
`workflows/` in the working directory when it holds plan files; otherwise, with no config at all,
the plans shipped with duban. So a fresh clone runs its own `workflows/`, an installed wheel run
from anywhere still has the bundled plans, and an installed service reads /etc/duban/workflows. A
config that names no plan folder runs only the plans already in the database (`duban load`): a
configured installation never picks up the bundled plans by surprise.

A plan file that cannot be read does not stop the others: its error is reported and the plan keeps
running on what was loaded from it before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from engine.config import Settings
from engine.errors import UserError
from engine.paths import bundled_plans_dir
from engine.values import read_plan_bytes

if TYPE_CHECKING:
    from engine.actions.loading import LoadReport
    from engine.deadlines.calendar import WorkCalendar
    from engine.model.plan import Plan
    from engine.store import Database

PLAN_SUFFIXES = (".yaml", ".yml")
FROM_CONFIG = "config"
FROM_CWD = "cwd"
BUNDLED = "bundled"
NONE = "none"
_ORIGIN_LABELS = {FROM_CONFIG: "配置的计划目录", FROM_CWD: "工作目录下的计划目录",
                  BUNDLED: "随 duban 安装的计划目录", NONE: "（未设置计划目录）"}


@dataclass(frozen=True)
class PlanFolder:
    path: Path
    origin: str
    """FROM_CONFIG, FROM_CWD or BUNDLED: why this folder was chosen."""

    @property
    def label(self) -> str:
        return f"{_ORIGIN_LABELS[self.origin]} {self.path}"


def plan_files(folder: Path) -> list[Path]:
    """The plan files of a folder, in name order (not its subfolders: sources live there)."""
    return sorted(p for p in folder.iterdir() if p.suffix in PLAN_SUFFIXES and p.is_file())


def plans_folder(settings: Settings, cwd: Path | None = None) -> PlanFolder:
    """The folder whose plans the service loads."""
    service = settings.service
    if settings.configured and "plans_dir" in service.model_fields_set:
        path = settings.resolve_path(service.plans_dir)
        if not path.is_dir():
            raise UserError(
                f"配置文件 {settings.source}：键 service.plans_dir 指向的目录 {path} 不存在"
            )
        return PlanFolder(path, FROM_CONFIG)
    local = (cwd or Path.cwd()) / "workflows"
    if local.is_dir() and plan_files(local):
        return PlanFolder(local, FROM_CWD)
    if settings.configured:
        return PlanFolder(local, NONE)
    return PlanFolder(bundled_plans_dir(), BUNDLED)


@dataclass(frozen=True)
class LoadedPlan:
    path: Path
    plan: Plan | None
    """None when the file was not read again: unchanged since it was last loaded."""
    report: LoadReport | None
    plan_id: str = ""
    tasks: int = 0


def load_digest(data: bytes, settings: Settings) -> str:
    """What loading a plan file depends on: its bytes and the config's unit aliases (resolved at
    load). The same digest as the stored plan's means that loading again would change nothing."""
    aliases = {unit: sorted(contact.aliases) for unit, contact in sorted(settings.units.items())}
    digest = hashlib.sha256(data)
    digest.update(b"\0" + json.dumps(aliases, ensure_ascii=False).encode())
    return digest.hexdigest()


def _unchanged(db: Database, path: Path, digest: str) -> LoadedPlan | None:
    from sqlalchemy import func, select

    from engine.store.models import Plan as PlanRow
    from engine.store.models import Task as TaskRow

    with db.read() as session:
        row = session.scalars(
            select(PlanRow).where(PlanRow.file_path == str(path), PlanRow.load_digest == digest)
        ).first()
        if row is None:
            return None
        count = session.scalar(
            select(func.count()).select_from(TaskRow).where(
                TaskRow.plan_id == row.id, TaskRow.in_plan.is_(True)
            )
        )
        return LoadedPlan(path, None, None, plan_id=row.id, tasks=count or 0)


@dataclass
class PlanSync:
    """What loading every plan at start did."""

    folder: PlanFolder
    loaded: list[LoadedPlan] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """One line per plan file that could not be loaded (each names its file)."""

    @property
    def task_count(self) -> int:
        return sum(len(item.plan.tasks) if item.plan else item.tasks for item in self.loaded)


def sync_plans(db: Database, settings: Settings, now: datetime,
               folder: PlanFolder | None = None) -> PlanSync:
    """Load (create or update) every plan file of the plan folder into the store."""
    folder = folder or plans_folder(settings)
    result = PlanSync(folder)
    if folder.origin == NONE or not folder.path.is_dir():
        return result
    for path in plan_files(folder.path):
        try:
            data = read_plan_bytes(path)
            digest = load_digest(data, settings)
            unchanged = _unchanged(db, path, digest)
            if unchanged is not None:  # not parsed again: a large plan takes seconds to parse
                result.loaded.append(unchanged)
                continue
            # imported for a changed file only: the YAML parser and the loader cost a start ~0.04 s
            from engine.actions.loading import load_plan
            from engine.planfile import decode_plan_file, parse_plan

            plan = parse_plan(decode_plan_file(data, path), path)
            report = load_plan(db, plan, settings, now, path=str(path), digest=digest)
        except UserError as exc:
            result.errors.append(str(exc))
            continue
        result.loaded.append(LoadedPlan(path, plan, report, plan.id, len(plan.tasks)))
    return result


def summary_lines(sync: PlanSync) -> list[str]:
    """What was loaded, in words for the operator (one line each)."""
    if sync.folder.origin == NONE:
        return ["配置文件未设置 service.plans_dir，工作目录下也没有 workflows/："
                "只督办数据库中已载入的计划（duban load）"]
    if not sync.loaded and not sync.errors:
        return [f"{sync.folder.label} 中没有计划文件（*.yaml），暂无任务需要督办；"
                "用 duban import 导入分工方案后放入该目录"]
    lines = [f"已从{sync.folder.label} 载入 {len(sync.loaded)} 个计划、{sync.task_count} 项任务"]
    for item in sync.loaded:
        report = item.report
        if report is None or item.plan is None:
            lines.append(f"  计划 {item.plan_id}（{item.path.name}，{item.tasks} 项任务）："
                         "文件自上次载入后未改动，沿用已载入的内容")
            continue
        changes = []
        if report.plan_created:
            changes.append("新建")
        elif report.created or report.updated:
            changes.append(f"更新 {len(report.created) + len(report.updated)} 项任务")
        else:
            changes.append("无变化")
        if report.deadline_changed:
            changes.append(f"完成时限有变 {len(report.deadline_changed)} 项")
        if item.plan.warnings:
            changes.append(f"导入警告 {len(item.plan.warnings)} 条，见 duban doctor")
        lines.append(f"  计划 {item.plan.id}（{item.path.name}，{len(item.plan.tasks)} 项任务）："
                     + "，".join(changes))
    return lines


def next_send_time(now: datetime, settings: Settings, calendar: WorkCalendar) -> datetime:
    """The next moment the planner creates notices: a working day at `policy.send_at`.

    A pass at `now` itself, if it is planning time, has already run: this is the one after it.
    """
    send_at = settings.policy.send_at
    day = now.date()
    candidate = now.replace(hour=send_at.hour, minute=send_at.minute, second=0, microsecond=0)
    while candidate <= now or not calendar.is_workday(day):
        day = day + timedelta(days=1)
        candidate = datetime.combine(day, send_at, tzinfo=now.tzinfo)
    return candidate
