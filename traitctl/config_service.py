"""The JSON documents of ``traitctl config show`` and ``traitctl config explain``: effective values
with their source, and every layer that defines a key (file and line), for the CLI and ``traitctl serve``.

Example usage::

    from traitctl import config_service
    doc = config_service.explain_document(cfg, "Cacheable", "App\\\\Models\\\\Product", "acme", "ttl")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traitctl.engine import config as engine
from traitctl.engine.errors import InputError, NotFound


def source(resolved: engine.Resolved) -> dict[str, Any]:
    """Where a resolved value came from: ``{layer, file, path}`` and, when the winning layer names an
    environment variable for the key, ``env: {name, set}`` (empty when unset)."""
    layer = resolved.winner
    if layer is None:
        return {}
    out = {"layer": layer.kind, "file": layer.file or None, "path": list(layer.path)}
    if resolved.variable:
        out["env"] = {"name": resolved.variable, "set": resolved.from_env}
    return out


def show_document(cfg: engine.ConfigData, traits: list[str], model: str | None, tenant: str | None,
                  environ: Mapping[str, str] | None = None) -> dict:
    """The ``traitctl config show --json`` document: every key of ``traits`` with value and source
    (``environ``: the environment ``env`` tables read)."""
    result = {t: engine.effective(cfg, t, model, tenant, environ) for t in traits}
    return {"model": model, "tenant": tenant, "traits": {
        t: {k: {"value": r.value, "source": source(r)} for k, r in keys.items()} for t, keys in result.items()}}


def unknown_key(cfg: engine.ConfigData, trait: str, key: str) -> None:
    """Raise the error for a key no layer sets.

    :raises NotFound: when the trait has a schema without ``key`` (near keys suggested).
    :raises InputError: (exit 1) when the key is merely unset.
    """
    schema = engine.schema_of(cfg, trait)
    if schema and key not in schema and key != "cache_ttl":  # every trait may be cached (docs/cache.md)
        raise NotFound("key", f"{trait}.{key}", [f"{trait}.{k}" for k in schema])
    raise InputError(f"'{key}' is not set for trait {trait} in any layer and has no schema default.", exit_code=1)


def explain_document(cfg: engine.ConfigData, trait: str, model: str | None, tenant: str | None, key: str,
                     environ: Mapping[str, str] | None = None) -> dict:
    """The ``traitctl config explain --json`` document: the value, the winning layer, and each layer
    that defines ``key`` (most specific first) with its file and line.

    :raises NotFound: / :raises InputError: as :func:`unknown_key`.
    """
    from traitctl.store import toml_file

    resolved = engine.resolve(key, engine.layers_for(cfg, trait, model, tenant), engine.schema_of(cfg, trait),
                              environ)
    if not resolved.found:
        unknown_key(cfg, trait, key)
    texts: dict[str, str] = {}
    rows = []
    for rank, layer in enumerate(resolved.layers, 1):
        line = None
        if layer.file:
            text = texts.setdefault(layer.file, toml_file.read_text(Path(layer.file)))
            line = toml_file.locate(text, layer.path + (key,))
        found, value = engine._lookup(layer.values, key)
        rows.append({"rank": rank, "layer": layer.kind, "file": layer.file or None, "line": line,
                     "value": value, "wins": rank == 1, "env": layer.env.get(key)})
    if default := next((r for r in rows if r["layer"] == "default"), None):
        default["file"] = cfg.main_file
        default["line"] = toml_file.locate(texts.setdefault(cfg.main_file, toml_file.read_text(Path(cfg.main_file))),
                                           ("traits", trait, "schema", key))
    return {"trait": trait, "model": model, "tenant": tenant, "key": key, "value": resolved.value,
            "winner": rows[0]["layer"], "layers": rows, "env": source(resolved).get("env"),
            "precedence": list(engine.LAYER_ORDER)}


# -- across tenants and environments -------------------------------------------------------------
def matrix_document(grid: Any) -> dict:
    """The ``traitctl config show --all-tenants --json`` document: one row per tenant and key,
    ``{tenant, key, value, source, file}`` (``source``: the winning layer, ``null`` when unset)."""
    return {"trait": grid.trait, "model": grid.model, "keys": list(grid.keys), "tenants": len(grid.tenants),
            "rows": [{"tenant": tenant, "key": c.key, "value": c.value, "source": c.source, "file": c.file}
                     for i, tenant in enumerate(grid.tenants) for c in grid.row(i)]}


def load_other(path: Path) -> engine.ConfigData:
    """Another environment's configuration (``--against FILE``) with all its tenants.

    :raises ConfigFileError: (exit 2) when the file is missing, unreadable or not TOML.
    :raises InputError: when it has no ``[traits]`` table.
    """
    from traitctl.store import toml_file

    doc = toml_file.parse(toml_file.read_text(path), path)
    if not isinstance(doc.get("traits"), Mapping):
        raise InputError(f"{path} has no [traits] table; give the traits.toml of another environment.")
    return toml_file.load_config(path, doc, "all")


def _side(cell: Any) -> dict:
    return {"value": cell.value if cell.found else None, "found": cell.found, "source": cell.source,
            "file": cell.file}


def diff_document(differences: list, left: dict, right: dict) -> dict:
    """The ``traitctl config diff --json`` document: what was compared and each differing value
    with its source on both sides."""
    return {"left": left, "right": right, "equal": not differences, "count": len(differences),
            "differences": [{"trait": d.trait, "key": d.key, "model": d.model, "tenant": d.tenant,
                             "left": _side(d.left), "right": _side(d.right)} for d in differences]}


def check_tenants(tenants: list[str], *configs: engine.ConfigData) -> None:
    """Refuse a tenant id that is invalid or that none of ``configs`` knows.

    :raises InputError: / :raises NotFound: naming it (near ids suggested).
    """
    for tenant in tenants:
        engine.check_tenant_id(tenant)
        if not any(tenant in cfg.tenants for cfg in configs):
            raise NotFound("tenant", tenant, {t for cfg in configs for t in cfg.tenants})


def tenant_diff(cfg: engine.ConfigData, a: str, b: str, traits: list[str], model: str | None) -> dict:
    """The ``config diff --tenant a --tenant b`` document (see :func:`diff_document`)."""
    from traitctl.engine import config_matrix

    found = config_matrix.diff_tenants(cfg, a, b, traits, model)
    return diff_document(found, {"tenant": a, "file": cfg.main_file}, {"tenant": b, "file": cfg.main_file})


def environment_diff(cfg: engine.ConfigData, other: engine.ConfigData, tenant: str | None, traits: list[str],
                     model: str | None) -> dict:
    """The ``config diff --against FILE [--tenant T]`` document: without a tenant and for each tenant of
    either side, or for ``tenant`` only."""
    from traitctl.engine import config_matrix

    scope = [tenant] if tenant else [None, *config_matrix.tenants_of(cfg, other)]
    found = config_matrix.diff_configs(cfg, other, traits, scope, model)
    return diff_document(found, {"file": cfg.main_file, "tenant": tenant}, {"file": other.main_file, "tenant": tenant})


def tenant_targets(cfg: engine.ConfigData, wanted: list[str] | None) -> list[str]:
    """The tenants a bulk write names (``None``: every tenant), each checked once.

    :raises InputError: for an invalid id, naming it.
    :raises NotFound: for the unknown ones, all named in one sentence.
    """
    if wanted is None:
        if not cfg.tenants:
            raise InputError("--all-tenants: the configuration has no tenants.")
        return sorted(cfg.tenants)
    ids = list(dict.fromkeys(t.strip() for t in wanted if t.strip()))
    if not ids:
        raise InputError("--tenants needs at least one tenant id (a,b,c).")
    for tenant in ids:
        engine.check_tenant_id(tenant)
    unknown = [t for t in ids if t not in cfg.tenants]
    if len(unknown) == 1:
        raise NotFound("tenant", unknown[0], cfg.tenants)
    if unknown:
        raise InputError(f"Unknown tenants {', '.join(repr(t) for t in unknown)}: nothing written "
                         "(`traitctl tenants list` shows them).")
    return ids


def bulk_changes(cfg: engine.ConfigData, trait: str, model: str | None, tenants: list[str], key: str,
                 value: Any) -> dict[Path, list]:
    """The changes of ``config set/unset --tenants``: KEY set to ``value`` (``ABSENT``: removed) in
    each tenant's layer, grouped by the file each tenant lives in."""
    from traitctl.store import toml_file

    files: dict[Path, list] = {}
    for tenant in tenants:
        source = cfg.tenants[tenant]
        path = engine.table_path(trait, model, source) + tuple(key.split("."))
        files.setdefault(Path(source.file), []).append(toml_file.Change(path, value))
    return files


def bulk_write(app: Any, trait: str, model: str | None, tenants: list[str], key: str, value: Any, *,
               kind: str, dry_run: bool, command: str) -> tuple[Any, Any]:
    """``config set/unset KEY --tenants a,b`` (or ``--all-tenants``): one operation under the
    configuration lock, every file's edit computed before any is written, one history event with
    every key path (one ``traitctl rollback`` undoes them all).

    :param value: the checked value, or ``ABSENT`` to unset (tenants without the key are skipped).
    :returns: the :class:`~traitctl.store.toml_file.MultiEdit` and the event (``None``: dry or no change).
    :raises InputError: on an unset that no tenant has.
    """
    from traitctl import history_service
    from traitctl.store import toml_file

    cfg = app.config(tenants="all")
    removing = value is toml_file.ABSENT
    if removing:
        tenants = [t for t in tenants if _has(cfg, trait, model, t, key)]
        if not tenants:
            raise InputError(f"'{key}' is not set for {trait} in any of the tenants named; nothing to unset.")
    files = bulk_changes(cfg, trait, model, tenants, key, value)
    if not dry_run:
        app.store()  # a store that cannot be opened means nothing written, not an unrecorded change
    edit = toml_file.edit_files(Path(cfg.main_file), files, lock_timeout=app.settings.lock_timeout, dry_run=dry_run)
    if dry_run:
        return edit, None
    app.reset_config()
    event = history_service.record_edits(app.store(), kind, edit.edits, actor=app.settings.actor, command=command,
                                         trait=trait, model=model, data={"tenants": tenants})
    return edit, event


def _has(cfg: engine.ConfigData, trait: str, model: str | None, tenant: str, key: str) -> bool:
    layer = engine.layers_for(cfg, trait, model, tenant)[0]
    return engine._lookup(layer.values, key)[0]
