"""Configuration files on disk: fast reads, located keys, and safe edits that keep comments.

Reads go through rtoml (about 10x tomllib, 100x tomlkit on large files, CONVENTIONS.md 18); error
messages come from tomllib, which names line and column. An edit locks the file (filelock), re-reads
it under the lock, rewrites only the table it touches with tomlkit, checks that the whole new text
parses to exactly the old data plus the change, then writes a temporary file, fsyncs it and replaces
the original atomically, keeping its mode. A killed writer leaves the old file or the new one.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitctl.engine.config import TENANT_ID_RE, ConfigData, TenantSource, check_tenant_id
from traitctl.engine.errors import ConfigFileError, InputError, LockTimeout


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


#: Marks a value that is not there: as ``value`` of an edit it removes the key.
ABSENT: Any = _Absent()


# -- reading ---------------------------------------------------------------------------------------
def _limits():
    from traitctl.settings import config_limits

    return config_limits()


def read_text(path: Path | str, limits: Any = None) -> str:
    """The text of a configuration file, refused (before reading it) past the size limit.

    :param limits: the :class:`~traitctl.engine.limits.ConfigLimits` (read from the environment
        when ``None``; callers reading thousands of files pass them once).
    """
    from traitctl.engine.limits import check_file_size

    try:
        fd = os.open(path, os.O_RDONLY)  # raw reads: thousands of tenant files are read per --all-tenants
        try:
            size = os.fstat(fd).st_size
            limits = limits or _limits()
            check_file_size(size, str(path), limits)
            data = os.read(fd, size + 1)
            if len(data) > size:  # the file grew since fstat, or is a pipe or device: the rest, to the limit
                chunks, total = [data], len(data)
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > limits.max_bytes:  # /dev/zero would be read without end
                        check_file_size(total, str(path), limits)
                data = b"".join(chunks)
        finally:
            os.close(fd)
        text = data.decode("utf-8")
        # universal newlines, as text-mode reads give them
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ConfigFileError(f"{path} is a directory, not a TOML file.") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror}).") from None


def parse(text: str, path: Path | str, limits: Any = None) -> dict:
    """Parse TOML text; on error raise :class:`ConfigFileError` naming file, line and column.
    Text nested past the depth limit is refused before any parser sees it."""
    from traitctl.engine.limits import check_file_text

    check_file_text(text, str(path), limits or _limits())
    try:
        import rtoml

        return rtoml.loads(text)
    except ImportError:  # pragma: no cover - rtoml is a dependency; tomllib is the fallback
        pass
    except Exception:
        pass  # re-parse below for tomllib's exact message (or a value rtoml refuses but TOML allows)
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: invalid TOML: {exc}.") from None


#: path -> (text, data) of the last read in this process: an edit that re-reads an unchanged file
#: under its lock reuses the parse instead of paying for it twice (large files).
_LAST_READ: dict[str, tuple[str, dict]] = {}


def read(path: Path | str, limits: Any = None) -> dict:
    """The parsed contents of a TOML file (``limits``: as for :func:`read_text`)."""
    text = read_text(path, limits)
    data = parse(text, path, limits)
    _LAST_READ[str(path)] = (text, data)
    return data


def _parse_again(text: str, path: Path, reuse: bool) -> dict:
    """Parse ``text``, reusing the last read of ``path`` when the text is the same. The reused dict is
    then changed in place by the edit, so it keeps matching the file; a dry run never reuses it."""
    cached = _LAST_READ.pop(str(path), None)
    if reuse and cached is not None and cached[0] == text:
        return cached[1]
    return parse(text, path)


def tenant_file(config_path: Path, tenant: str) -> Path:
    """``tenants/<id>.toml`` beside the configuration, for a validated tenant id."""
    return config_path.parent / "tenants" / f"{check_tenant_id(tenant)}.toml"


def tenant_file_ids(config_path: Path) -> list[str]:
    """Ids of the tenants that have their own file (listing the folder, reading nothing)."""
    folder = config_path.parent / "tenants"
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n[:-5] for n in names if n.endswith(".toml") and not n.startswith("."))


def load_config(config_path: Path, main_doc: Mapping[str, Any], tenants: str | Iterable[str] | None) -> ConfigData:
    """Build :class:`ConfigData` from the main file and the tenant files asked for.

    :param tenants: ``"all"``, a collection of ids, or ``None`` (only those of the main file).
    """
    main_file = str(config_path)
    sources: dict[str, TenantSource] = {}
    in_main = main_doc.get("tenants", {})
    if isinstance(in_main, Mapping):
        for tenant_id, doc in in_main.items():
            sources[tenant_id] = TenantSource(tenant_id, main_file, ("tenants", tenant_id),
                                              doc if isinstance(doc, Mapping) else {})
    file_ids = [t for t in tenant_file_ids(config_path) if _safe(t)]
    known = set(file_ids)
    wanted = file_ids if tenants == "all" else [t for t in (tenants or ()) if t in known]
    duplicated = tuple(t for t in file_ids if t in sources)
    # Tenant files are named by string (no Path objects) and share one reading of the limits:
    # thousands of them are read for --all-tenants.
    folder = os.path.join(str(config_path.parent), "tenants", "")
    limits = _limits() if wanted else None
    for tenant_id in wanted:
        path = f"{folder}{tenant_id}.toml"
        sources[tenant_id] = TenantSource(tenant_id, path, (), read(path, limits))
    # Tenants not asked for are known by name only: no reads.
    for tenant_id in file_ids:
        if tenant_id not in sources:
            sources[tenant_id] = TenantSource(tenant_id, f"{folder}{tenant_id}.toml", (), None)
    return ConfigData(main=main_doc, main_file=main_file, tenants=sources, duplicated_tenants=duplicated)


def _safe(tenant_id: str, _match=TENANT_ID_RE.match) -> bool:
    return _match(tenant_id) is not None and tenant_id not in (".", "..")


# -- locating keys (for explain and edits) -----------------------------------------------------------
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER_START = re.compile(r"^[ \t]*\[")


@dataclass(frozen=True)
class Header:
    """A ``[table]`` or ``[[array]]`` header line (0-based ``line``)."""

    line: int
    path: tuple[str, ...]
    array: bool


_LITERAL_PARTS = re.compile(r"'[^'\n]*'|[^.'\s]+")


def _header_path(line: str) -> tuple[tuple[str, ...], bool] | None:
    """The key path of a header line: plain headers (bare and 'literal' keys) split directly, anything
    else (basic strings, comments, arrays of tables) through tomllib."""
    inner = line.strip()
    if '"' not in inner and "#" not in inner and inner[:2] != "[[" and inner[-1:] == "]":
        parts = _LITERAL_PARTS.findall(inner[1:-1])
        if parts and ".".join(parts) == inner[1:-1].replace(" ", ""):
            keys = tuple(p[1:-1] if p[0] == "'" else p for p in parts)
            if all(p[0] == "'" or _BARE.match(p) for p in parts):
                return keys, False
    import tomllib

    array = inner.startswith("[[")
    try:
        data = tomllib.loads(inner + "\n")
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    node: Any = data
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
        if isinstance(node, list):
            node = node[0] if node else None
    return tuple(path), array


@functools.lru_cache(maxsize=4)
def scan_headers(text: str) -> list[Header]:
    """Every table header of a TOML text, skipping look-alikes inside multi-line strings and arrays."""
    headers: list[Header] = []
    in_string: str | None = None
    depth = 0
    for number, line in enumerate(text.split("\n")):
        if in_string is not None:
            if in_string in line:
                in_string, depth = _scan(line, in_string, depth)
            continue
        if depth == 0 and (line[:1] == "[" or (line[:1] in " \t" and line.lstrip()[:1] == "[")):
            parsed = _header_path(line)
            if parsed is not None:
                headers.append(Header(number, parsed[0], parsed[1]))
                continue
        if depth or "[" in line or "{" in line or '"""' in line or "'''" in line:
            in_string, depth = _scan(line, None, depth)
    return headers


_ANY_HEADER = re.compile(r"^[ \t]*\[", re.M)


def table_span(text: str, table: tuple[str, ...]) -> tuple[int, int, int] | None:
    """Where the explicit ``[table]`` header is: (header line, first body line, end line), 0-based,
    end exclusive; ``None`` when the table has no header of its own.

    Large files are searched for the header's text instead of being scanned line by line; files with
    multi-line strings take the exact scan (a header look-alike could hide inside one).
    """
    if not table:
        return None
    if '"""' in text or "'''" in text:
        return _span_from_scan(text, table)
    last = re.escape(table[-1])
    for match in re.finditer(r"^[ \t]*\[[^\n]*" + last + r"[^\n]*$", text, re.M):
        parsed = _header_path(match.group(0))
        if parsed is None or parsed != (table, False):
            continue
        start = text.count("\n", 0, match.start())
        following = _ANY_HEADER.search(text, match.end())
        while following is not None and _header_path(_line_at(text, following.start())) is None:
            following = _ANY_HEADER.search(text, following.end())
        end = text.count("\n", 0, following.start()) if following else text.count("\n") + 1
        return start, start + 1, end
    if "\\" in table[-1] or '"' in text:
        return _span_from_scan(text, table)  # a basic-string key may be written with escapes
    return None


def _line_at(text: str, position: int) -> str:
    end = text.find("\n", position)
    return text[position:] if end == -1 else text[position:end]


def _span_from_scan(text: str, table: tuple[str, ...]) -> tuple[int, int, int] | None:
    headers = scan_headers(text)
    for index, header in enumerate(headers):
        if header.path == table and not header.array:
            end = headers[index + 1].line if index + 1 < len(headers) else text.count("\n") + 1
            return header.line, header.line + 1, end
    return None


def _scan(line: str, in_string: str | None, depth: int) -> tuple[str | None, int]:
    """Track multi-line strings and open brackets across one line (comments and strings skipped)."""
    i, n = 0, len(line)
    while i < n:
        if in_string is not None:
            end = line.find(in_string, i)
            while end != -1 and in_string == '"""' and _escaped(line, end):
                end = line.find(in_string, end + 1)
            if end == -1:
                return in_string, depth
            i = end + len(in_string)
            in_string = None
            continue
        ch = line[i]
        if ch == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            in_string = line[i:i + 3]
            i += 3
            continue
        if ch in "\"'":
            end = i + 1
            while end < n and (line[end] != ch or (ch == '"' and _escaped(line, end))):
                end += 1
            i = end + 1
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return in_string, depth


def _escaped(line: str, pos: int) -> bool:
    slashes = 0
    while pos - 1 - slashes >= 0 and line[pos - 1 - slashes] == "\\":
        slashes += 1
    return slashes % 2 == 1


def locate(text: str, path: tuple[str, ...]) -> int | None:
    """The 1-based line that defines ``path`` (a key inside a table, or a table), or ``None``."""
    lines: list[str] | None = None
    for depth in range(len(path), 0, -1):
        table, rest = path[:depth], path[depth:]
        span = table_span(text, table)
        if span is None:
            continue
        if not rest:
            return span[0] + 1
        lines = lines if lines is not None else text.split("\n")
        found = _find_key(lines, span[1], span[2], rest)
        if found is not None:
            return found + 1
    # A table created only by deeper headers ([a.b.c] creates a.b): point at the first of them.
    deeper = [h.line for h in scan_headers(text) if h.path[:len(path)] == path]
    return min(deeper) + 1 if deeper else None


def _find_key(lines: list[str], start: int, end: int, rest: tuple[str, ...]) -> int | None:
    import tomllib

    for number in range(start, end):
        line = lines[number]
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        lhs = line.split("=", 1)[0]
        if rest[-1].replace("\\", "") not in lhs.replace("\\", "") and not _BARE.match(rest[-1]) is None:
            continue
        try:
            data = tomllib.loads(f"{lhs.strip()} = 0")
        except tomllib.TOMLDecodeError:
            continue
        node: Any = data
        for key in rest:
            if not isinstance(node, dict) or key not in node:
                node = None
                break
            node = node[key]
        if node is not None:
            return number
    return None


# -- editing -----------------------------------------------------------------------------------------
@dataclass
class Change:
    """Set ``path`` to ``value`` (``ABSENT`` removes it); ``old`` is filled in by :func:`edit`."""

    path: tuple[str, ...]
    value: Any
    old: Any = ABSENT
    #: filled by :func:`edit` for a removal: the lines it took out, each run with the lines around it
    #: (kept in history, so that a rollback puts back exactly the text that was removed).
    removed: list[dict] | None = None
    #: given by a rollback: the ``removed`` hunks of the removal it undoes (used when their context is unchanged).
    restore: list[dict] | None = None


@dataclass
class Edit:
    """The result of :func:`edit`: both texts (for a diff) and the changes with their old values."""

    file: Path
    before: str
    after: str
    changes: list[Change] = field(default_factory=list)
    written: bool = False
    #: the file did not exist before this edit (``create=True``)
    created: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff of the file, as ``git diff`` shows it."""
        import difflib

        return "".join(difflib.unified_diff(self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
                                            fromfile=f"a/{self.file.name}", tofile=f"b/{self.file.name}"))


def lock_for(path: Path, timeout: float) -> "ConfigLock":
    """The lock guarding ``path``: ``.<name>.lock`` beside it (an fcntl lock: released when the
    holder exits, even on SIGKILL, so a killed writer never leaves a stale lock)."""
    return ConfigLock(path, timeout)


def check_writable_folder(path: Path) -> None:
    """Refuse to write a tenant file whose ``tenants/`` folder is a symbolic link leading out of
    the configuration's folder (a write there would land in another tree).

    :raises InputError: naming the folder and where it leads.
    """
    folder = path.parent
    if folder.name != "tenants" or not folder.is_symlink():
        return
    config_dir = folder.parent.resolve()
    target = folder.resolve()
    if target != config_dir and config_dir not in target.parents:
        raise InputError(f"{folder} is a symbolic link to {target}, outside {config_dir}; traitctl does not write "
                         "tenant files there (make it a folder inside the configuration's folder).")


class ConfigLock:
    """``with ConfigLock(path, timeout):`` holds the lock of ``path``.

    The lock file is never followed through a symbolic link (filelock opens it with
    ``O_NOFOLLOW``): a link there is refused in one sentence, so that no writer truncates or
    creates a file elsewhere in its name.

    :raises LockTimeout: when another writer holds it past ``timeout`` seconds.
    :raises InputError: when the guarded file or the lock file is a symbolic link, or the lock file
        cannot be opened.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        from filelock import FileLock

        self.timeout = timeout
        self.path = path
        self._lock = FileLock(str(path.parent / f".{path.name}.lock"), timeout=timeout)
        self.lock_file = self._lock.lock_file

    def __enter__(self) -> "ConfigLock":
        from filelock import Timeout

        check_writable_folder(self.path)
        if os.path.islink(self.path):
            raise InputError(f"{self.path} is a symbolic link to {os.path.realpath(self.path)}; traitctl does not "
                             "write through links (the write would replace the link and leave the file it leads to "
                             "as it was): name that file itself (-c) or put the file in the link's place; nothing "
                             "written.")
        if os.path.islink(self.lock_file):
            raise InputError(f"{self.lock_file} is a symbolic link; traitctl keeps its own lock file there: "
                             "remove the link and retry (nothing written).")
        try:
            self._lock.acquire()
        except Timeout:
            raise LockTimeout(f"{self.lock_file} is held by another writer for more than {self.timeout:g} s; "
                              "retry, or raise --lock-timeout.") from None
        except OSError as exc:
            raise InputError(f"{self.lock_file} cannot be opened as a lock file ({exc.strerror or exc}); "
                             "nothing written.") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def edit(path: Path, changes: list[Change], *, lock_timeout: float = 10.0, dry_run: bool = False,
         check: Callable[[dict], None] | None = None, create: bool = False,
         undo: list[dict] | None = None) -> Edit:
    """Apply ``changes`` to the TOML file at ``path`` safely.

    :param check: called with the file's data re-read under the lock, before anything is written;
        it raises to refuse the edit (validation against the current state).
    :param create: start from an empty file when ``path`` does not exist.
    :param dry_run: compute the new text and diff, write nothing.
    :param undo: given by a rollback: the :func:`hunks` of the edit it undoes. When each still
        finds its place and putting back its lines gives exactly the data ``changes`` make, that
        text is written (the file comes back byte for byte); otherwise the changes are applied as usual.
    :raises LockTimeout: when another writer holds the lock past ``lock_timeout`` seconds.
    """
    with lock_for(path, lock_timeout):
        return _edit_locked(path, changes, dry_run=dry_run, check=check, create=create, undo=undo)


def _edit_locked(path: Path, changes: list[Change], *, dry_run: bool, check: Callable[[dict], None] | None,
                 create: bool, undo: list[dict] | None = None) -> Edit:
    created = create and not path.exists()
    before = "" if created else read_text(path)
    data = _parse_again(before, path, reuse=not dry_run)
    if check is not None:
        check(data)
    for change in changes:
        change.old = _get(data, change.path)
    undone = _undo_text(before, undo, data, changes, path) if undo else None
    if undone is not None:
        return _finish(path, before, undone, changes, dry_run, created)
    after = before
    for change in changes:
        text, after = after, _apply_text(after, change)
        if change.value is ABSENT:
            change.removed = hunks(text, after)
        _set(data, change.path, change.value)
    parsed = parse(after, path)
    _prune_empty(data, changes, parsed)
    if parsed != data:
        after = _apply_full(before, changes)
        for change in changes:
            change.removed = hunks(before, after) if len(changes) == 1 and change.value is ABSENT else None
        parsed = parse(after, path)
        _prune_empty(data, changes, parsed)
        if parsed != data:  # pragma: no cover - tomlkit itself would be wrong
            raise ConfigFileError(f"{path}: the edit could not be written without changing other keys; nothing written.")
    return _finish(path, before, after, changes, dry_run, created)


def _finish(path: Path, before: str, after: str, changes: list[Change], dry_run: bool, created: bool = False) -> Edit:
    result = Edit(path, before, after, changes, created=created)
    if not dry_run and result.changed:
        write_edited(path, after)
        result.written = True
    return result


@dataclass
class MultiEdit:
    """The result of :func:`edit_files`: one :class:`Edit` per file, shown as one diff."""

    edits: list[Edit] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(e.changed for e in self.edits)

    @property
    def changes(self) -> list[Change]:
        return [c for e in self.edits for c in e.changes]

    def diff(self) -> str:
        """The unified diffs of every changed file, one after the other (paths as given)."""
        import difflib

        return "".join("".join(difflib.unified_diff(e.before.splitlines(keepends=True), e.after.splitlines(keepends=True),
                                                    fromfile=f"a/{_shown(e.file)}", tofile=f"b/{_shown(e.file)}"))
                       for e in self.edits if e.changed)


def _shown(path: Path) -> str:
    """A file as a diff header names it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path).lstrip("/")


def edit_files(lock_path: Path, files: Mapping[Path, list[Change]], *, lock_timeout: float = 10.0,
               dry_run: bool = False, check: Callable[[Path, dict], None] | None = None) -> MultiEdit:
    """Apply changes to several TOML files as one operation, all or nothing, under the lock of
    ``lock_path`` (the main configuration file): every file's edit is computed and checked before
    any file is written, so a file that cannot be edited (unreadable, invalid TOML, refused by
    ``check``) means nothing is written. Then every other file's own lock is taken too (single-file
    writers take it), each file is re-edited when it changed in the meantime, and
    :func:`write_all` writes them: every temporary file first, then the renames, undone on a failure.

    :param files: path -> its changes (``lock_path`` itself may be one of them).
    :param check: called with each file's path and its data, before anything is written.
    :raises LockTimeout: when another writer holds a lock past ``lock_timeout`` seconds.
    :raises ConfigFileError: when a file cannot be written (a full disk, a read-only folder, a
        folder in a file's place): naming it, with every file as it was.
    """
    import contextlib

    with lock_for(lock_path, lock_timeout):
        planned = []
        for path, changes in files.items():
            check_writable_folder(path)
            probe = None if check is None else functools.partial(check, path)
            planned.append(_edit_locked(path, changes, dry_run=True, check=probe, create=False))
        if dry_run or not any(plan.changed for plan in planned):
            return MultiEdit(planned)
        with contextlib.ExitStack() as locks:
            _room_for_locks(sum(plan.changed for plan in planned))
            for plan in planned:
                if plan.changed and plan.file != lock_path:
                    locks.enter_context(lock_for(plan.file, lock_timeout))
            done = [_replanned(plan, check) if plan.changed else plan for plan in planned]
            write_all([(plan.file, plan.after) for plan in done if plan.changed])
            for plan in done:
                plan.written = plan.changed
        return MultiEdit(done)


def edit_many(specs: Iterable[tuple[Path, list[Change], Callable[[dict], None] | None, list[dict] | None]], *,
              lock_timeout: float = 10.0, dry_run: bool = False) -> list[Edit]:
    """Several files' :func:`edit` as one change, all or nothing: every file's lock is taken (the
    main configuration before tenant files, as :func:`edit_files` takes them), every edit computed
    and checked, then :func:`write_all` writes them.

    :param specs: ``(path, changes, check, undo)`` per file, as :func:`edit` takes them.
    :returns: one :class:`Edit` per file, in order.
    """
    import contextlib

    specs = list(specs)
    with contextlib.ExitStack() as locks:
        _room_for_locks(len(specs))
        for path in sorted(dict.fromkeys(spec[0] for spec in specs), key=lambda p: (p.parent.name == "tenants", str(p))):
            locks.enter_context(lock_for(path, lock_timeout))
        plans = [_edit_locked(path, changes, dry_run=True, check=check, create=False, undo=undo)
                 for path, changes, check, undo in specs]
        if not dry_run:
            write_all([(plan.file, plan.after) for plan in plans if plan.changed])
            for plan in plans:
                plan.written = plan.changed
    return plans


def undo_written(edits: Iterable[Edit], *, lock_timeout: float = 10.0) -> list[Path]:
    """Put back the old text of every written edit whose file still holds exactly what the edit
    wrote (all or nothing, under each file's lock): for a write that could not be recorded.

    :returns: the files that could not be put back (changed since, or unreadable), in order.
    """
    import contextlib

    written = [e for e in edits if e.written and e.changed]
    if not written:
        return []
    with contextlib.ExitStack() as locks:
        _room_for_locks(len(written))
        for path in dict.fromkeys(e.file for e in written):
            locks.enter_context(lock_for(path, lock_timeout))
        back, kept = [], []
        for e in written:
            try:
                same = read_text(e.file) == e.after
            except (OSError, ConfigFileError):
                same = False
            (back if same else kept).append(e)
        write_all([(e.file, e.before) for e in back if not e.created])
        for e in back:
            if e.created:
                os.unlink(e.file)
            e.written = False
    return [e.file for e in kept]


def _room_for_locks(count: int) -> None:
    """Raise the soft limit of open files (to the hard one) when ``count`` locks held at once, plus
    a margin, would not fit under it (``--all-tenants`` over thousands of tenant files)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < wanted:
            raise InputError(f"{count} files would be locked at once, more than the {hard} open files this process "
                             "may have; raise `ulimit -n` or write fewer tenants at a time (nothing written).")


def _replanned(plan: Edit, check: Callable | None) -> Edit:
    """``plan`` as it must be written now that its lock is held: as planned when the file is
    unchanged since, else its changes applied to the file as it is now."""
    if read_text(plan.file) == plan.before:
        return plan
    probe = None if check is None else functools.partial(check, plan.file)
    for change in plan.changes:
        change.old, change.removed = ABSENT, None
    return _edit_locked(plan.file, plan.changes, dry_run=True, check=probe, create=False)


class _Unrecorded:
    """Whether this process has written configuration files whose change is not recorded yet
    (set by :func:`write_all` and :func:`write_edited`, cleared by
    :func:`traitctl.history_service.record_edits` once the event is stored or the files put back).
    The CLI's Ctrl-C handler waits while it is set, so that an interrupt never leaves a change in
    the files without its event."""

    def __init__(self) -> None:
        self.held = False
        self.interrupted = False

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        """The change is recorded (or undone): an interrupt that waited is raised now."""
        self.held = False
        if self.interrupted:
            self.interrupted = False
            raise KeyboardInterrupt


#: see :class:`_Unrecorded`
UNRECORDED = _Unrecorded()


def write_all(files: list[tuple[Path, str]]) -> None:
    """Write several existing files as one change, all or nothing (each with its own line endings,
    as :func:`write_edited`).

    Every new text goes to a temporary file beside its file (written, fsynced, with the file's mode)
    and every old file gets a hard link beside it (a copy where links are refused) before anything
    is renamed; then the temporary files replace the files. When a temporary file cannot be written
    nothing was changed; when a rename fails the files already replaced get their old inode back
    from the links. Either way the temporary files and links are removed.

    :raises ConfigFileError: naming the file that could not be written and saying that every file
        is as it was (or, should putting one back fail too, where its old text was kept).
    """
    if not files:
        return
    was_held = UNRECORDED.held
    UNRECORDED.hold()  # a Ctrl-C from here waits for the event (or the error) instead of cutting in
    try:
        _write_all(files)
    except BaseException:
        UNRECORDED.held = was_held  # nothing was changed: nothing waits to be recorded
        raise


def write_outputs(files: list[tuple[Path, str]]) -> None:
    """Write generated files (an export's, new or existing) as one change, all or nothing, as
    :func:`write_all` does for configuration files: the text as given, and no wait for a history
    event (an export records none). A target that is no regular file (``/dev/null``, a named pipe,
    a symbolic link) is written into, as :func:`write_output` does.

    :raises ConfigFileError: naming the file that could not be written (a folder in its place, a
        read-only folder, a full disk) and saying that every file is as it was.
    """
    plain = [(path, text) for path, text in files if not _written_into(path)]
    if plain:
        _write_all(plain, own_endings=False)
    for path, text in files:
        if _written_into(path):
            try:
                _write_into(path, text)
            except OSError as exc:
                raise ConfigFileError(f"{path}: cannot write ({exc.strerror or exc}).") from None


def write_output(path: Path, text: str) -> None:
    """Write a file a user named for output (a history export, an inventory baseline): a regular or
    new file atomically (:func:`write_atomic`); a device, a named pipe, a socket or a symbolic link
    (``/dev/null``, ``/dev/stdout``, ``-o out.csv`` linked elsewhere) by writing into it, since a
    rename would replace the device or the link by a regular file.

    :raises OSError: when it cannot be written (``/dev/full``: no space left).
    """
    if _written_into(path):
        _write_into(path, text)
    else:
        write_atomic(path, text)


def _written_into(path: Path) -> bool:
    import stat

    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False  # new (or unreadable): written the usual way, which reports the error
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_into(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()


def _write_all(files: list[tuple[Path, str]], own_endings: bool = True) -> None:
    temps: list[tuple[Path, str]] = []
    backups: list[tuple[Path, str | None]] = []  # None: the file is new (removed again on a failure)
    try:
        for path, text in files:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            temps.append((path, _write_temp(path, _line_endings(path, text) if own_endings else text)))
        for path, _text in files:
            backups.append((path, _keep_old(path) if own_endings or os.path.lexists(path) else None))
    except BaseException as exc:  # Ctrl-C too: no temporary file or kept copy is left behind
        _discard(temps + backups)
        if not isinstance(exc, OSError):
            raise
        raise ConfigFileError(f"{path}: cannot write ({exc.strerror or exc}); nothing written: "
                              f"{_every(len(files))} as it was.") from None
    replaced: list[int] = []
    for index, (path, tmp) in enumerate(temps):
        try:
            os.replace(tmp, path)
        except BaseException as exc:  # a Ctrl-C between two renames puts the first ones back too
            lost = _put_back([backups[i] for i in replaced])
            _discard([item for i, item in enumerate(temps) if i not in replaced]
                     + [item for i, item in enumerate(backups) if i not in replaced])
            if lost:
                kept = "; ".join(f"the old text of {p} is kept in {lost[p]}" for p in lost)
                raise ConfigFileError(f"{path}: cannot replace it ({getattr(exc, 'strerror', None) or exc!r}); "
                                      f"{kept}.") from None
            if not isinstance(exc, OSError):
                raise
            raise ConfigFileError(f"{path}: cannot replace it ({exc.strerror or exc}); nothing written: "
                                  f"{_every(len(files))} as it was.") from None
        replaced.append(index)
    _discard(backups)
    for folder in dict.fromkeys(path.parent for path, _ in files):
        _fsync_folder(folder)


def _every(count: int) -> str:
    return "the file is" if count == 1 else f"each of the {count} files is"


def _line_endings(path: Path, text: str) -> str:
    return text.replace("\n", "\r\n") if _uses_crlf(path) else text


def _write_temp(path: Path, text: str) -> str:
    """``text`` in a new temporary file beside ``path`` (fsynced, with ``path``'s mode): its name."""
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def _keep_old(path: Path) -> str:
    """A hard link to ``path`` beside it (a byte copy where the file system refuses links): its name."""
    for _attempt in range(100):
        name = str(path.parent / f".{path.name}.{os.urandom(4).hex()}.old")
        try:
            os.link(path, name)
            return name
        except FileExistsError:
            continue
        except OSError:
            break
    import shutil

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle, open(path, "rb") as source:
            shutil.copyfileobj(source, handle)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(path, name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return name


def _put_back(backups: list[tuple[Path, str | None]]) -> dict[Path, str]:
    """Rename each kept old file over its replacement (a file that was new is removed); the ones
    that could not be put back."""
    lost = {}
    for path, old in reversed(backups):
        try:
            if old is None:
                os.unlink(path)
            else:
                os.replace(old, path)
        except OSError:
            lost[path] = old or "nowhere (the file was new)"
    return lost


def _discard(files: list[tuple[Path, str | None]]) -> None:
    for _path, name in files:
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _undo_text(text: str, undo: list[dict], data: dict, changes: list[Change], path: Path) -> str | None:
    """``text`` with each recorded hunk's new lines replaced by its old ones, when every hunk finds
    its place and the result holds exactly the data ``changes`` make (``None`` otherwise)."""
    import copy

    lines = text.split("\n")
    places = [_place(lines, hunk) for hunk in undo]
    if any(p is None for p in places):
        return None
    for place, hunk in sorted(zip(places, undo), key=lambda x: x[0], reverse=True):
        lines[place:place + len(hunk.get("new", []))] = list(hunk["lines"])
    candidate = "\n".join(lines)
    expected = copy.deepcopy(data)
    for change in changes:
        _set(expected, change.path, change.value)
    try:
        parsed = parse(candidate, path)
    except ConfigFileError:
        return None
    _prune_empty(expected, changes, parsed)
    if parsed != expected:
        return None
    for change in changes:
        if change.value is ABSENT:
            change.removed = None
        _set(data, change.path, change.value)  # a reused parse keeps matching the file
    return candidate


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return ABSENT
        node = node[key]
    return node


def _prune_empty(data: dict, changes: list[Change], parsed: Mapping[str, Any]) -> None:
    """Align ``data`` with the new text on the empty tables a removal leaves along its path: those
    the text no longer has (their header went with their last key, or they only held the removed
    table) are dropped, those it still has are kept; nothing else is touched."""
    for change in changes:
        if change.value is not ABSENT:
            continue
        for depth in range(len(change.path) - 1, 0, -1):
            prefix = change.path[:depth]
            node, there = _get(data, prefix), _get(parsed, prefix)
            if node == {} and there is ABSENT:
                _get(data, prefix[:-1]).pop(prefix[-1], None)
            elif node is ABSENT and there == {} and isinstance(_get(data, prefix[:-1]), dict):
                _get(data, prefix[:-1])[prefix[-1]] = {}
            elif node != {}:
                break


def _set(data: dict, path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        if value is ABSENT and key not in node:
            return
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise InputError(f"{' -> '.join(path)}: {key!r} is a value, not a table.")
    if value is ABSENT:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def render_key(key: str) -> str:
    """A TOML key: bare when possible, else a literal or basic string."""
    if _BARE.match(key):
        return key
    if "'" not in key and "\n" not in key:
        return f"'{key}'"
    import json

    return json.dumps(key, ensure_ascii=False)


def _item(value: Any) -> Any:
    """A tomlkit item that renders inline (tables become inline tables, never relative headers)."""
    import tomlkit

    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        for k, v in value.items():
            table[k] = _item(v)
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        for v in value:
            array.append(_item(v))
        return array
    return tomlkit.item(value)


def render_value(value: Any) -> str:
    """The TOML literal of a value (``42``, ``"x"``, ``[1, 2]``, ``{ a = 1 }``)."""
    return _item(value).as_string()


def _apply_text(text: str, change: Change) -> str:
    """Rewrite only the table that holds ``change.path``; fall back to a whole-file edit."""
    import tomlkit

    if change.value is ABSENT and change.old is not ABSENT:
        removed = _remove_text(text, change)
        if removed is not None:
            return removed
    elif change.restore is not None and change.old is ABSENT:
        restored = _restore_text(text, change)
        if restored is not None:
            return restored

    table, key = change.path[:-1], change.path[-1]
    lines = text.split("\n")
    span = table_span(text, table)
    if span is not None:
        start, first, end = span
        body = lines[first:end]
        own = len(body)
        while own and (not body[own - 1].strip() or body[own - 1].lstrip().startswith("#")):
            own -= 1  # blank lines and comments just above the next table belong to it
        doc = tomlkit.parse("\n".join(body[:own]) + "\n" if own else "")
        if change.value is ABSENT:
            if key in doc:
                del doc[key]
        else:
            doc[key] = _item(change.value)
        new_lines = tomlkit.dumps(doc).split("\n")
        if new_lines and new_lines[-1] == "":
            new_lines.pop()
        return "\n".join(lines[:first] + new_lines + body[own:] + lines[end:])
    if change.value is ABSENT:
        return text
    if table and _get(parse(text, "<edit>"), table) is ABSENT and not _prefix_defined_inline(text, table):
        return _append_table(text, lines, scan_headers(text), table, key, change.value)
    return _apply_full(text, [change])


# -- removals that take out only their own lines, and rollbacks that put them back ------------------------------------
_RULE = re.compile(r"^[ \t]*#[ \t]*([-=#*~_+]{3,}[ \t]*)?$")  # a banner's rule line (or a bare '#')
#: kept lines recorded on each side of a removed run, to find its place again (as a patch does)
CONTEXT = 3


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _own_end(lines: list[str], first: int, end: int) -> int:
    """End (exclusive) of a table body's own lines: blank lines and comments just above the next
    table belong to that table."""
    own = end
    while own > first and (not lines[own - 1].strip() or _is_comment(lines[own - 1])):
        own -= 1
    return own


def _attached_start(lines: list[str], header: int) -> int:
    """First line of the comment directly above ``header`` (no blank line between) that describes
    it; a section banner (a block with a rule line such as ``# -----``) stays."""
    start = header
    while start > 0 and _is_comment(lines[start - 1]) and lines[start - 1].strip():
        start -= 1
    for number in range(header - 1, start - 1, -1):
        if _RULE.match(lines[number]):
            return number + 1
    return start


def _table_lines(text: str, lines: list[str], path: tuple[str, ...]) -> set[int] | None:
    """The lines of ``[path]`` and every ``[path.…]`` below it, with their attached comments."""
    out: set[int] = set()
    for line, end in _headers_under(text, lines, path):
        out.update(range(_attached_start(lines, line), _own_end(lines, line + 1, end)))
    return out or None


def _headers_under(text: str, lines: list[str], path: tuple[str, ...]) -> list[tuple[int, int]]:
    """(header line, next header line) of ``[path]`` and every header below it. Large files are
    searched for the lines holding the path's last key (as :func:`table_span` does); texts with
    multi-line strings, and keys that may be written with escapes, take the exact scan."""
    if '"""' in text or "'''" in text or any("\\" in k or '"' in k for k in path):
        headers = scan_headers(text)
        return [(h.line, headers[i + 1].line if i + 1 < len(headers) else len(lines))
                for i, h in enumerate(headers) if h.path[:len(path)] == path]
    out = []
    for match in re.finditer(r"^[ \t]*\[[^\n]*" + re.escape(path[-1]) + r"[^\n]*$", text, re.M):
        parsed = _header_path(match.group(0))
        if parsed is None or parsed[0][:len(path)] != path:
            continue
        following = _ANY_HEADER.search(text, match.end())
        while following is not None and _header_path(_line_at(text, following.start())) is None:
            following = _ANY_HEADER.search(text, following.end())
        start = text.count("\n", 0, match.start())
        out.append((start, text.count("\n", 0, following.start()) if following else len(lines)))
    return out


def _key_lines(text: str, lines: list[str], change: Change) -> set[int] | None:
    """The lines of the key ``change.path`` in its table's body (a value may span lines), and the
    table's header when the key was its last one."""
    import tomllib

    table, key = change.path[:-1], change.path[-1]
    if table:
        span = table_span(text, table)
        if span is None:
            return None
        header, first, end = span
    else:
        headers = scan_headers(text)
        header, first, end = None, 0, headers[0].line if headers else len(lines)
    number = _find_key(lines, first, end, (key,))
    if number is None:
        return None
    for last in range(number, end):
        try:
            found = tomllib.loads("\n".join(lines[number:last + 1]))
        except tomllib.TOMLDecodeError:
            continue
        if found != {key: change.old}:
            return None
        break
    else:
        return None
    out = set(range(number, last + 1))
    if header is not None:
        own = _own_end(lines, first, end)
        rest = [n for n in range(first, own) if n not in out and lines[n].strip() and not _is_comment(lines[n])]
        if not rest and not any(h.path[:len(table)] == table and h.path != table for h in scan_headers(text)):
            # the table is empty now and has no sub-tables: its header goes too
            out.update(range(_attached_start(lines, header), header + 1))
            out.update(range(header + 1, own))
    return out


def _remove_text(text: str, change: Change) -> str | None:
    """Take out the removed key's or table's own lines (and a comment attached above a table),
    nothing else. ``None`` when the text has another shape (the usual edit then takes over)."""
    lines = text.split("\n")
    doomed = _table_lines(text, lines, change.path) if isinstance(change.old, Mapping) else None
    if doomed is None:
        doomed = _key_lines(text, lines, change)
    if not doomed:
        return None
    doomed = _with_blank_lines(lines, doomed)
    kept, start = [], 0
    for number in sorted(doomed):
        kept += lines[start:number]
        start = number + 1
    return "\n".join(kept + lines[start:])


def hunks(old: str, new: str) -> list[dict]:
    """The runs of lines that differ between two texts, each with up to :data:`CONTEXT` unchanged
    lines of ``new`` on each side (where ``start``/``end`` say the file starts or ends there), as a
    patch keeps them: :func:`edit` records them for a removal, a rollback puts them back."""
    import difflib

    a, b = old.split("\n"), new.split("\n")
    # the unchanged start and end are found on the texts (C comparisons, fast on large files)
    prefix = _common_length(old, new, lambda n: old[:n] == new[:n], min(len(old), len(new)))
    room = min(len(old), len(new)) - prefix
    suffix = _common_length(old, new, lambda n: n == 0 or old[-n:] == new[-n:], room)
    head = old.count("\n", 0, prefix)
    tail = min(old.count("\n", len(old) - suffix) if suffix else 0, min(len(a), len(b)) - head)
    matcher = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail], autojunk=False)
    out = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        i1, i2, j1, j2 = i1 + head, i2 + head, j1 + head, j2 + head
        before, after = b[max(0, j1 - CONTEXT):j1], b[j2:j2 + CONTEXT]
        out.append({"at": j1, "lines": a[i1:i2], "new": b[j1:j2], "before": before, "after": after,
                    "start": j1 - len(before) == 0, "end": j2 + len(after) == len(b)})
    return out


def _common_length(old: str, new: str, same: Callable[[int], bool], most: int) -> int:
    """The largest ``n <= most`` with ``same(n)`` (a binary search: ``same`` holds up to some length)."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if same(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _with_blank_lines(lines: list[str], doomed: set[int]) -> set[int]:
    """Add the blank lines a removal would leave doubled: those between removed lines, and those
    after a removed run that has a blank line (or the start of the file) before it (before it
    instead, at the end of the file)."""
    out = set(doomed)
    numbers = sorted(doomed)
    for a, b in zip(numbers, numbers[1:]):
        if b > a + 1 and all(not lines[n].strip() for n in range(a + 1, b)):
            out.update(range(a + 1, b))
    runs: list[tuple[int, int]] = []
    for n in sorted(out):
        if runs and runs[-1][1] == n:
            runs[-1] = (runs[-1][0], n + 1)
        else:
            runs.append((n, n + 1))
    last = len(lines) - 1  # text.split("\n") of a file ending in a newline ends with ""
    for start, end in runs:
        follow = end
        while follow < last and not lines[follow].strip():
            follow += 1
        if follow >= last:  # nothing but blank lines after the run: drop those before it
            back = start
            while back > 0 and not lines[back - 1].strip():
                back -= 1
            out.update(range(back, start))
            out.update(range(end, last))
        elif start == 0 or not lines[start - 1].strip():
            out.update(range(end, follow))
    return out


def _restore_text(text: str, change: Change) -> str | None:
    """Put back what a removal took out: exactly its lines when the text around each removed run
    is unchanged, else a normal ``[table]`` where the removed one was (``None``: the usual edit)."""
    if change.restore is None:
        return None  # not a rollback of a removal
    lines = text.split("\n")
    if change.restore:
        places = [_place(lines, hunk) for hunk in change.restore]
        if all(p is not None for p in places):
            for place, hunk in sorted(zip(places, change.restore), key=lambda x: x[0], reverse=True):
                lines[place:place + len(hunk.get("new", []))] = list(hunk["lines"])
            return "\n".join(lines)
    if not isinstance(change.value, Mapping) or not change.value or len(change.path) < 2:
        return None
    parent = change.path[:-1]
    if table_span(text, parent) is not None or _prefix_defined_inline(text, change.path):
        return None  # a key of a table with its own header: the usual edit writes it there
    section = _table_block(change.path, change.value)
    at = _nearby(lines, change.restore[0]) if change.restore else None
    if at is None:
        return _append_block(text, lines, scan_headers(text), change.path, section)
    above = [""] if at > 0 and lines[at - 1].strip() and not _is_comment(lines[at - 1]) else []
    below = [""] if at < len(lines) and lines[at].strip() else []
    return "\n".join(lines[:at] + above + section + below + lines[at:])


def _nearby(lines: list[str], hunk: Mapping[str, Any]) -> int | None:
    """Where a removed run most likely was once its surroundings changed: after the longest part of
    the lines that were above it, else before the longest part of those below (nearest the old place)."""
    before, after, was = list(hunk.get("before", [])), list(hunk.get("after", [])), int(hunk.get("at", 0))
    for k in range(len(before), 0, -1):
        found = _matches(lines, before[-k:], [], False, False)
        if found:
            return min(found, key=lambda p: abs(p - was))
    for k in range(len(after), 0, -1):
        found = _matches(lines, [], after[:k], False, False)
        if found:
            return min(found, key=lambda p: abs(p - was))
    return None


def _place(lines: list[str], hunk: Mapping[str, Any]) -> int | None:
    found = _matches(lines, list(hunk.get("before", [])), list(hunk.get("new", [])) + list(hunk.get("after", [])),
                     bool(hunk.get("start")), bool(hunk.get("end")))
    if not found:
        return None
    return min(found, key=lambda p: abs(p - int(hunk.get("at", 0))))


def _matches(lines: list[str], before: list[str], after: list[str], start: bool, end: bool) -> list[int]:
    """Positions ``p`` where ``before`` ends just above line ``p`` and ``after`` starts at it (and
    the file starts or ends there when the recorded context did)."""
    out = []
    for p in range(len(before), len(lines) - len(after) + 1):
        if start and p != len(before):
            break
        if end and p + len(after) != len(lines):
            continue
        if lines[p - len(before):p] == before and lines[p:p + len(after)] == after:
            out.append(p)
    return out


def _table_block(path: tuple[str, ...], value: Mapping[str, Any]) -> list[str]:
    """``value`` written as normal tables: ``[path]`` with its values, then a ``[path.sub]`` per table."""
    values = {k: v for k, v in value.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in value.items() if isinstance(v, Mapping)}
    out: list[str] = []
    if values or not tables:
        out.append(f"[{'.'.join(render_key(k) for k in path)}]")
        out += [f"{render_key(k)} = {render_value(v)}" for k, v in values.items()]
    for key, sub in tables.items():
        if out:
            out.append("")
        out += _table_block(path + (key,), sub)
    return out


def _prefix_defined_inline(text: str, table: tuple[str, ...]) -> bool:
    """True when a parent of ``table`` is written as an inline table or dotted keys (no header of
    its own and no deeper header creating it implicitly): only a whole-file edit can extend it."""
    data = parse(text, "<edit>")
    headers = scan_headers(text)
    for depth in range(1, len(table)):
        prefix = table[:depth]
        if _get(data, prefix) is ABSENT:
            return False
        if not any(h.path[:depth] == prefix for h in headers):
            return True
    return False


def _append_table(text: str, lines: list[str], headers: list[Header], table: tuple[str, ...], key: str,
                  value: Any) -> str:
    """Add ``[table]`` with one key after the last table sharing its parent (or at the end)."""
    section = [f"[{'.'.join(render_key(k) for k in table)}]", f"{render_key(key)} = {render_value(value)}"]
    return _append_block(text, lines, headers, table, section)


def _append_block(text: str, lines: list[str], headers: list[Header], table: tuple[str, ...],
                  section: list[str]) -> str:
    """Insert the lines of ``[table]`` after the last table sharing its parent (or at the end)."""
    insert_at = None
    for prefix_len in range(len(table) - 1, 0, -1):
        related = [i for i, h in enumerate(headers) if h.path[:prefix_len] == table[:prefix_len]]
        if related:
            last = related[-1]
            insert_at = headers[last + 1].line if last + 1 < len(headers) else None
            break
    if insert_at is None:
        body = text.rstrip("\n")
        return (body + "\n\n" if body else "") + "\n".join(section) + "\n"
    # keep the blank line that separated the next table
    while insert_at > 0 and lines[insert_at - 1].strip() == "":
        insert_at -= 1
    while insert_at > 0 and lines[insert_at - 1].lstrip().startswith("#") and \
            insert_at - 1 > headers[related[-1]].line:
        insert_at -= 1  # comments right above the next header belong to it
    while insert_at > 0 and lines[insert_at - 1].strip() == "":
        insert_at -= 1
    return "\n".join(lines[:insert_at] + [""] + section + lines[insert_at:])


def _apply_full(text: str, changes: list[Change]) -> str:
    """Whole-file tomlkit edit: slower on large files, used when a table has no header of its own."""
    import tomlkit

    doc = tomlkit.parse(text)
    for change in changes:
        node: Any = doc
        for key in change.path[:-1]:
            if key not in node:
                if change.value is ABSENT:
                    node = None
                    break
                node[key] = tomlkit.table()
            node = node[key]
            if not isinstance(node, MutableMapping):
                raise InputError(f"{' -> '.join(change.path)}: {key!r} is a value, not a table.")
        if node is None:
            continue
        if change.value is ABSENT:
            if change.path[-1] in node:
                del node[change.path[-1]]
        else:
            node[change.path[-1]] = _item(change.value)
    return tomlkit.dumps(doc)


def write_edited(path: Path, text: str) -> None:
    """Write the edited ``text`` of an existing configuration file atomically, with the file's own
    line endings: edits work on ``\n`` text (:func:`read_text`), so a file written with ``\r\n``
    gets ``\r\n`` back on every line, and its diff in version control shows only the edit.

    :raises ConfigFileError: when it cannot be written (a full disk, a read-only folder, a folder
        in its place), naming it; the file is then as it was and no temporary file is left.
    """
    was_held = UNRECORDED.held
    UNRECORDED.hold()  # a Ctrl-C from here waits for the event (or the error) instead of cutting in
    try:
        write_atomic(path, _line_endings(path, text))
    except BaseException as exc:
        UNRECORDED.held = was_held  # the file is as it was: nothing waits to be recorded
        if not isinstance(exc, OSError):
            raise
        raise ConfigFileError(f"{path}: cannot write ({exc.strerror or exc}); nothing written: the file is as it "
                              "was.") from None


def _uses_crlf(path: Path) -> bool:
    """Whether the file's first line ends with ``\r\n`` (a missing or one-line file: no)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False
    end = head.find(b"\n")
    return end > 0 and head[end - 1:end] == b"\r"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, keep the mode, replace atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)
