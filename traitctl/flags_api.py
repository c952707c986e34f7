"""The Python API for applications: the same flag engine the CLI uses, in-process.

Example usage::

    from traitctl import Flags

    flags = Flags.load("config/traits.toml", store="sqlite:///config/.traitctl/traitctl.db")
    if flags.is_enabled("new-checkout", user=42, tenant="acme"):
        ...

The configuration file is re-read when it changes (checked at most every ``check_every``
seconds); subject overrides are read from the store and cached for ``refresh`` seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traitctl.engine import flags as engine
from traitctl.engine.errors import NotFound


class Flags:
    """Evaluate feature flags of one configuration file.

    :param config_path: the main configuration file (``config/traits.toml``).
    :param store: an opened :class:`~traitctl.store.db.Store`, a store URL, or ``None`` (no overrides).
    :param refresh: seconds overrides are cached.
    :param check_every: seconds between checks of the file for changes.
    :param clock: monotonic seconds (injected by tests).
    :param now: the UTC time that override expiry is compared with (injected by tests).
    """

    def __init__(self, config_path: str | Path, store: Any = None, *, refresh: float = 5.0,
                 check_every: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        from traitctl.flags_service import utcnow

        self.path = Path(config_path)
        self.store = _open_store(store)
        self.refresh, self.check_every = refresh, check_every
        self._clock, self._now = clock, now or utcnow
        self._lock = threading.Lock()
        self._signature: tuple[int, int] | None = None
        self._flags: dict[str, engine.Flag] = {}
        #: (flag, tenant) -> predicate, for flags bucketed by user (the fast path)
        self._compiled: dict[tuple[str, str | None], Callable[[str], bool]] = {}
        self._overrides: dict[str, dict[str, bool]] = {}
        self._reload()
        start = self._clock()
        self._next_check, self._next_refresh = start + check_every, start + refresh
        self._deadline = min(self._next_check, self._next_refresh)

    @classmethod
    def load(cls, config_path: str | Path, store: Any = None, **options: Any) -> "Flags":
        """Read the flags of ``config_path`` (see the class for ``store`` and the options)."""
        return cls(config_path, store, **options)

    def names(self) -> list[str]:
        """The configured flag names."""
        if self._clock() >= self._deadline:
            self._expire()
        return list(self._flags)

    def is_enabled(self, name: str, user: Any = None, tenant: str | None = None, model: str | None = None,
                   **attributes: Any) -> bool:
        """Whether ``name`` is on for this subject: exactly what ``traitctl flags eval`` answers.

        :param user: user id (``int`` or ``str``).
        :param model: ``"<Model FQN>:<key>"`` for ``stickiness = "model"``.
        :param attributes: other context attributes a flag's ``stickiness`` may name.
        :raises NotFound: for an unknown flag.
        """
        if self._clock() >= self._deadline:
            self._expire()
        predicate = self._compiled.get((name, tenant))
        if predicate is not None and user is not None:
            return predicate(str(user))
        flag = self._get(name)
        if flag.stickiness == "user" and user is not None:
            predicate = engine.compile(flag, self._active(name), tenant)
            self._compiled[(name, tenant)] = predicate
            return predicate(str(user))
        return self.evaluate(name, user=user, tenant=tenant, model=model, **attributes).on

    def evaluate(self, name: str, user: Any = None, tenant: str | None = None, model: str | None = None,
                 **attributes: Any) -> engine.Evaluation:
        """The answer with its explanation (the steps ``traitctl flags eval --explain`` prints)."""
        if self._clock() >= self._deadline:
            self._expire()
        context = engine.Context(user=None if user is None else str(user), tenant=tenant, model=model,
                                 attributes={k: str(v) for k, v in attributes.items()})
        return engine.evaluate(self._get(name), context, self._active(name))

    # -- caching ------------------------------------------------------------------------------------------------
    def _get(self, name: str) -> engine.Flag:
        try:
            return self._flags[name]
        except KeyError:
            raise NotFound("flag", name, self._flags) from None

    def _expire(self) -> None:
        """Past a deadline: re-read the file if it changed; drop overrides whose cache time is up."""
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + self.check_every
            stat = os.stat(self.path)
            if (stat.st_mtime_ns, stat.st_size) != self._signature:
                self._reload()
        if now >= self._next_refresh:
            self._next_refresh = now + self.refresh
            self._compiled.clear()
            self._overrides.clear()
        self._deadline = min(self._next_check, self._next_refresh)

    def _reload(self) -> None:
        from traitctl import flags_service
        from traitctl.store import toml_file

        with self._lock:
            stat = os.stat(self.path)
            self._flags = flags_service.load(toml_file.read(self.path))
            self._signature = (stat.st_mtime_ns, stat.st_size)
            self._compiled.clear()
            self._overrides.clear()

    def _active(self, name: str) -> dict[str, bool]:
        if self.store is None:
            return {}
        if name not in self._overrides:
            self._overrides[name] = self.store.flag_overrides.active(name, now=self._now())
        return self._overrides[name]


def _open_store(store: Any) -> Any:
    if isinstance(store, str):
        from traitctl.store.db import Store

        return Store.open(store)
    return store
