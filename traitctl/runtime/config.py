"""Trait settings for applications: ``TraitConfig.get`` answers exactly as ``traitctl config get``.

Example usage::

    from traitctl.runtime import TraitConfig

    config = TraitConfig.load("config/traits.toml")            # with its tenants/*.toml
    config = TraitConfig.load("config/.traitctl/snapshot.json")  # or the exported snapshot
    ttl = config.get("Cacheable", "ttl", model="App\\Models\\Product", tenant="acme", default=3600)

Precedence: tenant+model > tenant > model > global > schema default (then ``default``). A dotted
key is looked up literally first, then as a path into nested tables. A key whose layer names an
environment variable takes the variable's value when it is set (Laravel's ``env()`` conversion).

Answers are computed once per (trait, key, model, tenant) and cached; the files are checked for
changes at most every ``check_every`` seconds and the cache is dropped when they changed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from traitctl.engine import cache as cache_scheme
from traitctl.engine import config as engine

_MISSING: Any = object()
#: answers (and resolved contexts, and matched names) kept before each cache is emptied: bounds
#: memory for apps asking about unbounded ids (a tenant or model taken from each request).
CACHE_LIMIT = 1_000_000


class TraitConfig:
    """The layered trait configuration of one TOML file (with its tenant files) or JSON snapshot.

    :param path: ``config/traits.toml`` or a ``traitctl.snapshot/1`` file (``.json``).
    :param check_every: seconds between checks of the files for changes (0: every call).
    :param environ: the environment ``env`` tables read (default ``os.environ``; read when an answer
        is first computed after a load: call :meth:`reload` after changing it).
    :param clock: monotonic seconds (injected by tests).
    """

    def __init__(self, path: str | Path, *, check_every: float = 1.0, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.check_every = check_every
        self.environ = os.environ if environ is None else environ
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple, Any] = {}
        self._layers: dict[tuple, tuple[list, Mapping]] = {}
        self._names: dict[tuple[str, str], str | None] = {}
        #: why the last re-read after a change failed (the configuration read before is still used);
        #: ``None`` when the files as they are now were read
        self.reload_error: str | None = None
        self._load()
        self._deadline = self._clock() + check_every

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> "TraitConfig":
        """Read ``path`` (see the class for the options).

        :raises TraitctlError: (``ConfigFileError``/``InputError``) naming the file when it cannot be read.
        """
        return cls(path, **options)

    def get(self, trait: str, key: str, model: str | None = None, tenant: Any = None, default: Any = None) -> Any:
        """The effective value of ``key`` of ``trait`` for ``model`` (FQN) and ``tenant``, or ``default``
        when no layer and no schema default defines it (or the trait is unknown).

        Values are shared with the cache: treat lists and tables as read-only.
        """
        if self._clock() >= self._deadline:
            self._check()
        value = self._cache.get((trait, key, model, tenant), _MISSING)
        if value is _MISSING:
            value = self._compute(trait, key, model, tenant)
        return default if value is _NOT_FOUND else value

    def resolve(self, trait: str, key: str, model: str | None = None, tenant: Any = None) -> engine.Resolved | None:
        """The full answer (value, winning layer, every defining layer, env variable), or ``None`` for
        an unknown trait or tenant."""
        found = self._context(trait, model, tenant)
        if found is None:
            return None
        layers, schema = found
        return engine.resolve(key, layers, schema, self.environ)

    def cache_key(self, trait: str, name: str, model: str | None = None, id: Any = None, tenant: Any = None) -> str:
        """The Redis key of a cached result of ``trait`` (docs/cache.md): ``[cache] prefix`` then
        ``traitctl:<trait>:<model>:<id>:<tenant>:<name>``, the same string as the Laravel companion's
        ``TraitConfig::cacheKey`` and the keys ``traitctl cache`` finds."""
        if self._clock() >= self._deadline:
            self._check()
        return cache_scheme.key(self.cache_prefix, trait, name, model, id, tenant)

    def cache_ttl(self, trait: str, model: str | None = None, tenant: Any = None) -> int | None:
        """Seconds a result of ``trait`` is cached for ``model`` and ``tenant``: its ``cache_ttl``
        resolved through every layer; ``None`` (do not cache) when no layer sets a positive whole number."""
        return cache_scheme.ttl(self.get(trait, cache_scheme.TTL_KEY, model=model, tenant=tenant))

    @property
    def cache_prefix(self) -> str:
        """``[cache] prefix`` (docs/cache.md), or Laravel's default ``laravel_cache_``."""
        return cache_scheme.prefix_of(self._cfg.section("cache"))

    def traits(self) -> list[str]:
        """The configured trait names."""
        return list(self._cfg.traits)

    def reload(self) -> None:
        """Re-read the files and drop every cached answer now."""
        self._load()

    # -- internals ------------------------------------------------------------------------------------------------
    def _compute(self, trait: str, key: str, model: str | None, tenant: Any) -> Any:
        resolved = self.resolve(trait, key, model, tenant)
        value = resolved.value if resolved is not None and resolved.found else _NOT_FOUND
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[(trait, key, model, tenant)] = value
        return value

    def _context(self, trait: str, model: str | None, tenant: Any) -> tuple[list, Mapping] | None:
        ident = (trait, model, tenant)
        found = self._layers.get(ident)
        if found is None:
            name = self._match("trait", trait)
            if name is None:
                return None
            tenant_id = None if tenant is None else str(tenant)
            if tenant_id is not None and tenant_id not in self._cfg.tenants:
                tenant_id = None  # an unknown tenant has no overrides: the other layers apply
            model_name = None if model is None else (self._match("model", model) or model.lstrip("\\"))
            found = (engine.layers_for(self._cfg, name, model_name, tenant_id), engine.schema_of(self._cfg, name))
            if len(self._layers) >= CACHE_LIMIT:
                self._layers.clear()
            self._layers[ident] = found
        return found

    def _match(self, kind: str, name: str) -> str | None:
        """The configured name ``name`` means, as ``traitctl config get`` matches it (exact, then
        case-insensitive, then a unique short name); ``None`` when none does."""
        key = (kind, name)
        if key not in self._names:
            if len(self._names) >= CACHE_LIMIT:
                self._names.clear()
            known = self._cfg.traits if kind == "trait" else self._models
            try:
                self._names[key] = engine.match_name(kind, name, known)
            except Exception:  # NotFound or ambiguous: nothing configured under that name
                self._names[key] = None
        return self._names[key]

    def _check(self) -> None:
        """Re-read the files when they changed. A change that cannot be read (a file half-written by
        an editor, a TOML error, a file gone) keeps the configuration read before, logs one warning
        per distinct error and is tried again at the next check: a get never fails on it."""
        self._deadline = self._clock() + self.check_every
        if _signatures(self._files) != self._signature:
            try:
                self._load()
            except Exception as exc:  # noqa: BLE001 - TraitctlError, OSError, a parser's own error
                self.reload_error = stale_warning(self.path, exc, self.reload_error)

    def _load(self) -> None:
        with self._lock:
            cfg, files = _read(self.path)
            self._cfg, self._files = cfg, files
            self._signature = _signatures(files)
            self._models = cfg.model_names()
            self._cache, self._layers, self._names = {}, {}, {}
            self.reload_error = None


def stale_warning(path: Path, exc: BaseException, previous: str | None) -> str:
    """Log (once per distinct error) that ``path`` changed but could not be read again, so the
    values read before are still answered; the error's sentence."""
    import logging

    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    if message != previous:
        logging.getLogger("traitctl.runtime").warning(
            "%s changed but cannot be read (%s); the values read before are still answered until it can.",
            path, message)
    return message


class _NotFound:
    def __repr__(self) -> str:
        return "NOT_FOUND"


_NOT_FOUND: Any = _NotFound()


def _signatures(files: list[Path]) -> tuple:
    """What tells a file changed: its inode (a rename over it, as traitctl and editors write), its
    size and both its times (``ctime`` too: a copy that keeps the old ``mtime`` and size, such as
    ``cp -p`` or an unpacked archive, still changes it)."""
    out = []
    for path in files:
        try:
            stat = os.stat(path)
            out.append((stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def _read(path: Path) -> tuple[engine.ConfigData, list[Path]]:
    """The configuration and the files whose change means re-reading (the tenants folder too, for
    tenant files added or removed)."""
    from traitctl.runtime.flags import is_snapshot, read_snapshot

    if is_snapshot(path):
        from traitctl.engine import snapshot

        return snapshot.to_config(read_snapshot(path), str(path)), [path]
    from traitctl.store import toml_file

    cfg = toml_file.load_config(path, toml_file.read(path), "all")
    tenant_files = sorted({Path(t.file) for t in cfg.tenants.values() if t.file != str(path)})
    return cfg, [path, path.parent / "tenants", *tenant_files]
