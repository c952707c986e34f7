"""The I/O side of the inventory: walk source roots, read files, reuse cached parses, parse the
rest (in parallel when it pays), and hand the per-file facts to the pure engine.

Example usage::

    from traitctl.scan import scan
    inv = scan([Path("examples/laravel-app/app")], excludes=("legacy/*",))
    print(len(inv.traits), len(inv.models))

Files: ``*.php`` and ``*.py`` under the roots; directories named ``vendor``, ``node_modules``,
``.git`` (and ``__pycache__``, ``.venv``) are skipped at any depth, and so is anything matching an
``excludes`` glob (matched against the path relative to its root, and against each directory
name). Symlinks are not followed. Scanned code is parsed, never imported or executed.
"""

from __future__ import annotations

import fnmatch
import gc
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitctl.engine.errors import InputError
from traitctl.engine.inventory.model import Inventory

if TYPE_CHECKING:
    from traitctl.context import App
    from traitctl.store.db import Store

SKIP_DIRS = frozenset({"vendor", "node_modules", ".git", "__pycache__", ".venv", ".traitctl"})
#: How many folders without ``__init__.py`` a namespace package may have between a module and
#: the regular package holding it (:func:`module_name`).
NAMESPACE_LEVELS = 3
#: Below this many files to parse, a process pool costs more than it saves (measured: bench/inventory.py).
PARALLEL_MIN_FILES = 400


@dataclass(frozen=True)
class SourceFile:
    """One file to inventory.

    :param path: absolute path.
    :param rel: path shown in the inventory (root's name + path below it, posix).
    :param module: Python module name (``shop.models``), ``""`` for PHP.
    :param size: bytes, from the directory walk.
    :param mtime_ns: modification time, from the directory walk.
    """

    path: str
    rel: str
    language: str
    module: str
    size: int
    mtime_ns: int


def scan(roots: Sequence[Path], *, excludes: Iterable[str] = (), model_bases: Iterable[str] = (),
         extra_traits: Iterable[str] = (), store: "Store | None" = None, use_cache: bool = True,
         progress: Callable[..., Any] | None = None, jobs: int | None = None,
         stats: dict[str, int] | None = None, libraries: Sequence[Path] = (), vendor: bool = True,
         kinds: Iterable[str] | None = None) -> Inventory:
    """Inventory the PHP and Python sources under ``roots``.

    :param roots: directories (or single files) to scan.
    :param excludes: glob patterns of paths (relative to a root) or directory names to skip.
    :param model_bases: extra model base classes (FQNs), e.g. an app's own vendor base model.
    :param extra_traits: class FQNs or short names to treat as traits (Python mixins not named
        ``*Mixin``/``*Trait``).
    :param store: an opened store whose ``filecache`` keeps parsed results between runs.
    :param use_cache: ``False`` re-parses every file (and refreshes the cache when a store is given).
    :param progress: called once as ``progress(0, total)`` when the file count is known, then as
        ``progress(n)`` with the number of files just handled (for a progress bar).
    :param jobs: processes parsing (this one included); ``None`` picks by file count and CPU count.
    :param stats: filled with cache figures (see :func:`parse_all`), ``reused``: 1 when the
        whole inventory came from the store (an unchanged tree: nothing parsed or rebuilt), else 0,
        and ``library_files``: how many library files were read.
    :param libraries: library trees (a site-packages, a package folder, a PHP ``vendor``): parsed
        like the sources, as far as resolving the sources' bases, parents and traits needs them
        (Python by module path, PHP by class name), never listed as the app's own.
    :param vendor: also use the ``vendor/`` folder next to the nearest ``composer.json`` at or
        above each root as a library.
    :param kinds: the model families to list (see :data:`~traitctl.engine.inventory.resolve.MODEL_KINDS`).
    :raises InputError: when a root does not exist.
    """
    files = collect(roots, excludes)
    if progress:
        progress(0, len(files))
    stats = stats if stats is not None else {}
    lib_roots = _library_roots(roots, libraries, vendor)
    kinds = None if kinds is None else tuple(sorted(set(kinds)))
    options = (tuple(str(r) for r in roots), tuple(excludes), tuple(model_bases), tuple(extra_traits),
               tuple(str(r) for r in lib_roots), kinds)
    key = _result_key(files, options, lib_roots) if store is not None else None
    if key is not None and use_cache:
        inv = _cached_result(store, key)  # type: ignore[arg-type]
        if inv is not None:
            stats.update(files=len(files), cached=len(files), same_content=0, parsed=0, unreadable=0, reused=1,
                         library_files=0)
            if progress:
                progress(len(files))
            return inv
    from traitctl.engine.inventory.resolve import build

    # A file-backed SQLite store gets the parsed files' entries once the parsing is over, from a
    # thread writing while this one builds the inventory (SQLite works without the GIL).
    pending: list | None = [] if _writes_behind(store) else None
    with _gc_paused():
        facts = parse_all(files, store=store, use_cache=use_cache, progress=progress, jobs=jobs, stats=stats,
                          pending=pending)
        used = _libraries(facts, files, lib_roots, model_bases, store, use_cache, jobs) if lib_roots else []
        writer = _Writer(store, pending) if pending else None  # after the last parsing process forked
        try:
            inv = build(facts + [f for _, f in used], roots=options[0], model_bases=options[2],
                        extra_traits=options[3], kinds=kinds)
            keep = key is not None and not stats["unreadable"]  # an unreadable file may be readable next time
            doc = _result_doc(inv, [f for f, _ in used]) if keep else None
        except BaseException:
            if writer is not None:
                writer.join(raising=False)  # the build's error is the one to tell
            raise
        if writer is not None:
            writer.join()
        if doc is not None:
            store.filecache.put_result(*key, doc)  # type: ignore[union-attr, misc]
    stats["reused"] = 0
    stats["library_files"] = len(used)
    return inv


# -- libraries ----------------------------------------------------------------------------------
def _library_roots(roots: Sequence[Path], libraries: Sequence[Path], vendor: bool) -> list[Path]:
    out = []
    for lib in libraries:
        if not Path(lib).is_dir():
            raise InputError(f"Library path {lib} is not a folder (check --lib, [inventory] libraries or python_env).")
        out.append(Path(lib).resolve())
    if vendor:
        for root in roots:
            found = _composer_vendor(Path(root))
            if found is not None:
                out.append(found)
    return list(dict.fromkeys(out))


def _composer_vendor(root: Path) -> Path | None:
    """``vendor/`` beside the nearest ``composer.json`` at or above ``root``, if there is one."""
    folder = root.resolve()
    folder = folder if folder.is_dir() else folder.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "composer.json").is_file():
            vendor = candidate / "vendor"
            return vendor if vendor.is_dir() else None
    return None


def python_env_libraries(env: Path) -> list[Path]:
    """The site-packages folders of a virtual environment, found on disk (its interpreter is never
    run): ``<env>/lib/python3*/site-packages`` (and ``<env>/Lib/site-packages`` on Windows).

    :raises InputError: when the environment has none.
    """
    found = sorted(env.glob("lib/python3*/site-packages")) + sorted(env.glob("Lib/site-packages"))
    if not found:
        raise InputError(f"{env}: no lib/python3*/site-packages there (check [inventory] python_env).")
    return found


class _Library:
    """Where a library tree keeps a Python module (by path) or a PHP class (by file name)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        init = root / "__init__.py"
        self.prefix = module_name(str(init)) if init.is_file() else ""
        self._stems: dict[str, list[SourceFile]] | None = None

    def module(self, name: str) -> list[SourceFile]:
        if self.prefix:
            if name != self.prefix and not name.startswith(self.prefix + "."):
                return []
            name = name[len(self.prefix) + 1:]
        below = self.root.joinpath(*name.split(".")) if name else self.root
        out = []
        for path in (below / "__init__.py", below.with_suffix(".py") if name else None):
            if path is not None and path.is_file():
                out.append(_source(str(path), str(path.relative_to(self.root.parent)).replace(os.sep, "/"),
                                   path.stat()))
        return out[:1]

    def php_class(self, fqn: str) -> list[SourceFile]:
        if self._stems is None:  # PSR-4/PSR-0: a class lives in a file named after it
            self._stems = {}
            for f in _walk(self.root, ()):
                if f.language == "php" and not f.rel.endswith(".blade.php"):
                    self._stems.setdefault(os.path.basename(f.path)[:-4].lower(), []).append(f)
        return self._stems.get(fqn.rpartition("\\")[2].lower(), [])


def _libraries(facts: list[dict], files: list[SourceFile], lib_roots: list[Path], model_bases: Iterable[str],
               store: "Store | None", use_cache: bool, jobs: int | None) -> list[tuple[SourceFile, dict]]:
    """The library files the sources need, parsed (through the same cache), until nothing more is
    missing: what the sources name, then what those library classes name, and so on."""
    from traitctl.engine.inventory.resolve import missing

    libs = [_Library(r) for r in lib_roots]
    seen = {f.path for f in files}
    asked: set[str] = set()
    used: list[tuple[SourceFile, dict]] = []
    bases = tuple(model_bases)
    while True:
        modules, classes = missing(facts + [f for _, f in used], bases)
        wanted: list[SourceFile] = []
        for name in sorted(modules - asked):
            wanted += [f for lib in libs for f in lib.module(name)]
        for name in sorted(classes - asked):
            wanted += [f for lib in libs for f in lib.php_class(name)]
        asked |= modules | classes
        wanted = [f for f in dict((f.path, f) for f in wanted).values() if f.path not in seen]
        if not wanted:
            return used
        seen.update(f.path for f in wanted)
        parsed = parse_all(wanted, store=store, use_cache=use_cache, jobs=jobs)
        used += [(f, {**p, "library": True}) for f, p in zip(wanted, parsed)]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while tens of thousands of long-lived objects are made:
    its passes over them, none of them garbage, cost as much as making them (measured)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Straight to the oldest generation: else the first collection after enabling walks every
            # object made meanwhile (20 ms after a framework's cold scan), to find none is garbage.
            # They stay collectable: the next full collection looks at them as at any old object.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


# -- the whole inventory of an unchanged tree ----------------------------------------------------
def _result_key(files: list[SourceFile], options: tuple, lib_roots: Sequence[Path] = ()) -> tuple[str, str]:
    """``(scope, state)``: the scan's roots and options (one stored inventory each, replaced as the
    tree changes), and what the inventory depends on: every version of the code building it and
    the tree as the directory walk saw it (each file's path, shown path, module, size, mtime)."""
    import json

    from traitctl import __version__
    from traitctl.engine.inventory.codec import CODEC_VERSION
    from traitctl.engine.inventory.facts import FACTS_VERSION

    scope = hashlib.blake2b(json.dumps(options).encode(), digest_size=16).hexdigest()
    versions = f"{__version__}\0{FACTS_VERSION}\0{CODEC_VERSION}\0{_engine_digest()}\n"
    tree = "".join([f"{f.path}\0{f.rel}\0{f.module}\0{f.size}\0{f.mtime_ns}\n" for f in files])
    # A package installed or removed changes a library folder (site-packages, vendor/composer).
    tree += "".join(f"{p}\0{_mtime(p)}\n" for r in lib_roots for p in (r, r / "composer" / "installed.json"))
    return scope, hashlib.blake2b((versions + tree).encode(), digest_size=16).hexdigest()


@lru_cache(maxsize=1)
def _engine_digest() -> str:
    """Digest of the inventory engine's own source, so an edited engine (an editable install keeps
    its version number) never reads an inventory an older engine built."""
    import traitctl.engine.inventory as package

    digest = hashlib.blake2b(digest_size=16)
    folder = Path(package.__file__).parent
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _cached_result(store: "Store", key: tuple[str, str]) -> Inventory | None:
    from orjson import JSONDecodeError, loads

    from traitctl.engine.inventory.codec import unpack

    data = store.filecache.get_result(*key)
    if data is None:
        return None
    with _gc_paused():
        try:
            doc = loads(data)
            # The library files it was built with must be as they were.
            for path, size, mtime_ns in doc["libraries"]:
                st = os.stat(path)
                if st.st_size != size or st.st_mtime_ns != mtime_ns:
                    return None
            return unpack(doc["inventory"])
        except (JSONDecodeError, ValueError, KeyError, TypeError, OSError):
            return None  # not what this version writes: build it again (and replace it)


def _result_doc(inv: Inventory, libs: Sequence[SourceFile] = ()) -> str:
    """What the store keeps of a scan's whole inventory (read back by :func:`_cached_result`)."""
    from orjson import dumps

    from traitctl.engine.inventory.codec import pack

    doc = {"libraries": [[f.path, f.size, f.mtime_ns] for f in libs], "inventory": pack(inv)}
    return dumps(doc).decode()


def _writes_behind(store: "Store | None") -> bool:
    """Whether a scan's cache entries can be written by a thread of their own: a SQLite store in a
    file (the thread opens its own connection to it; an in-memory database would be another one)."""
    import peewee

    db = store.db if store is not None else None
    return isinstance(db, peewee.SqliteDatabase) and db.database not in ("", ":memory:") \
        and not str(db.database).startswith("file:")


class _Writer:
    """A thread writing cache entries through its own connection to the store, closed when done;
    :meth:`join` waits for it and raises what it raised."""

    def __init__(self, store: "Store", entries: list) -> None:
        import threading

        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(store, entries), name="traitctl-cache", daemon=True)
        self.thread.start()

    def _run(self, store: "Store", entries: list) -> None:
        try:
            # As many rows a statement as the database takes (all of a framework's): the thread
            # takes the GIL back once a statement, not once a row, and waits for it each time.
            cache = store.filecache
            cache.put_many(entries, rows_per_statement=cache.rows_per_statement())
        except BaseException as exc:  # re-raised by join, in the scanning thread
            self.error = exc
        finally:
            store.db.close()  # peewee keeps one connection per thread: this thread's

    def join(self, raising: bool = True) -> None:
        self.thread.join()
        if self.error is not None and raising:
            raise self.error



def scan_for_app(app: "App", paths: Sequence[str] = (), *, use_cache: bool = True,
                 progress: Callable[..., Any] | None = None, store: "Store | None" = None,
                 stats: dict[str, int] | None = None, libraries: Sequence[str] = (),
                 kinds: Iterable[str] | None = None) -> Inventory:
    """Scan what the application's configuration names: ``[traitctl] source`` (relative to the
    configuration file's folder) unless ``paths`` are given (relative to the current folder), with
    ``[inventory] exclude``, ``model_bases``, ``traits``, ``libraries``, ``python_env`` and
    ``vendor``.

    :param app: the invocation's :class:`~traitctl.context.App`.
    :param paths: explicit roots (the command's PATH arguments).
    :param store: the store to cache in; defaults to ``app.store()``. The cache only saves time:
        a store that cannot be opened is a warning, and the scan parses every file without it.
    :param stats: filled with cache figures (see :func:`parse_all`).
    :param libraries: more library trees (``--lib``; relative to the current folder).
    :param kinds: the model families to list (``--kind``); ``None``: all.
    """
    from dataclasses import replace

    from traitctl.engine.errors import StoreError

    roots, options = roots_for_app(app, paths)
    if store is None:
        try:
            store = app.store()
        except StoreError as exc:
            app.out.warn(f"{exc.message}; scanning without the parse cache.")
    libs = [app.cwd / lib for lib in libraries] + list(options["libraries"])
    inv = scan(roots, excludes=options["exclude"], model_bases=options["model_bases"],
               extra_traits=options["traits"], store=store,
               use_cache=use_cache, progress=progress, stats=stats, libraries=libs,
               vendor=options["vendor"], kinds=kinds)
    # Roots as the user would type them from here, so a saved baseline does not depend on the machine.
    return replace(inv, roots=tuple(_shown(root, app.cwd) for root in roots))


def _shown(root: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(root.resolve(), cwd.resolve()).replace(os.sep, "/")
    except ValueError:  # another drive (Windows)
        return str(root)


def roots_for_app(app: "App", paths: Sequence[str] = ()) -> tuple[list[Path], dict[str, Any]]:
    """The roots and ``[inventory]`` options :func:`scan_for_app` uses (``libraries``: folders,
    ``python_env``'s site-packages included; ``vendor``: a bool).

    :raises InputError: when no source is configured or a setting has the wrong type.
    """
    doc = app.main_doc()
    section = doc.get("inventory", {}) if isinstance(doc.get("inventory"), dict) else {}
    options: dict[str, Any] = {key: _strings(section.get(key, []), f"inventory -> {key}", app.config_path)
                               for key in ("exclude", "model_bases", "traits", "libraries")}
    here = app.config_path.parent
    libraries = [Path(os.path.normpath(here / lib)) for lib in options["libraries"]]
    env = section.get("python_env")
    if env is not None:
        if not isinstance(env, str) or not env:
            raise InputError(f"{app.config_path}: inventory -> python_env must be a folder name, not {env!r}.")
        libraries += python_env_libraries(Path(os.path.normpath(here / env)))
    options["libraries"] = tuple(libraries)
    vendor = section.get("vendor", True)
    if not isinstance(vendor, bool):
        raise InputError(f"{app.config_path}: inventory -> vendor must be true or false, not {vendor!r}.")
    options["vendor"] = vendor
    if paths:
        return [(app.cwd / p) for p in paths], options
    configured = (doc.get("traitctl") or {}).get("source", [])
    configured = [configured] if isinstance(configured, str) else configured
    sources = _strings(configured, "traitctl -> source", app.config_path)
    if not sources:
        raise InputError(f"{app.config_path}: no [traitctl] source configured; pass PATH or set "
                         "source = [\"app\"] under [traitctl].")
    base = app.config_path.parent
    return [Path(os.path.normpath(base / s)) for s in sources], options


def _strings(value: Any, where: str, file: Path) -> tuple[str, ...]:
    from traitctl.engine.validation import string_list

    try:
        return string_list(value, where)
    except InputError as exc:
        raise InputError(f"{file}: {exc.message}") from None


# -- walking ------------------------------------------------------------------------------------
def collect(roots: Sequence[Path], excludes: Iterable[str] = ()) -> list[SourceFile]:
    """Every PHP/Python file under ``roots``, sorted by shown path (no symlinks followed).

    :raises InputError: when a root does not exist.
    """
    patterns = tuple(excludes)
    out: list[SourceFile] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise InputError(f"Source path {root} does not exist (check [traitctl] source or PATH).")
        if root.is_file():
            st = root.stat()
            out.append(_source(str(root.resolve()), root.name, st))
            continue
        out.extend(_walk(root, patterns))
    out.sort(key=lambda f: f.rel)
    # Overlapping roots (app and app/Models) reach a file twice: inventory it once.
    seen: set[str] = set()
    return [f for f in out if not (f.path in seen or seen.add(f.path))]


def _walk(root: Path, patterns: tuple[str, ...]) -> list[SourceFile]:
    found: list[SourceFile] = []
    stack = [(str(root.resolve()), root.name)]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            sub = f"{rel}/{name}"
            if patterns and _excluded(name, sub.split("/", 1)[-1], patterns):
                continue
            if entry.is_dir(follow_symlinks=False):
                if name not in SKIP_DIRS:
                    stack.append((entry.path, sub))
            elif name.endswith((".php", ".py")) and entry.is_file(follow_symlinks=False):
                found.append(_source(entry.path, sub, entry.stat(follow_symlinks=False)))
    return found


def _excluded(name: str, below_root: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(below_root, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def _source(path: str, rel: str, st: os.stat_result) -> SourceFile:
    if path.endswith(".py"):
        return SourceFile(path, rel, "python", module_name(path), st.st_size, st.st_mtime_ns)
    return SourceFile(path, rel, "php", "", st.st_size, st.st_mtime_ns)


def module_name(path: str) -> str:
    """The dotted module name of a Python file, as Python would import it: the file's name, under
    every enclosing folder that is a package (holds ``__init__.py``).

    :param path: absolute path of a ``.py`` file.
    """
    folder, name = os.path.split(path)
    parts = [] if name == "__init__.py" else [name[:-3]]
    while True:
        while _is_package(folder):
            folder, part = os.path.split(folder)
            parts.insert(0, part)
        # Folders without __init__.py inside a package are namespace packages: Python imports
        # `pkg/templates/home/models.py` as `pkg.templates.home.models` (looked for 3 levels up).
        between, probe = [], folder
        for _ in range(NAMESPACE_LEVELS):
            probe, part = os.path.split(probe)
            if not part:
                break
            between.insert(0, part)
            if _is_package(probe):
                break
        else:
            return ".".join(parts)
        if not part or not _is_package(probe) or not parts:
            return ".".join(parts)
        parts[:0] = between
        folder = probe


@lru_cache(maxsize=4096)
def _is_package(folder: str) -> bool:
    return bool(folder) and os.path.isfile(os.path.join(folder, "__init__.py"))


# -- parsing ------------------------------------------------------------------------------------
def parse_all(files: list[SourceFile], *, store: "Store | None" = None, use_cache: bool = True,
              progress: Callable[..., Any] | None = None, jobs: int | None = None,
              stats: dict[str, int] | None = None, pending: list | None = None) -> list[dict]:
    """Per-file facts (see :func:`traitctl.engine.inventory.facts.parse_file`) for ``files``,
    reusing the store's cache for unchanged files and parsing the others.

    A file is unchanged when its path, size and mtime match the cached entry, or else when its
    content digest matches a cached entry (a touched or moved file is not parsed again).

    :param store: where cached facts live (``None``: no cache).
    :param use_cache: ``False`` parses everything but still refreshes the cache.
    :param stats: filled with ``files``, ``cached`` (path+size+mtime hits), ``same_content``
        (digest hits), ``parsed`` and ``unreadable`` (files that could not be read).
    :param pending: when given, the cache entries to write are added to it instead of written.
    :returns: per file, its facts with ``file`` (its shown path); a file parsed now also holds
        ``class_infos`` (:func:`~traitctl.engine.inventory.resolve.class_infos`, made ahead for
        :func:`~traitctl.engine.inventory.resolve.build`).
    """
    cache = store.filecache if store is not None else None
    results: dict[str, dict] = {}
    todo, refreshed = list(files), []
    hits = same = 0
    if cache is not None and use_cache:
        todo, hits = _stat_hits(files, cache, results)
        if todo and not cache.empty():  # an empty cache has no content to match: read each file once
            todo, refreshed = _digest_hits(todo, cache, results)
        same = len(refreshed)
    if progress and results:
        progress(len(results))

    from traitctl.engine.inventory.resolve import class_infos

    shown: dict[str, dict] = {}

    write = (cache.put_many if pending is None else pending.extend) if cache is not None else None

    def keep(parsed_files: list[SourceFile], parsed: list[tuple[str, dict, str | None]]) -> None:
        if write is not None:
            write([_entry(f, digest, data if data is not None else facts)
                   for f, (digest, facts, data) in zip(parsed_files, parsed) if digest])
        for f, (_, facts, _) in zip(parsed_files, parsed):
            item = shown[f.path] = {**facts, "file": f.rel}
            item["class_infos"] = class_infos(item)

    # Parsed files are cached, and their class-likes made, as they come (while other processes
    # still parse), not all at the end.
    fresh = _parse_many(todo, progress, jobs, keep)
    for f, (_, facts, _) in zip(todo, fresh):
        results[f.path] = facts
    if write is not None and refreshed:
        write(refreshed)
    if stats is not None:
        stats.update(files=len(files), cached=hits, same_content=same, parsed=len(todo),
                     unreadable=sum(1 for digest, _, _ in fresh if not digest))
    # The shown path depends on the root it was reached from, so it is not part of the cached facts.
    return [shown.get(f.path) or {**results[f.path], "file": f.rel} for f in files]


def _version(f: SourceFile) -> str:
    return f"{_facts_version()}:{f.module}"


@lru_cache(maxsize=1)
def _facts_version() -> int:
    from traitctl.engine.inventory.facts import FACTS_VERSION

    return FACTS_VERSION


def _stat_hits(files: list[SourceFile], cache: Any, results: dict[str, dict]) -> tuple[list[SourceFile], int]:
    from orjson import loads

    cached = cache.get_many([f.path for f in files])
    todo = []
    for f in files:
        c = cached.get(f.path)
        if c is not None and c.size == f.size and c.mtime_ns == f.mtime_ns and c.version == _version(f):
            results[f.path] = loads(c.data)
        else:
            todo.append(f)
    return todo, len(files) - len(todo)


def _digest_hits(files: list[SourceFile], cache: Any, results: dict[str, dict]) -> tuple[list[SourceFile], list]:
    from orjson import loads

    digests = {}
    for f in files:
        try:
            digests[f.path] = content_digest(_read(f.path, f.size))
        except OSError:
            continue  # parse_one reports it
    known = cache.by_digest(digests.values())
    todo, refreshed = [], []
    for f in files:
        data = known.get((digests.get(f.path, ""), _version(f)))
        if data is None:
            todo.append(f)
            continue
        results[f.path] = loads(data)
        refreshed.append(_entry(f, digests[f.path], data))
    return todo, refreshed


def _entry(f: SourceFile, digest: str, facts: dict | str) -> Any:
    from orjson import dumps

    from traitctl.store.filecache import CachedFile

    data = facts if isinstance(facts, str) else dumps(facts).decode()
    return CachedFile(f.path, f.size, f.mtime_ns, digest, f"{_facts_version()}:{f.module}", data)


def _parse_many(todo: list[SourceFile], progress: Callable[[int], Any] | None, jobs: int | None,
                keep: Callable[[list[SourceFile], list[tuple[str, dict, str | None]]], Any] | None = None,
                ) -> list[tuple[str, dict, str | None]]:
    """``(digest, facts, facts as JSON or None)`` per file of ``todo``, in order; ``keep`` is called
    with each run of files parsed and their results, as soon as they are there."""
    workers = jobs if jobs is not None else (min(os.cpu_count() or 1, 8)
                                             if len(todo) >= PARALLEL_MIN_FILES else 1)
    if workers <= 1 or len(todo) < 2:
        out = []
        for f in todo:
            digest, facts = parse_one(f)
            out.append((digest, facts, None))
            if progress:
                progress(1)
        if keep is not None:
            keep(todo, out)
        return out
    return _parse_pool(todo, progress, workers, keep)


#: The least a share of the files handed to one parsing process holds (bytes, as weighed by
#: :func:`_weights`): below it, handing a share over costs about what parsing it does.
MIN_SHARE = 96 * 1024
#: A share is at most ``1 / (MAX_SHARES_PER_PROCESS * processes)`` of all the work.
MAX_SHARES_PER_PROCESS = 6
#: What a file weighs besides its bytes: its fixed cost (open, read, a parse's set-up) in bytes of
#: parsing (measured on laravel/framework: ~0.1 ms a file, ~4 ms per 100 KB).
FILE_WEIGHT = 2048
#: Tasks each pool process has queued: one runs, the rest wait, so it never waits for this process
#: to hand out the next (a task claims its files when it starts, not when it is queued).
QUEUED_PER_PROCESS = 3


def _parse_pool(todo: list[SourceFile], progress: Callable[[int], Any] | None, workers: int,
                keep: Callable[[list[SourceFile], list[tuple[str, dict, str | None]]], Any] | None = None,
                ) -> list[tuple[str, dict, str | None]]:
    """Parse with ``workers`` processes, this one included. The files are a row that the pool
    processes eat from the front and this process from the back, each taking a share of what is
    left when it starts one (guided self-scheduling: shares shrink as the work runs out, so the
    processes finish within a small share of each other). A pool process sends back each file's
    facts as JSON (what the cache stores anyway, and faster to move than a pickle); this one
    writes its own as JSON while the others still parse."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from orjson import dumps, loads

    from traitctl.engine.inventory.facts import prepare

    prepare()  # a forked worker starts with the parsers loaded
    context = _pool_context()
    weights = _weights(todo)
    row = context.Array("q", [0, len(todo)])  # [front, back): the files nobody has taken yet
    done: dict[int, list[tuple[str, dict, str | None]]] = {}
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context, initializer=_pool_start,
                             initargs=(todo, weights, row, workers)) as pool:
        running: set[Any] = set()

        def collect(finished: Iterable[Any]) -> None:
            for future in finished:
                running.discard(future)
                result = future.result()
                if result is None:
                    continue  # it started when nothing was left
                start, parsed = result
                done[start] = [(digest, loads(data), data) for digest, data in parsed]
                refill()
                if keep is not None:
                    keep(todo[start:start + len(parsed)], done[start])
                if progress:
                    progress(len(parsed))

        def refill() -> None:
            while len(running) < QUEUED_PER_PROCESS * (workers - 1) and row[0] < row[1]:
                running.add(pool.submit(_parse_share))

        refill()
        while (share := _claim(row, weights, workers, front=False)) is not None:
            start, end = share
            out = []
            for f in todo[start:end]:
                digest, facts = parse_one(f)
                out.append((digest, facts, dumps(facts).decode() if digest else None))
            done[start] = out
            if keep is not None:
                keep(todo[start:end], out)
            if progress:
                progress(len(out))
            collect([f for f in running if f.done()])
        while running:
            collect(wait(running, return_when=FIRST_COMPLETED).done)
    return [item for start in sorted(done) for item in done[start]]


def _weights(files: list[SourceFile]) -> list[int]:
    """``weights[i]``: what ``files[:i]`` weigh together (bytes plus :data:`FILE_WEIGHT` each)."""
    out = [0]
    total = 0
    for f in files:
        total += f.size + FILE_WEIGHT
        out.append(total)
    return out


def _claim(row: Any, weights: list[int], workers: int, *, front: bool) -> tuple[int, int] | None:
    """Take ``[start, end)`` off the front or the back of what is left of the row: a
    ``2 * workers``-th of its weight (at least :data:`MIN_SHARE`, at least one file); ``None`` when
    nothing is left."""
    from bisect import bisect_left, bisect_right

    with row.get_lock():
        first, last = row[0], row[1]
        if first >= last:
            return None
        # A share is at most a twelfth of all the files for two processes: a process slowed by other
        # work near the end then holds the others up by no more than that.
        cap = weights[-1] // (MAX_SHARES_PER_PROCESS * workers)
        want = max(MIN_SHARE, min(cap, (weights[last] - weights[first]) // (2 * workers)))
        if front:
            end = bisect_left(weights, weights[first] + want, first + 1, last)
            row[0] = end
            return first, end
        start = max(first, min(last - 1, bisect_right(weights, weights[last] - want, first, last) - 1))
        row[1] = start
        return start, last


_POOL: tuple[list[SourceFile], list[int], Any, int] | None = None


def _pool_start(files: list[SourceFile], weights: list[int], row: Any, workers: int) -> None:
    """A pool process's start: what it parses shares of (inherited as it is when forked)."""
    global _POOL
    _POOL = (files, weights, row, workers)


def _parse_share() -> tuple[int, list[tuple[str, str]]] | None:
    """A pool process's task: the next share off the front of the row, ``(start, [(digest, facts
    as JSON), ...])``, or ``None`` when none is left."""
    from orjson import dumps

    assert _POOL is not None
    files, weights, row, workers = _POOL
    share = _claim(row, weights, workers, front=True)
    if share is None:
        return None
    start, end = share
    return start, [(digest, dumps(facts).decode()) for digest, facts in map(parse_one, files[start:end])]


def _pool_context() -> Any:
    """``fork`` where it exists and this process runs one thread (a forked worker starts at once,
    with everything imported); else the platform's default start method."""
    import multiprocessing
    import threading

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def parse_one(f: SourceFile) -> tuple[str, dict]:
    """Read and parse one file: ``(content digest, facts)``; an unreadable file becomes a warning."""
    from traitctl.engine.inventory.facts import parse_file

    try:
        data = _read(f.path, f.size)
    except OSError as exc:
        return "", {"language": f.language, "module": f.module, "classes": [],
                    "warnings": [[0, f"cannot read: {exc.strerror or exc}"]]}
    return content_digest(data), parse_file(data, f.rel, f.language, f.module)


def _read(path: str, size: int = 0) -> bytes:
    """The bytes of a file whose size was ``size`` when listed: one ``read`` of that much (and one
    more byte) on the raw descriptor, half the cost of a buffered file object per file; read on
    to the end when it has grown since."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        want = size + 1
        data = os.read(fd, want)
        if len(data) < want:
            return data
        parts = [data]
        while data:
            data = os.read(fd, 1 << 20)
            parts.append(data)
        return b"".join(parts)
    finally:
        os.close(fd)


def content_digest(data: bytes) -> str:
    """The cache key of a file's content (BLAKE2b, 128 bits)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
