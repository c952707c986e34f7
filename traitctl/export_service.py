"""Exports of the configuration and flags for applications: the JSON snapshot (``traitctl.snapshot/1``),
Laravel's ``traits.php``/``feature_flags.php`` and flagd definitions; written atomically, checked
against the files on disk (``--check``), and run automatically after writes when ``[export]``
names formats.

Example usage::

    from traitctl import export_service
    result = export_service.export(app, "json", out="snapshot.json")
    warnings = export_service.auto_export(app)    # after a write: the [export] formats
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitctl.engine import snapshot as engine
from traitctl.engine.errors import InputError, ValidationError, literal
from traitctl.settings import refuse_managed

FORMATS = ("laravel", "json", "flagd")
RENDERERS = {"laravel": "traitctl.engine.export_laravel", "flagd": "traitctl.engine.export_flagd"}
#: where a format goes when neither ``--output`` nor ``[export] <format>`` says (relative to the config file).
DEFAULT_PATHS = {"json": ".traitctl/snapshot.json", "flagd": ".traitctl/flags.flagd.json"}
#: event kinds that change what an export contains.
WRITE_KINDS = ("config.", "flag.", "tenant.", "rollback")


@dataclass
class FileResult:
    """One file of an export: where, whether its contents differ from the disk, the unified diff."""

    path: Path | None  # None: stdout
    text: str
    changed: bool
    diff: str
    written: bool = False


@dataclass
class ExportResult:
    """What :func:`export` did for one format."""

    format: str
    files: list[FileResult]
    losses: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.files)


def settings(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``[export]`` table (empty when absent).

    :raises ValidationError: when it is not a table or ``formats`` names an unknown format.
    """
    table = doc.get("export", {})
    if not isinstance(table, Mapping):
        raise ValidationError("[export] must be a table (formats, laravel, json, flagd, allow_lossy).")
    formats = table.get("formats", [])
    if not isinstance(formats, list) or any(f not in FORMATS for f in formats):
        raise ValidationError(f"[export] formats = {literal(formats)}: use a list of {', '.join(FORMATS)}.")
    return table


def configured_formats(doc: Mapping[str, Any]) -> list[str]:
    """``[export] formats`` (empty: no automatic export)."""
    return list(settings(doc).get("formats", []))


# -- building -------------------------------------------------------------------------------------------------------------
def build_snapshot(app: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """The snapshot of the invocation's configuration: every tenant, every flag, active overrides."""
    from traitctl import __version__, flags_service

    now = now or flags_service.utcnow()
    doc = app.main_doc()
    cfg = app.config("all")
    from traitctl.validation_service import require_shapes

    require_shapes(cfg)  # a table of the wrong shape would be exported as empty
    section = flags_service.section(doc)
    flags_service.load(doc)  # refuse a broken flag before exporting it
    overrides = app.store().flag_overrides.list(now=now) if section else []
    config_path = Path(app.config_path)
    return engine.build(cfg, section, overrides, source=source_name(config_path),
                        digest=engine.digest(_files(config_path, cfg)), generated=now,
                        generator=f"traitctl {__version__}")


def source_name(config_path: Path) -> str:
    """The main file as exports name it: relative to the project (``config/traits.toml``), so the
    output does not depend on the folder traitctl runs in."""
    return f"{config_path.parent.name}/{config_path.name}" if config_path.parent.name else config_path.name


def _files(config_path: Path, cfg: Any) -> list[tuple[str, bytes]]:
    base = config_path.parent
    files = [(config_path.name, config_path.read_bytes())]
    for tenant in sorted(cfg.tenants):
        source = cfg.tenants[tenant]
        if source.file != str(config_path) and source.doc is not None:
            path = Path(source.file)
            files.append((os.path.relpath(path, base), path.read_bytes()))
    return files


def render(fmt: str, snap: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """File name -> text for ``fmt``, and the losses (what the format cannot express).

    :raises InputError: for an unknown format or a renderer missing from this build.
    """
    if fmt == "json":
        return {"snapshot.json": dump_json(snap)}, []
    if fmt not in RENDERERS:
        raise InputError(f"Unknown export format {fmt!r}: use {', '.join(FORMATS)}.")
    try:
        module = importlib.import_module(RENDERERS[fmt])
    except ModuleNotFoundError:
        raise InputError(f"traitctl export --format {fmt} needs {RENDERERS[fmt]}, which is not part of this "
                         "build.") from None
    out, losses = module.render(dict(snap))
    if fmt == "flagd":  # the flagd renderer returns the document itself
        out = {"flags.flagd.json": json.dumps(out, indent=2, ensure_ascii=False) + "\n"}
    return dict(out), list(losses)


def dump_json(doc: Mapping[str, Any]) -> str:
    """The snapshot as indented UTF-8 JSON (orjson: the stdlib's indenting encoder is pure Python,
    about 20x slower on large configurations)."""
    import orjson

    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


# -- targets --------------------------------------------------------------------------------------------------------------
def targets(app: Any, fmt: str, names: list[str], out: str | None) -> list[Path | None]:
    """Where each rendered file goes: ``--output`` (relative to the current folder), else ``[export]``
    (relative to the configuration file), else the default; ``None`` is stdout.

    :raises InputError: for an empty path, a missing folder, or a Laravel folder nobody named.
    """
    if out is not None:
        if not out.strip():
            raise InputError("--output is empty: give a file or folder (or '-' for stdout).")
        if out == "-":
            if fmt == "laravel":
                raise InputError("--output - (stdout) cannot hold the two Laravel files: give a folder.")
            return [None]
        chosen = Path(out).expanduser()
        chosen = chosen if chosen.is_absolute() else Path(app.cwd) / chosen
        where = "--output"
    else:
        chosen, where = _configured(app, fmt)
        if chosen is None:
            return [None]
    if fmt == "laravel":
        _folder_exists(chosen, where)
        paths = [chosen / name for name in names]
    elif chosen.is_dir():
        paths = [chosen / names[0]]
    else:
        _folder_exists(chosen.parent, where)
        paths = [chosen]
    for path in paths:
        refuse_managed(path, app, f"{where} {out if out is not None else path}")
    return paths


def _configured(app: Any, fmt: str) -> tuple[Path | None, str]:
    table = settings(app.main_doc())
    base = Path(app.config_path).parent
    value = table.get(fmt)
    if value is not None:
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"[export] {fmt} = {literal(value)} must be a non-empty path.")
        return base / value, f"[export] {fmt}"
    if fmt == "laravel":
        return _laravel_default(app, base), "the Laravel config folder"
    if fmt in configured_formats(app.main_doc()):
        return base / DEFAULT_PATHS[fmt], f"the default {DEFAULT_PATHS[fmt]}"
    return None, "stdout"


def _laravel_default(app: Any, base: Path) -> Path:
    sources = app.main_doc().get("traitctl", {}).get("source", [])
    sources = [sources] if isinstance(sources, str) else sources
    if sources and isinstance(sources[0], str):
        candidate = (base / sources[0]).parent / "config"
        if candidate.is_dir():
            return candidate
    raise InputError("No folder for the Laravel export: pass --output DIR or set [export] laravel = \"…/config\" "
                     "(the default, <first [traitctl] source>/../config, does not exist).")


def _folder_exists(folder: Path, where: str) -> None:
    if not folder.is_dir():
        raise InputError(f"Export folder {folder} does not exist ({where}); create it first. Nothing was written.")


# -- comparing and writing -------------------------------------------------------------------------------------------------
def _current(path: Path | None) -> str | None:
    """What a regular file at ``path`` holds (``None``: none there). A device or a named pipe is
    never read: ``/dev/zero`` or ``/dev/full`` would give bytes without end, a pipe would wait."""
    import stat

    if path is None:
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, UnicodeDecodeError):
        return None


def same_content(fmt: str, old: str | None, new: str) -> bool:
    """Whether ``old`` already says what ``new`` says (the JSON snapshot's ``generated`` ignored)."""
    if old is None:
        return False
    if old == new:
        return True
    if fmt != "json":
        return False
    import orjson

    try:
        a, b = orjson.loads(old), orjson.loads(new)
    except ValueError:
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        a.pop("generated", None)
        b.pop("generated", None)
    return a == b


def _diff(path: Path | None, old: str | None, new: str) -> str:
    name = str(path) if path is not None else "stdout"
    lines = difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=name if old is not None else "/dev/null", tofile=name)
    return "".join(lines)


def export(app: Any, fmt: str, out: str | None = None, *, dry_run: bool = False, check: bool = False,
           allow_lossy: bool | None = None, now: dt.datetime | None = None,
           snap: Mapping[str, Any] | None = None) -> ExportResult:
    """Render ``fmt`` and write what differs from the disk (atomically: temporary file, fsync, rename).

    :param dry_run: compare and diff only.
    :param check: like ``dry_run`` (the caller turns a change into exit 1).
    :param allow_lossy: losses become warnings (``None``: ``[export] allow_lossy``).
    :raises InputError: (exit 2) for bad targets, and for losses unless allowed, naming each.
    """
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r}: use {', '.join(FORMATS)}.")
    snap = snap if snap is not None else build_snapshot(app, now)
    rendered, losses = render(fmt, snap)
    if allow_lossy is None:
        allow_lossy = bool(settings(app.main_doc()).get("allow_lossy", False))
    paths = targets(app, fmt, list(rendered), out)  # a bad target is said before any loss
    if losses and not allow_lossy:
        from traitctl.engine.errors import LossyExport

        import re

        keys = list(dict.fromkeys(re.match(r"[^\s:]*", loss).group() or loss[:40] for loss in losses))
        named = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        raise LossyExport(f"The {fmt} export cannot express {named} exactly (each is listed above); use "
                          "--allow-lossy, or [export] allow_lossy = true, to export anyway.", losses)
    files = []
    for path, text in zip(paths, rendered.values()):
        old = _current(path)
        changed = path is None or not same_content(fmt, old, text)
        diff = _diff(path, old, text) if changed and path is not None and (dry_run or check) else ""
        files.append(FileResult(path, text, changed, diff))
    if not (dry_run or check):
        _write([item for item in files if item.path is not None and item.changed])
    return ExportResult(fmt, files, losses)


def _write(items: list[FileResult]) -> None:
    """Write the files of one format together (Laravel's two files always agree): all or nothing."""
    from traitctl.store.toml_file import write_outputs

    write_outputs([(item.path, item.text) for item in items])
    for item in items:
        item.written = True


# -- automatic export -------------------------------------------------------------------------------------------------------
def auto_export(app: Any, now: dt.datetime | None = None) -> list[str]:
    """Export every ``[export] formats`` entry whose files differ from what would be written (after a
    write, and from the periodic ``flags-advance`` so expired overrides leave the files on time).

    Never raises: each failure is returned as a warning naming the file or format, because the
    write that triggered the export has already happened and must not look lost.
    """
    try:
        formats = configured_formats(app.main_doc())
    except Exception as exc:  # a broken [export] must not hide the write that succeeded
        return [f"automatic export skipped: {getattr(exc, 'message', exc)}"]
    if not formats:
        return []
    from filelock import Timeout

    from traitctl.store.toml_file import lock_for

    # Concurrent writers each export: under the lock, the state is read after any earlier export
    # finished, so the last export written is built from the latest state.
    lock = lock_for(Path(app.config_path).parent / "export", getattr(app.settings, "lock_timeout", 10.0))
    try:
        with lock:
            return _export_all(app, formats, now)
    except Timeout:
        return [f"automatic export skipped: {lock.lock_file} is held by another export."]


def _export_all(app: Any, formats: list[str], now: dt.datetime | None) -> list[str]:
    warnings: list[str] = []
    app.reset_config()
    try:
        snap = build_snapshot(app, now)
    except Exception as exc:
        return [f"automatic export failed: {getattr(exc, 'message', exc)}"]
    for fmt in formats:
        try:
            result = export(app, fmt, snap=snap)
        except Exception as exc:
            warnings.append(f"automatic {fmt} export failed: {getattr(exc, 'message', exc)}")
            continue
        warnings += [f"{fmt} export: {loss}" for loss in result.losses]
    return warnings


def is_write(kind: str) -> bool:
    """Whether an event of ``kind`` changes what an export contains."""
    return kind.startswith(WRITE_KINDS) and kind != "flag.hold"
