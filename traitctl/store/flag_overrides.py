"""Subject overrides of feature flags (``flags override``), each with an expiry (30 days by default,
as in the seeds' ``setUserOverride``). Expired rows are ignored by every read and deleted by
:meth:`FlagOverrideRepo.purge_expired` (the cleanup job)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee

from traitctl.store.db import model_base, retrying


@dataclass(frozen=True)
class Override:
    """One subject's forced answer for one flag until ``expires`` (naive UTC)."""

    flag: str
    subject: str
    on: bool
    expires: dt.datetime
    created: dt.datetime
    actor: str
    kind: str = "user"


class FlagOverrideRepo:
    """Set, read, clear and purge flag overrides. Times are naive UTC, passed in by the caller."""

    def __init__(self, db: peewee.Database) -> None:
        class FlagOverrideRow(model_base(db)):
            flag = peewee.CharField(max_length=200)
            kind = peewee.CharField(max_length=64, default="user")
            subject = peewee.CharField(max_length=300)
            on = peewee.BooleanField()
            expires = peewee.DateTimeField(index=True)
            created = peewee.DateTimeField()
            actor = peewee.CharField(max_length=200)

            class Meta:
                table_name = "traitctl_flag_override"
                indexes = ((("flag", "kind", "subject"), True),)

        self.db = db
        self.Row = FlagOverrideRow
        self.models = [FlagOverrideRow]

    def set(self, flag: str, subject: str, on: bool, *, expires: dt.datetime, now: dt.datetime, actor: str,
            kind: str = "user") -> Override | None:
        """Create or replace the override; return the one it replaced (``None`` if none was active)."""
        R = self.Row

        def work() -> Override | None:
            with self.db.atomic():
                previous = self.get(flag, subject, now=now, kind=kind)
                R.delete().where((R.flag == flag) & (R.kind == kind) & (R.subject == subject)).execute()
                R.create(flag=flag, kind=kind, subject=subject, on=on, expires=expires, created=now, actor=actor)
            return previous

        return retrying(self.db, work)

    def get(self, flag: str, subject: str, *, now: dt.datetime, kind: str = "user") -> Override | None:
        """The unexpired override of ``subject``, or ``None``."""
        R = self.Row
        row = R.get_or_none((R.flag == flag) & (R.kind == kind) & (R.subject == subject) & (R.expires > now))
        return _to_override(row) if row else None

    def clear(self, flag: str, subject: str | None = None, *, now: dt.datetime, kind: str = "user") -> list[Override]:
        """Delete one subject's override (or every override of ``flag`` when ``subject`` is ``None``);
        return the unexpired ones deleted."""
        R = self.Row
        where = (R.flag == flag) & (R.kind == kind)
        if subject is not None:
            where &= R.subject == subject

        def work() -> list[Override]:
            with self.db.atomic():
                gone = [_to_override(r) for r in R.select().where(where & (R.expires > now))]
                R.delete().where(where).execute()
            return gone

        return retrying(self.db, work)

    def list(self, flag: str | None = None, *, now: dt.datetime) -> list[Override]:
        """Unexpired overrides (of one flag, or all), by flag then subject."""
        R = self.Row
        query = R.select().where(R.expires > now).order_by(R.flag, R.kind, R.subject)
        if flag is not None:
            query = query.where(R.flag == flag)
        return [_to_override(r) for r in query]

    def active(self, flag: str, *, now: dt.datetime, kind: str = "user") -> dict[str, bool]:
        """``subject -> on`` for the unexpired overrides of ``flag`` (what evaluation needs)."""
        R = self.Row
        query = R.select(R.subject, R.on).where((R.flag == flag) & (R.kind == kind) & (R.expires > now))
        return {subject: bool(on) for subject, on in query.tuples()}

    def counts(self, *, now: dt.datetime) -> dict[str, int]:
        """Flag name -> number of unexpired overrides."""
        R = self.Row
        query = R.select(R.flag, peewee.fn.COUNT(R.id)).where(R.expires > now).group_by(R.flag)
        return {flag: count for flag, count in query.tuples()}

    def purge_expired(self, now: dt.datetime) -> int:
        """Delete overrides expired at ``now``; return how many."""
        return self.Row.delete().where(self.Row.expires <= now).execute()


def _to_override(row) -> Override:
    return Override(flag=row.flag, subject=row.subject, on=bool(row.on), expires=row.expires, created=row.created,
                    actor=row.actor, kind=row.kind)
