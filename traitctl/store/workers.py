"""Worker heartbeats, written by ``traitctl worker`` and read by ``metrics workers`` and ``health``."""

from __future__ import annotations

import dataclasses
import datetime as dt

import peewee

from traitctl.engine.workers import WorkerBeat
from traitctl.store.db import model_base, retrying, upsert


class WorkerRepo:
    """Upsert and list heartbeats (one row per worker process)."""

    def __init__(self, db: peewee.Database) -> None:
        class WorkerRow(model_base(db)):
            worker_id = peewee.CharField(primary_key=True, max_length=200)
            host = peewee.CharField(max_length=200)
            pid = peewee.IntegerField()
            state = peewee.CharField(max_length=16)
            queue = peewee.CharField(max_length=100)
            started = peewee.DateTimeField()
            last_seen = peewee.DateTimeField(index=True)
            jobs_done = peewee.IntegerField(default=0)
            jobs_failed = peewee.IntegerField(default=0)
            rss_mb = peewee.FloatField(default=0)
            peak_rss_mb = peewee.FloatField(default=0)
            cpu_percent = peewee.FloatField(default=0)
            current_job = peewee.CharField(max_length=100, null=True)

            class Meta:
                table_name = "traitctl_worker"

        self.Row = WorkerRow
        self.models = [WorkerRow]

    def beat(self, beat: WorkerBeat) -> None:
        """Insert or replace the worker's row with this heartbeat."""
        row = dataclasses.asdict(beat)
        retrying(self.Row._meta.database, lambda: upsert(self.Row, row, self.Row.worker_id))

    def get(self, worker_id: str) -> WorkerBeat | None:
        row = self.Row.get_or_none(self.Row.worker_id == worker_id)
        return _to_beat(row) if row else None

    def list(self, since: dt.datetime | None = None) -> list[WorkerBeat]:
        """Heartbeats, newest first; only those seen at or after ``since`` when given."""
        query = self.Row.select().order_by(self.Row.last_seen.desc())
        if since is not None:
            query = query.where(self.Row.last_seen >= since)
        return [_to_beat(row) for row in query]

    def purge(self, before: dt.datetime) -> int:
        """Delete heartbeats last seen before ``before``; return how many."""
        return self.Row.delete().where(self.Row.last_seen < before).execute()


def _to_beat(row) -> WorkerBeat:
    return WorkerBeat(**{f.name: getattr(row, f.name) for f in dataclasses.fields(WorkerBeat)})
