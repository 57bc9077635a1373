"""The chaos ledger and its checker.

Ledger lines (tab-separated, one file per process): phase (S = started, E = ended), job id,
attempt, lease token, pid, parent pid, unix time. The checker joins them with the database
(job status and attempt rows) and classifies every submitted job:

- done once;
- done more than once: allowed only when an earlier attempt's lease ended without an ack
  (lease expired and reaped, or its worker process died); otherwise counted as unjustified;

Recovery figures for interrupted executions: requeue = kill -> the attempt's lease ended in the
database (reaped, or failed by its parent); recovery = kill -> the next execution started (this
includes waiting behind the rest of the queue).
- lost: accepted but neither DONE nor dead-lettered at the end (must be 0);
- overlapping executions under two live leases: a later attempt started while an earlier
  attempt was still running and its lease had not yet ended in the database (must be 0).
"""
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from queue_app.models import Job, JobAttempt, Outcome, Status


@dataclass
class Execution:
    job_id: str
    attempt: int
    token: str
    pid: int
    ppid: int
    start: float
    end: float | None = None


@dataclass
class Kill:
    at: float
    pid: int
    kind: str  # "parent" or "child"


@dataclass
class Report:
    submitted: int = 0
    done_once: int = 0
    done_more_than_once: int = 0
    unjustified_duplicates: int = 0
    dead_lettered: int = 0
    lost: int = 0
    lost_ids: list = field(default_factory=list)
    overlaps_live_leases: int = 0
    overlaps_after_lease_end: int = 0
    executions: int = 0
    interrupted_executions: int = 0
    reruns: int = 0
    lease_expired_attempts: int = 0
    died_attempts: int = 0
    max_recovery_seconds: float = 0.0
    mean_recovery_seconds: float = 0.0
    max_requeue_seconds: float = 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["lost_ids"] = out["lost_ids"][:10]
        return out


def read(directory: Path) -> list[Execution]:
    """Every execution found in the ledger files of `directory` (ended ones carry `end`)."""
    started: dict[tuple[str, str, int], Execution] = {}
    for path in sorted(Path(directory).glob("*.ledger")):
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) != 7:
                continue  # a process killed mid-line cannot tear a line (one write), but be strict
            phase, job_id, attempt, token, pid, ppid, stamp = parts
            key = (job_id, token, int(pid))
            if phase == "S":
                started[key] = Execution(job_id, int(attempt), token, int(pid), int(ppid), float(stamp))
            elif phase == "E" and key in started:
                started[key].end = float(stamp)
    return sorted(started.values(), key=lambda e: e.start)


def _lease_ends(job_ids: list) -> dict[tuple[str, int], list[tuple[float, str]]]:
    """(job id, attempt number) -> [(time the attempt's lease ended in the database, outcome)]."""
    ends: dict[tuple[str, int], list[tuple[float, str]]] = defaultdict(list)
    for chunk in range(0, len(job_ids), 500):
        rows = JobAttempt.objects.filter(job_id__in=job_ids[chunk:chunk + 500]).values_list(
            "job_id", "number", "finished_at", "outcome")
        for job_id, number, finished_at, outcome in rows:
            ends[(str(job_id), number)].append((finished_at.timestamp(), outcome))
    return ends


def _kill_time(execution: Execution, kills: list[Kill]) -> float | None:
    for kill in kills:
        if kill.at >= execution.start and kill.pid in (execution.pid, execution.ppid):
            return kill.at
    return None


def check(job_ids: list, executions: list[Execution], kills: list[Kill] | None = None) -> Report:
    """Classify every submitted job (see the module docstring)."""
    kills = sorted(kills or [], key=lambda k: k.at)
    ids = [str(j) for j in job_ids]
    report = Report(submitted=len(ids), executions=len(executions))
    statuses: dict[str, str] = {}
    for chunk in range(0, len(ids), 500):
        for pk, status in Job.objects.filter(pk__in=ids[chunk:chunk + 500]).values_list("id", "status"):
            statuses[str(pk)] = status
    lease_ends = _lease_ends(ids)
    by_job: dict[str, list[Execution]] = defaultdict(list)
    for e in executions:
        by_job[e.job_id].append(e)
    report.lease_expired_attempts = sum(1 for v in lease_ends.values() for _, o in v if o == Outcome.LEASE_EXPIRED)
    report.died_attempts = sum(1 for v in lease_ends.values() for _, o in v if o == Outcome.FAILED)
    acks: dict[str, int] = defaultdict(int)
    for (job_id, _number), ended in lease_ends.items():
        acks[job_id] += sum(1 for _, outcome in ended if outcome == Outcome.DONE)
    recoveries, requeues = [], []
    for job_id in ids:
        status = statuses.get(job_id)
        runs = by_job.get(job_id, [])
        if status not in (Status.DONE, Status.DLQ):
            report.lost += 1
            report.lost_ids.append(job_id)
        if status == Status.DLQ:
            report.dead_lettered += 1
        completed = [e for e in runs if e.end is not None]
        if status == Status.DONE and len(completed) == 1:
            report.done_once += 1
        elif status == Status.DONE and len(completed) > 1:
            report.done_more_than_once += 1
            if acks[job_id] != 1:
                report.unjustified_duplicates += 1
        elif status == Status.DONE and not completed:
            report.unjustified_duplicates += 1  # acked without any execution on record: a bookkeeping bug
        report.reruns += max(0, len(runs) - 1)
        for i, a in enumerate(runs):
            if a.end is None:
                report.interrupted_executions += 1
            ends = lease_ends.get((job_id, a.attempt), [])
            lease_end = max((t for t, _ in ends), default=math.inf)
            killed_at = _kill_time(a, kills) if a.end is None else None
            actual_end = a.end if a.end is not None else (killed_at if killed_at is not None else lease_end)
            for b in runs[i + 1:]:
                if b.token == a.token:
                    continue
                if b.start < min(actual_end, lease_end):
                    report.overlaps_live_leases += 1
                elif b.start < actual_end:
                    report.overlaps_after_lease_end += 1
            if a.end is None and i + 1 < len(runs):
                crashed = killed_at if killed_at is not None else a.start
                recoveries.append(runs[i + 1].start - crashed)
                if lease_end != math.inf:
                    requeues.append(lease_end - crashed)
    if recoveries:
        report.max_recovery_seconds = round(max(recoveries), 3)
        report.mean_recovery_seconds = round(sum(recoveries) / len(recoveries), 3)
    if requeues:
        report.max_requeue_seconds = round(max(requeues), 3)
    return report
