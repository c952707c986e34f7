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
        self._checked = -float("inf")
        self._flags: dict[str, engine.Flag] = {}
        self._compiled: dict[tuple[str, str | None], Callable[[str], bool]] = {}
        self._overrides: dict[str, tuple[float, dict[str, bool]]] = {}
        self._reload()

    @classmethod
    def load(cls, config_path: str | Path, store: Any = None, **options: Any) -> "Flags":
        """Read the flags of ``config_path`` (see the class for ``store`` and the options)."""
        return cls(config_path, store, **options)

    def names(self) -> list[str]:
        """The configured flag names."""
        self._maybe_reload()
        return list(self._flags)

    def is_enabled(self, name: str, user: Any = None, tenant: str | None = None, model: str | None = None,
                   **attributes: Any) -> bool:
        """Whether ``name`` is on for this subject: exactly what ``traitctl flags eval`` answers.

        :param user: user id (``int`` or ``str``).
        :param model: ``"<Model FQN>:<key>"`` for ``stickiness = "model"``.
        :param attributes: other context attributes a flag's ``stickiness`` may name.
        :raises NotFound: for an unknown flag.
        """
        self._maybe_reload()
        flag = self._get(name)
        if flag.stickiness == "user" and user is not None:
            predicate = self._compiled.get((name, tenant))
            if predicate is None or self._overrides_stale(name):
                predicate = self._compile(flag, tenant)
            return predicate(str(user))
        return self.evaluate(name, user=user, tenant=tenant, model=model, **attributes).on

    def evaluate(self, name: str, user: Any = None, tenant: str | None = None, model: str | None = None,
                 **attributes: Any) -> engine.Evaluation:
        """The answer with its explanation (the steps ``traitctl flags eval --explain`` prints)."""
        self._maybe_reload()
        context = engine.Context(user=None if user is None else str(user), tenant=tenant, model=model,
                                 attributes={k: str(v) for k, v in attributes.items()})
        return engine.evaluate(self._get(name), context, self._active(name))

    # -- caching ------------------------------------------------------------------------------------------------
    def _get(self, name: str) -> engine.Flag:
        try:
            return self._flags[name]
        except KeyError:
            raise NotFound("flag", name, self._flags) from None

    def _maybe_reload(self) -> None:
        now = self._clock()
        if now - self._checked < self.check_every:
            return
        self._checked = now
        stat = os.stat(self.path)
        if (stat.st_mtime_ns, stat.st_size) != self._signature:
            self._reload()

    def _reload(self) -> None:
        from traitctl import flags_service
        from traitctl.store import toml_file

        with self._lock:
            stat = os.stat(self.path)
            self._flags = flags_service.load(toml_file.read(self.path))
            self._signature = (stat.st_mtime_ns, stat.st_size)
            self._compiled.clear()
            self._overrides.clear()

    def _overrides_stale(self, name: str) -> bool:
        cached = self._overrides.get(name)
        return self.store is not None and (cached is None or self._clock() - cached[0] >= self.refresh)

    def _active(self, name: str) -> dict[str, bool]:
        if self.store is None:
            return {}
        if self._overrides_stale(name):
            self._overrides[name] = (self._clock(), self.store.flag_overrides.active(name, now=self._now()))
        return self._overrides[name][1]

    def _compile(self, flag: engine.Flag, tenant: str | None) -> Callable[[str], bool]:
        stale = self._overrides_stale(flag.name)
        active = self._active(flag.name)
        if stale:  # new overrides: every tenant's predicate of this flag must be rebuilt
            for key in [k for k in self._compiled if k[0] == flag.name]:
                del self._compiled[key]
        predicate = engine.compile(flag, active, tenant)
        self._compiled[(flag.name, tenant)] = predicate
        return predicate


def _open_store(store: Any) -> Any:
    if isinstance(store, str):
        from traitctl.store.db import Store

        return Store.open(store)
    return store
