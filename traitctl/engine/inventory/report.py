"""Views of an inventory (pure): the JSON document, summary, Markdown, CSV, dependency graphs,
and the drift between a saved baseline and the current code (``--check``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from traitctl.engine.inventory.audit import Audit
from traitctl.engine.inventory.model import SCHEMA_VERSION, Inventory, ModelInfo, TraitInfo, short

VIEWS = ("all", "traits", "models")


def document(inv: Inventory, aud: Audit | None = None, view: str = "all") -> dict[str, Any]:
    """The versioned JSON document (docs/inventory.md): sorted, no timestamps.

    :param view: ``all``, ``traits`` (traits and vendor traits only) or ``models``.
    """
    data = inv.to_dict()
    doc: dict[str, Any] = {"schema": SCHEMA_VERSION, "summary": summary(inv, aud)}
    keep = {"all": ("roots", "files", "traits", "vendor_traits", "models", "classes", "warnings"),
            "traits": ("traits", "vendor_traits"), "models": ("models",)}[view]
    doc.update({key: data[key] for key in keep})
    if aud is not None and view == "all":
        doc["audit"] = aud.to_dict()
    return doc


def summary(inv: Inventory, aud: Audit | None = None) -> dict[str, int]:
    """Counts for the summary lines. ``method_overrides``: model methods replacing a trait's
    method; with an audit, ``configured_not_in_code`` (``[traits.X]`` tables and model layers that
    apply to no code) and ``in_code_not_configured`` (traits with no ``[traits.X]`` table)."""
    out = {"files": inv.files, "classes": len(inv.classes), "traits": len(inv.traits),
           "vendor_traits": len(inv.vendor_traits), "models": len(inv.models),
           "pairs": sum(len(m.traits) for m in inv.models),
           "method_overrides": sum(len(m.overrides) for m in inv.models), "warnings": len(inv.warnings)}
    if aud is not None:
        out["configured_not_in_code"] = aud.configured_not_in_code
        out["in_code_not_configured"] = len(aud.code_only)
    return out


def summary_lines(counts: dict[str, int]) -> list[str]:
    """The summary: what the code holds, then how it lines up with the configuration."""
    lines = [f"{counts['files']} files: {counts['traits']} traits ({counts['vendor_traits']} vendor), "
             f"{counts['models']} models, {counts['pairs']} model-trait pairs, "
             f"{_count(counts['method_overrides'], 'method override')}"
             + (f", {_count(counts['warnings'], 'warning')}" if counts["warnings"] else "")]
    if "configured_not_in_code" in counts:
        lines.append(f"Configuration: {counts['configured_not_in_code']} configured but not in the code, "
                     f"{_count(counts['in_code_not_configured'], 'trait')} in the code but not configured")
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- rows shared by tables, Markdown and CSV ---------------------------------------------------
TRAIT_COLUMNS = ("Trait", "Location", "Uses", "Laravel", "Methods", "Models", "Config")
VENDOR_COLUMNS = ("Vendor trait", "Models", "Config")
MODEL_COLUMNS = ("Model", "Location", "Base", "Traits", "Method overrides")


def trait_rows(inv: Inventory, aud: Audit | None = None, vendor: bool = True) -> list[list[str]]:
    """One row per declared trait (then per vendor trait, marked ``(vendor)``) in :data:`TRAIT_COLUMNS`."""
    configured = _configured(inv, aud)
    rows = [[t.fqn, f"{t.file}:{t.line}", _shorts(t.uses), _conventions(t), str(len(t.methods)),
             str(len(t.models)), configured.get(t.fqn, "")] for t in inv.traits]
    if vendor:
        rows += [[t.fqn, "(vendor)", "", "", "", str(len(t.models)), configured.get(t.fqn, "")]
                 for t in inv.vendor_traits]
    return rows


def vendor_rows(inv: Inventory, aud: Audit | None = None) -> list[list[str]]:
    configured = _configured(inv, aud)
    return [[t.fqn, str(len(t.models)), configured.get(t.fqn, "")] for t in inv.vendor_traits]


def model_rows(inv: Inventory) -> list[list[str]]:
    """One row per model in :data:`MODEL_COLUMNS`."""
    return [[m.fqn + (" (abstract)" if m.abstract else ""), f"{m.file}:{m.line}", short(m.base), _model_traits(m),
             ", ".join(f"{o.method}() < {short(o.trait)}" for o in m.overrides)] for m in inv.models]


def _configured(inv: Inventory, aud: Audit | None) -> dict[str, str]:
    if aud is None:
        return {}
    names = {p.trait: p.config_name for p in aud.pairs if p.config_name}
    code_only = set(aud.code_only)
    out = {}
    for fqn in [t.fqn for t in inv.traits] + [t.fqn for t in inv.vendor_traits]:
        out[fqn] = "no" if fqn in code_only else names.get(fqn) or short(fqn)
    return out


def _conventions(t: TraitInfo) -> str:
    parts = [p for p in (t.boot and "boot", t.initialize and "init") if p]
    if t.scopes:
        parts.append(f"{len(t.scopes)} scope" + ("s" if len(t.scopes) > 1 else ""))
    return ", ".join(parts)


def _model_traits(m: ModelInfo) -> str:
    # Marks: * via another trait, ^ inherited from an ancestor.
    marks = {t: "*" for t in m.traits_via_traits} | {t: "^" for t in m.traits_inherited}
    return ", ".join(short(t) + marks.get(t, "") for t in m.traits)


def _shorts(names: Iterable[str]) -> str:
    return ", ".join(short(n) for n in names)


# -- Markdown and CSV ----------------------------------------------------------------------------
def markdown(inv: Inventory, aud: Audit | None = None, view: str = "all") -> str:
    """A Markdown report (GitHub tables)."""
    out = ["# Trait inventory", ""] + [part for line in summary_lines(summary(inv, aud)) for part in (line, "")]
    if view in ("all", "traits"):
        out += ["## Traits", "", *_md_table(TRAIT_COLUMNS, trait_rows(inv, aud)), ""]
    if view in ("all", "models"):
        out += ["## Models", "", "`*` via another trait, `^` inherited.", "",
                *_md_table(MODEL_COLUMNS, model_rows(inv)), ""]
    if view in ("all", "models"):
        listed = [f"- {line}" for line in override_lines(inv)] or ["None."]
        out += ["## Method overrides", "", *listed, ""]
    if aud is not None and view == "all":
        out += ["## Configuration and code", ""]
        for heading, lines in config_notes(aud) or [("Configuration and code agree.", [])]:
            out += [f"{heading}{':' if lines else ''}", "", *[f"- {line}" for line in lines], ""]
        out += [config_notes_footnote(aud), ""] if config_notes(aud) else []
    if inv.warnings and view == "all":
        out += ["## Warnings", "", *[f"- `{w}`" for w in inv.warnings], ""]
    return "\n".join(out)


def _md_table(columns: Iterable[str], rows: list[list[str]]) -> list[str]:
    def cell(value: str) -> str:
        # A backslash before a letter stays literal in GFM; `|` ends a cell and `*` starts emphasis.
        return value.replace("|", "\\|").replace("*", "\\*")

    columns = list(columns)
    return (["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows])


def csv_text(inv: Inventory, aud: Audit | None = None, view: str = "all") -> str:
    """CSV: traits or models rows for those views; else one row per (model, trait) pair."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if view == "traits":
        writer.writerow(TRAIT_COLUMNS)
        writer.writerows(trait_rows(inv, aud))
    elif view == "models":
        writer.writerow(MODEL_COLUMNS)
        writer.writerows(model_rows(inv))
    else:
        writer.writerow(("model", "trait", "how", "vendor", "configured", "method_overrides"))
        writer.writerows(pair_rows(inv, aud))
    return buf.getvalue()


def pair_rows(inv: Inventory, aud: Audit | None = None) -> list[list[str]]:
    vendor = {t.fqn for t in inv.vendor_traits}
    config = {(p.model, p.trait): p.config_name or "" for p in aud.pairs} if aud else {}
    rows = []
    for m in inv.models:
        for t in m.traits:
            how = "direct" if t in m.traits_direct else "via_trait" if t in m.traits_via_traits else "inherited"
            overrides = ";".join(o.method for o in m.overrides if o.trait == t)
            rows.append([m.fqn, t, how, "yes" if t in vendor else "no", config.get((m.fqn, t), ""), overrides])
    return rows


def override_lines(inv: Inventory) -> list[str]:
    """One sentence per model method replacing a trait's concrete method."""
    return [f"{m.fqn}::{o.method}() ({m.file}:{o.line}) replaces {o.trait}::{o.method}() (line {o.trait_line})"
            for m in inv.models for o in m.overrides]


def config_notes(aud: Audit) -> list[tuple[str, list[str]]]:
    """How the configuration lines up with the code, as ``(heading, sentences)`` groups (empty when
    they agree): tables and model layers that apply to no code, then traits with no table."""
    unused = [f"[traits.{n}]: no trait in the code has that name" for n in aud.configured_only]
    unused += [f"[models.'{m}']: a model layer for a model the code does not declare (config validate: a problem)"
               for m in aud.unknown_models]
    unused += [f"[models.'{m}'.{t}]: a model layer for {t}, which {short(m)} does not use"
               for m, t in aud.unused_model_layers]
    missing = [f"{t}: no [traits.{short(t)}] table, so no settings" for t in aud.code_only]
    groups = [("Configured but not in the code", unused), ("In the code but not configured", missing)]
    return [(heading, lines) for heading, lines in groups if lines]


def config_notes_footnote(aud: Audit) -> str:
    """What :func:`config_notes` are, to print under them: notes, and how ``config validate`` sees them."""
    text = "These are notes, not errors: traitctl config validate checks the configuration's own rules"
    if aud.unknown_models:
        return text + " and reports only the model layers marked as a problem."
    return text + " and reports none of them."


# -- graphs -------------------------------------------------------------------------------------
def graph_edges(inv: Inventory) -> list[tuple[str, str, str]]:
    """``(from, to, kind)``: trait uses trait (``uses``) and model uses trait (``direct``)."""
    edges = [(t.fqn, u, "uses") for t in inv.traits for u in t.uses]
    edges += [(m.fqn, t, "direct") for m in inv.models for t in m.traits_direct]
    edges += [(m.fqn, m.parents[0], "extends") for m in inv.models if m.parents and inv.model(m.parents[0])]
    return sorted(set(edges), key=lambda e: (e[0].lower(), e[1].lower(), e[2]))


def mermaid(inv: Inventory) -> str:
    """A Mermaid flowchart of the trait dependency graph."""
    ids = _node_ids(inv)
    lines = ["flowchart LR"]
    for fqn, node in ids.items():
        shape = f'{node}(["{short(fqn)}"])' if inv.trait(fqn) else f'{node}["{short(fqn)}"]'
        lines.append(f"    {shape}")
    arrows = {"uses": "-->", "direct": "-->", "extends": "-.->"}
    lines += [f"    {ids[a]} {arrows[k]}|{k}| {ids[b]}" for a, b, k in graph_edges(inv)]
    return "\n".join(lines) + "\n"


def dot(inv: Inventory) -> str:
    """A Graphviz DOT digraph of the trait dependency graph."""
    lines = ["digraph traits {", "    rankdir=LR;", "    node [fontname=\"Helvetica\"];"]
    for fqn in _node_ids(inv):
        shape = "ellipse" if inv.trait(fqn) else "box"
        lines.append(f"    {_dot_id(fqn)} [label={_dot_id(short(fqn))}, shape={shape}, tooltip={_dot_id(fqn)}];")
    styles = {"uses": "solid", "direct": "solid", "extends": "dashed"}
    lines += [f"    {_dot_id(a)} -> {_dot_id(b)} [label={k}, style={styles[k]}];" for a, b, k in graph_edges(inv)]
    return "\n".join(lines + ["}"]) + "\n"


def _node_ids(inv: Inventory) -> dict[str, str]:
    names = sorted({n for a, b, _ in graph_edges(inv) for n in (a, b)}, key=str.lower)
    return {name: f"n{i}" for i, name in enumerate(names)}


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- drift (--check) ----------------------------------------------------------------------------
def fingerprint(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What ``--check`` compares, from a JSON document: traits, models, pairs and overrides.
    Line numbers are left out, so moving code without changing it is no drift."""
    traits = {t["fqn"]: {"uses": t["uses"], "methods": sorted(_method_sig(m) for m in t["methods"])}
              for t in doc.get("traits", [])}
    traits.update({t["fqn"]: {"vendor": True} for t in doc.get("vendor_traits", [])})
    models = {m["fqn"]: {"parents": m["parents"], "abstract": m["abstract"]} for m in doc.get("models", [])}
    pairs = {f"{m['fqn']} uses {t}": True for m in doc.get("models", []) for t in m["traits"]}
    overrides = {f"{m['fqn']}::{o['method']}() {kind} {o['trait']}": True for m in doc.get("models", [])
                 for kind in ("overrides", "implements") for o in m[kind]}
    return {"trait": traits, "model": models, "pair": pairs, "override": overrides}


def _method_sig(m: dict[str, Any]) -> str:
    return f"{m['name']}{' abstract' if m['abstract'] else ''}{' static' if m['static'] else ''} {m['visibility']}"


def drift(baseline: dict[str, Any], current: dict[str, Any]) -> list[dict[str, str]]:
    """Differences from ``baseline`` to ``current``: ``{"change": added|removed|changed, "kind", "name",
    "detail"}``, sorted. Empty when equal."""
    old, new = fingerprint(baseline), fingerprint(current)
    out = []
    for kind in ("trait", "model", "pair", "override"):
        for name in sorted(set(old[kind]) | set(new[kind]), key=str.lower):
            if name not in old[kind]:
                out.append({"change": "added", "kind": kind, "name": name, "detail": ""})
            elif name not in new[kind]:
                out.append({"change": "removed", "kind": kind, "name": name, "detail": ""})
            elif old[kind][name] != new[kind][name]:
                out.append({"change": "changed", "kind": kind, "name": name,
                            "detail": _detail(old[kind][name], new[kind][name])})
    return out


def _detail(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            plus = [f"+{x}" for x in b if x not in a]
            minus = [f"-{x}" for x in a if x not in b]
            parts.append(f"{key} {' '.join(plus + minus) or '(order)'}")
        else:
            parts.append(f"{key} {a!r} -> {b!r}")
    return "; ".join(parts)


def drift_line(item: dict[str, str]) -> str:
    sign = {"added": "+", "removed": "-", "changed": "~"}[item["change"]]
    return f"{sign} {item['kind']} {item['name']}" + (f": {item['detail']}" if item["detail"] else "")
