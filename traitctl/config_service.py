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
