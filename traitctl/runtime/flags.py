"""Feature flags for applications: the same flag engine the CLI uses, in-process.

Example usage::

    from traitctl.runtime import Flags

    flags = Flags.load("config/traits.toml", store="sqlite:///config/.traitctl/traitctl.db")
    flags = Flags.load("config/.traitctl/snapshot.json")       # or the exported snapshot
    if flags.is_enabled("new-checkout", user=42, tenant="acme"):
        ...

The configuration file (or snapshot) is re-read when it changes (checked at most every
``check_every`` seconds). Subject overrides come from the store (TOML) or from the snapshot; those
from the store are cached for ``refresh`` seconds. An override is never used past its expiry: the
cache ends at the earliest expiry it holds.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from traitctl.engine import flags as engine
from traitctl.engine.errors import NotFound

#: compiled (flag, tenant) rules kept between refreshes before they are emptied: bounds memory for
#: apps asking about unbounded tenant ids (one taken from each request).
COMPILED_LIMIT = 100_000


class Flags:
    """Evaluate feature flags of one configuration file or JSON snapshot.

    :param config_path: the main configuration file (``config/traits.toml``) or a
        ``traitctl.snapshot/1`` JSON file (``traitctl export --format json``).
    :param store: an opened :class:`~traitctl.store.db.Store`, a store URL, or ``None`` (no overrides
        from a store; a snapshot carries its own). A URL is opened once per process and its store
        shared by every ``Flags`` loaded with the same URL, so loading again opens no connection.
    :param refresh: seconds overrides read from the store are cached.
    :param check_every: seconds between checks of the file for changes.
    :param environ: the environment ``env`` tables read (default ``os.environ``).
    :param clock: monotonic seconds (injected by tests).
    :param now: the UTC time that override expiry is compared with (injected by tests).
    """

    def __init__(self, config_path: str | Path, store: Any = None, *, refresh: float = 5.0,
                 check_every: float = 1.0, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], dt.datetime] | None = None) -> None:
        self.path = Path(config_path)
        #: the store's URL when one was given: its SQLite file is checked for a replacement on each read
        self._store_url = store if isinstance(store, str) else None
        self.store = _open_store(store)
        self.refresh, self.check_every = refresh, check_every
        self.environ = os.environ if environ is None else environ
        self._clock, self._now = clock, now or _utcnow
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int, int] | None = None
        self._flags: dict[str, engine.Flag] = {}
        #: snapshot overrides: flag -> user -> (on, expiry)
        self._snapshot_overrides: dict[str, dict[str, tuple[bool, dt.datetime | None]]] | None = None
        #: (flag, tenant) -> predicate, for flags bucketed by user (the fast path)
        self._compiled: dict[tuple[str, str | None], Callable[[str], bool]] = {}
        self._overrides: dict[str, dict[str, bool]] = {}
        #: why the last re-read after a change failed (the flags read before are still used)
        self.reload_error: str | None = None
        self._reload()
        start = self._clock()
        self._next_check, self._next_refresh, self._next_expiry = start + check_every, start + refresh, math.inf
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

    def is_enabled(self, name: str, user: Any = None, tenant: Any = None, model: str | None = None,
                   **attributes: Any) -> bool:
        """Whether ``name`` is on for this subject: exactly what ``traitctl flags eval`` answers.

        :param user: user id (``int`` or ``str``).
        :param tenant: tenant id (``int`` or ``str``).
        :param model: ``"<Model FQN>:<key>"`` for ``stickiness = "model"``.
        :param attributes: other context attributes a flag's ``stickiness`` may name.
        :raises NotFound: for an unknown flag.
        """
        if self._clock() >= self._deadline:
            self._expire()
        if tenant is not None and not isinstance(tenant, str):
            tenant = str(tenant)
        predicate = self._compiled.get((name, tenant))
        if predicate is not None and user is not None:
            return predicate(str(user))
        flag = self._get(name)
        if flag.stickiness == "user" and user is not None:
            predicate = engine.compile(flag, self._active(name), tenant)
            if len(self._compiled) >= COMPILED_LIMIT:
                self._compiled.clear()
            self._compiled[(name, tenant)] = predicate
            return predicate(str(user))
        return self.evaluate(name, user=user, tenant=tenant, model=model, **attributes).on

    def evaluate(self, name: str, user: Any = None, tenant: Any = None, model: str | None = None,
                 **attributes: Any) -> engine.Evaluation:
        """The answer with its explanation (the steps ``traitctl flags eval --explain`` prints)."""
        if self._clock() >= self._deadline:
            self._expire()
        context = engine.Context(user=None if user is None else str(user),
                                 tenant=None if tenant is None else str(tenant), model=model,
                                 attributes={k: str(v) for k, v in attributes.items()})
        return engine.evaluate(self._get(name), context, self._active(name))

    def reload(self) -> None:
        """Re-read the file and forget cached overrides now (e.g. after changing ``environ``)."""
        self._reload()

    # -- caching ------------------------------------------------------------------------------------------------
    def _get(self, name: str) -> engine.Flag:
        try:
            return self._flags[name]
        except KeyError:
            raise NotFound("flag", name, self._flags) from None

    def _expire(self) -> None:
        """Past a deadline: re-read the file if it changed; drop overrides whose cache time or expiry is up."""
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + self.check_every
            try:
                if _signature(self.path) != self._signature:
                    self._reload()
            except Exception as exc:  # noqa: BLE001 - a half-written or broken file: keep the flags read before
                from traitctl.runtime.config import stale_warning

                self.reload_error = stale_warning(self.path, exc, self.reload_error)
        if now >= self._next_refresh or now >= self._next_expiry:
            self._next_refresh = now + self.refresh
            self._clear_overrides()
        self._deadline = min(self._next_check, self._next_refresh, self._next_expiry)

    def _clear_overrides(self) -> None:
        self._compiled.clear()
        self._overrides.clear()
        self._next_expiry = math.inf

    def _reload(self) -> None:
        with self._lock:
            signature = _signature(self.path)
            self._flags, self._snapshot_overrides = _read(self.path, self.environ)
            self._signature = signature
            self._clear_overrides()
            self.reload_error = None

    def _active(self, name: str) -> dict[str, bool]:
        """Unexpired overrides of ``name``; the cache deadline moves to the earliest expiry among them."""
        cached = self._overrides.get(name)
        if cached is not None:
            return cached
        wall = self._now()
        found = self._with_expiry(name, wall)
        active = {s: on for s, (on, expires) in found.items() if expires is None or expires > wall}
        expiries = [e for on, e in found.values() if e is not None and e > wall]
        if expiries:
            at = self._clock() + (min(expiries) - wall).total_seconds()
            self._next_expiry = min(self._next_expiry, at)
            self._deadline = min(self._deadline, at)
        self._overrides[name] = active
        return active

    def _with_expiry(self, name: str, wall: dt.datetime) -> dict[str, tuple[bool, dt.datetime | None]]:
        if self._snapshot_overrides is not None:
            return self._snapshot_overrides.get(name, {})
        if self.store is None:
            return {}
        if self._store_url is not None:  # the file may have been deleted and created again
            self.store = _open_store(self._store_url)
        return {o.subject: (o.on, o.expires) for o in self.store.flag_overrides.list(name, now=wall)
                if o.kind == "user"}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _signature(path: Path) -> tuple[int, int, int, int]:
    """Inode, size, ``mtime`` and ``ctime`` of the file (see :func:`traitctl.runtime.config._signatures`)."""
    stat = os.stat(path)
    return stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def is_snapshot(path: Path) -> bool:
    """Whether ``path`` is a JSON snapshot rather than the TOML configuration."""
    return path.suffix.lower() == ".json"


def read_snapshot(path: Path) -> Mapping[str, Any]:
    """A ``traitctl.snapshot/1`` file, checked.

    :raises InputError: naming the file when it is not JSON or not a snapshot.
    """
    import json

    from traitctl.engine import snapshot
    from traitctl.engine.errors import InputError
    from traitctl.store.toml_file import read_text

    try:
        doc = json.loads(read_text(path))
    except ValueError as exc:
        raise InputError(f"{path}: not JSON ({exc}).") from None
    return snapshot.check(doc, str(path))


def _read(path: Path, environ: Mapping[str, str]) -> tuple[dict[str, engine.Flag], Any]:
    if is_snapshot(path):
        from traitctl.engine import snapshot

        doc = read_snapshot(path)
        return _flags(snapshot.flag_section(doc), environ, path), snapshot.overrides_of(doc)
    from traitctl.store import toml_file

    return _flags(toml_file.read(path).get("flags", {}), environ, path), None


def _flags(section: Any, environ: Mapping[str, str], path: Path) -> dict[str, engine.Flag]:
    """The flags of a ``[flags]`` section with the environment's values in place of ``env`` defaults
    (as ``traitctl flags eval``); the file's own values must be sound first."""
    from traitctl.engine import envvars
    from traitctl.engine.errors import ValidationError

    if not isinstance(section, Mapping):
        raise ValidationError(f"{path}: flags must be a table of [flags.<name>] tables.")
    engine.parse_flags(section)
    return engine.parse_flags({name: envvars.apply_flag(table, environ) for name, table in section.items()})


#: (process id, URL) -> the store opened for that URL and the identity of its SQLite file, shared by
#: every Flags loaded with it. A store lives in reference cycles (its peewee models), so one opened
#: per load kept its connection (an open file) until the garbage collector ran: reloading flags in a
#: loop piled up open files.
_STORES: dict[tuple[int, str], tuple[Any, tuple[int, int] | None]] = {}
#: (process id, URL) -> stores replaced since (their file was deleted or replaced), newest last: each
#: thread closes its own connection to them on its next read (peewee keeps one per thread).
_RETIRED: dict[tuple[int, str], list[Any]] = {}
#: replaced stores kept per URL for their threads to close; older ones are left to the collector.
RETIRED_LIMIT = 8
_STORES_LOCK = threading.Lock()


def _open_store(store: Any) -> Any:
    """``store`` as it is, or the store of a URL: opened once per URL and process (a child process
    after a fork opens its own), then shared. ``sqlite:///:memory:`` is a new empty store each time.

    The SQLite file of a shared store is looked at (one ``stat``) on each call: when it was deleted,
    or deleted and created again (a restored backup, a fresh store), the store is opened again
    instead of reading the old file through its open descriptor."""
    if not isinstance(store, str):
        return store
    from traitctl.store.db import Store

    if store == "sqlite:///:memory:":
        return Store.open(store)
    key = (os.getpid(), store)
    with _STORES_LOCK:
        for old in _RETIRED.get(key, ()):
            old.db.close()  # this thread's connection to the replaced file (a no-op when it has none)
        opened, identity = _STORES.get(key, (None, None))
        if opened is not None and identity is not None and _identity(store) != identity:
            opened.close()
            retired = _RETIRED.setdefault(key, [])
            retired.append(opened)
            del retired[:-RETIRED_LIMIT]
            opened = None
        if opened is None:
            opened = Store.open(store)
            _STORES[key] = (opened, _identity(store))
        return opened


def _identity(url: str) -> tuple[int, int] | None:
    """(device, inode) of a SQLite store's file; ``None`` for another backend."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    try:
        stat = os.stat(url[len(prefix):])
    except OSError:
        return (-1, -1)  # deleted: differs from every file, so the store is opened again
    return stat.st_dev, stat.st_ino
