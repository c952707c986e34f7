"""History events: what every write records (who, when, what, before, after)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One recorded change or transition.

    ``before`` and ``after`` are TOML literals (``42``, ``"text"``, ``[1, 2]``) or ``None`` when the
    value was absent, so that a rollback can write back exactly the type it read.

    :param kind: dotted name, e.g. ``config.set``, ``config.unset``, ``tenant.add``, ``flag.set``,
        ``job.failed``, ``rollback``.
    :param path: the key path inside ``file`` (``("traits", "HasUuid", "version")``).
    :param reverts: the id of the event a rollback undid.
    """

    id: int
    ts: dt.datetime
    actor: str
    command: str
    kind: str
    file: str | None = None
    path: tuple[str, ...] = ()
    before: str | None = None
    after: str | None = None
    trait: str | None = None
    model: str | None = None
    tenant: str | None = None
    reverts: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return " -> ".join(self.path)
