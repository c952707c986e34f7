"""Focused views (``--trait NAME``, ``--model NAME``): one trait or model with its configuration. Pure."""

from __future__ import annotations

import json
from typing import Any

from traitctl.engine.inventory.audit import Audit
from traitctl.engine.inventory.model import SCHEMA_VERSION, Inventory, ModelInfo, TraitInfo, VendorTrait, plain, short


def trait_detail(inv: Inventory, aud: Audit, trait: TraitInfo | VendorTrait) -> dict[str, Any]:
    """The JSON document of one trait: its facts, and each model's effective settings of it."""
    pairs = [p for p in aud.pairs if p.trait == trait.fqn]
    body = plain(trait)
    body["vendor"] = isinstance(trait, VendorTrait)
    body["config"] = pairs[0].config_name if pairs else _config_name(aud, trait.fqn)
    overrides = [dict(model=m.fqn, **plain(o)) for m in inv.models for o in m.overrides if o.trait == trait.fqn]
    return {"schema": SCHEMA_VERSION, "trait": body, "method_overrides": overrides,
            "models": {p.model: {s.key: {"value": s.value, "source": s.source} for s in p.settings} for p in pairs}}


def model_detail(inv: Inventory, aud: Audit, model: ModelInfo) -> dict[str, Any]:
    """The JSON document of one model: its facts and the effective settings of each of its traits."""
    pairs = [p for p in aud.pairs if p.model == model.fqn]
    return {"schema": SCHEMA_VERSION, "model": plain(model),
            "traits": {p.trait: {s.key: {"value": s.value, "source": s.source} for s in p.settings} for p in pairs}}


def _config_name(aud: Audit, fqn: str) -> str | None:
    return None if fqn in aud.code_only else short(fqn)


def detail_lines(doc: dict[str, Any]) -> list[str]:
    """Plain-text rendering of :func:`trait_detail` / :func:`model_detail`."""
    return _trait_lines(doc) if "trait" in doc else _model_lines(doc)


def _trait_lines(doc: dict[str, Any]) -> list[str]:
    t = doc["trait"]
    out = [f"Trait {t['fqn']}" + (" (vendor: not in the scanned code)" if t["vendor"] else f"  {t['file']}:{t['line']}")]
    if not t["vendor"]:
        out += _list("Uses", t["uses"]) + _list("Uses (all)", t["uses_all"])
        conventions = [x for x in (t["boot"], t["initialize"]) if x] + [f"scope {s}" for s in t["scopes"]]
        out += _list("Laravel", conventions)
        out += _list("Methods", [_method(m) for m in t["methods"]])
        out += _list("Properties", [f"{p['visibility']} ${p['name']}" for p in t["properties"]])
        out += _list("Used by", t["users"])
    out += _list("Models", t["models"])
    out += _list("Method overrides", [f"{o['model']}::{o['method']}() line {o['line']}"
                                      for o in doc["method_overrides"]])
    out.append(f"Configuration: [traits.{t['config']}]" if t["config"] else "Configuration: none")
    for model, settings in doc["models"].items():
        out += [f"  {model}:", *_settings(settings)] if settings else []
    return out


def _model_lines(doc: dict[str, Any]) -> list[str]:
    m = doc["model"]
    out = [f"Model {m['fqn']}{' (abstract)' if m['abstract'] else ''}  {m['file']}:{m['line']}"]
    out += _list("Parents", m["parents"])
    out += _list("Traits", m["traits_direct"]) + _list("Via traits", m["traits_via_traits"])
    out += _list("Inherited", m["traits_inherited"])
    out += _list("Adaptations", [_adaptation(a) for a in m["adaptations"]])
    out += _list("Method overrides", [f"{o['method']}() line {o['line']} replaces {o['trait']}::{o['method']}() "
                               f"line {o['trait_line']}" for o in m["overrides"]])
    out += _list("Implements", [f"{o['method']}() line {o['line']} for abstract {o['trait']}::{o['method']}()"
                                for o in m["implements"]])
    configured = [(trait, settings) for trait, settings in doc["traits"].items() if settings]
    out += ["Configuration:"] if configured else []
    for trait, settings in configured:
        out += [f"  {short(trait)}:", *_settings(settings)]
    return out


def _settings(settings: dict[str, Any]) -> list[str]:
    # One key per line, with the layer it comes from; JSON literals (true, ["a"]) read like the
    # TOML they came from; Python reprs would not.
    return [f"    {k} = {json.dumps(v['value'], default=str)} ({v['source']})" for k, v in settings.items()]


def _list(label: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"{label}:"] + [f"  {item}" for item in items]


def _method(m: dict[str, Any]) -> str:
    flags = " ".join(x for x in ("abstract" if m["abstract"] else "", "static" if m["static"] else "") if x)
    return f"{m['visibility']} {flags + ' ' if flags else ''}{m['name']}() line {m['line']}"


def _adaptation(a: dict[str, Any]) -> str:
    target = f"{a['trait']}::{a['method']}" if a["trait"] else a["method"]
    if a["kind"] == "insteadof":
        return f"{target} insteadof {', '.join(a['insteadof'])}"
    return f"{target} as {' '.join(x for x in (a['visibility'], a['alias']) if x)}"
