"""``traitctl inventory``: every trait, every model using it, how each is configured, every override."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from traitctl import completion
from traitctl.commands.common import CONTEXT_SETTINGS, JsonOpt, app_for, examples, format_option
from traitctl.context import App
from traitctl.engine.errors import InputError, NotFound, TraitctlError

#: Trees at least this large get a progress bar (on a terminal).
PROGRESS_MIN_FILES = 200

app = typer.Typer(help="Static inventory of traits and models (PHP and Python).", add_completion=False,
                  context_settings=CONTEXT_SETTINGS)

FORMATS = ("table", "json", "markdown", "csv")
GRAPHS = ("mermaid", "dot")


@app.command(name="inventory", epilog=examples("traitctl inventory", "traitctl inventory --trait Cacheable",
                                              "traitctl inventory --save inventory.json",
                                              "traitctl inventory --check inventory.json --strict"))
def inventory(
    paths: Annotated[Optional[list[str]], typer.Argument(
        help="Source folders or files (default: [traitctl] source of the configuration).", show_default=False,
        metavar="PATH")] = None,
    traits: Annotated[bool, typer.Option("--traits", help="Only the traits.")] = False,
    models: Annotated[bool, typer.Option("--models", help="Only the models.")] = False,
    trait: Annotated[Optional[str], typer.Option("--trait", "-t", help="One trait in detail (FQN or short name).",
                                                 autocompletion=completion.trait_names)] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="One model in detail (FQN or short name).",
                                                 autocompletion=completion.model_names)] = None,
    fmt: Annotated[str, format_option(*FORMATS)] = "table",
    graph: Annotated[Optional[str], typer.Option("--graph", help="Trait dependency graph: mermaid or dot.",
                                                  autocompletion=completion.choices(*GRAPHS))] = None,
    tenant: Annotated[Optional[str], typer.Option("--tenant", help="Resolve settings for this tenant too.",
                                                  autocompletion=completion.tenant_ids)] = None,
    save: Annotated[Optional[Path], typer.Option("--save", help="Write the JSON inventory to FILE (a baseline).")] = None,
    check: Annotated[Optional[Path], typer.Option("--check", help="Compare with a saved baseline: exit 1 on drift.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Parse every file again (a cold run).")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a file could not be parsed fully.")] = False,
    lib: Annotated[Optional[list[str]], typer.Option(
        "--lib", help="A library tree to resolve bases and traits from (repeatable; never listed as the app's).",
        metavar="PATH")] = None,
    kind: Annotated[Optional[list[str]], typer.Option(
        "--kind", help="Model families to list (repeatable): eloquent, django, sqlalchemy, peewee, pydantic, "
        "custom; no-KIND leaves one out.", metavar="KIND")] = None,
    json: JsonOpt = False,
) -> None:
    """Inventory the traits and models of the configured sources (or PATHs): a summary, then traits
    and models tables. Exit 1 on --check drift or, with --strict, on parse warnings."""
    state = app_for(json or fmt == "json")
    fmt = "json" if state.out.json_mode else _choice(fmt, FORMATS, "--format")
    if graph is not None:
        _choice(graph, GRAPHS, "--graph")
    if any(not p.strip() for p in paths or []):
        raise InputError("PATH must not be empty: name a folder or file to inventory, or give none for the "
                         "configured sources.")
    if save is not None:
        from traitctl.commands.common import output_file

        save = output_file(save, "--save", state.cwd, state)
    inv, aud = _scan(state, paths or [], not no_cache, tenant, lib or [], _kinds(kind or []))
    for warning in inv.warnings:
        state.out.warn(f"{warning}")
    if save is not None:
        _save(state, save, inv, aud)
    if check is not None:
        _check(state, check, inv, aud)
    elif graph is not None:
        _graph(state, inv, graph)
    else:
        _show(state, inv, aud, fmt, _view(traits, models), trait, model)
    if strict and inv.warnings:
        raise TraitctlError(f"{len(inv.warnings)} file(s) could not be parsed fully (--strict).")


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise InputError(f"{option} {value!r} is not one of: {', '.join(allowed)}.")
    return value


def _kinds(values: list[str]) -> tuple[str, ...] | None:
    """``--kind``: the families named, or all but the ``no-KIND`` ones; ``None``: all."""
    from traitctl.engine.inventory.resolve import MODEL_KINDS

    names = [v.strip().lower() for value in values for v in value.split(",") if v.strip()]
    for name in names:
        if name.removeprefix("no-") not in MODEL_KINDS:
            raise InputError(f"--kind {name!r} is not one of: {', '.join(MODEL_KINDS)} (or no-KIND).")
    if not names:
        return None
    included = [n for n in names if not n.startswith("no-")]
    excluded = {n[3:] for n in names if n.startswith("no-")}
    return tuple(k for k in (included or MODEL_KINDS) if k not in excluded)


def _view(traits: bool, models: bool) -> str:
    if traits and models:
        return "all"
    return "traits" if traits else "models" if models else "all"


def _scan(state: App, paths: list[str], use_cache: bool, tenant: str | None, libs: list[str],
          kinds: tuple[str, ...] | None) -> tuple[Any, Any]:
    from traitctl.engine.config import check_tenant_id
    from traitctl.engine.inventory.audit import audit
    from traitctl.scan import scan_for_app

    if tenant:
        check_tenant_id(tenant)
    stats: dict[str, int] = {}
    with _Progress(state) as progress:
        inv = scan_for_app(state, paths, use_cache=use_cache, progress=progress, stats=stats, libraries=libs,
                           kinds=kinds)
    state.out.info(f"Parsed {stats['parsed']} of {stats['files']} files ({stats['cached']} unchanged, "
                   f"{stats['same_content']} with the same content: from the cache); "
                   f"{stats.get('library_files', 0)} library files read.")
    cfg = state.config(tenants={tenant} if tenant else None)
    from traitctl.validation_service import require_tenant

    require_tenant(cfg, tenant)
    return inv, audit(inv, cfg, tenant)


class _Progress:
    """The scan's progress callback: a bar on stderr once the tree is known to be large."""

    def __init__(self, state: App) -> None:
        self.state = state
        self.bar: Any = None

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            if total >= PROGRESS_MIN_FILES:
                self.bar = self.state.out.progress(total, "Scanning sources").__enter__()
        elif self.bar is not None:
            self.bar.advance(done)


# -- output -------------------------------------------------------------------------------------
def _show(state: App, inv: Any, aud: Any, fmt: str, view: str, trait: str | None, model: str | None) -> None:
    from traitctl.engine.inventory import report

    if trait or model:
        return _detail(state, inv, aud, fmt, trait, model)
    if fmt == "json":
        return _json(state, report.document(inv, aud, view))
    if fmt in ("markdown", "csv"):
        text = report.markdown(inv, aud, view) if fmt == "markdown" else report.csv_text(inv, aud, view)
        return state.out.text(text)
    _tables(state, inv, aud, view)


def _tables(state: App, inv: Any, aud: Any, view: str) -> None:
    from traitctl.engine.inventory import report

    for line in report.summary_lines(report.summary(inv, aud)):
        state.out.paragraph(line)
    columns = ("Trait", "Uses", "Laravel", "Models", "Config")
    rows = [[r[0], r[2], r[3], r[5], "no" if r[6] == "no" else "yes"] for r in report.trait_rows(inv, aud, vendor=False)]
    # Every table of the output in one frame: borderless when the traits table needs it.
    frame = "box" if view == "models" or state.out.fits(columns, rows, columns[:1]) else "compact"
    if view in ("all", "traits"):
        if frame == "compact":  # a narrow column: one trait use or convention per line ("1 scope" whole)
            rows = [[name, uses.replace(", ", "\n"), laravel.replace(", ", "\n"), *rest]
                    for name, uses, laravel, *rest in rows]
        _table(state, "Traits", columns, rows, "Config: the [traits.X] table", frame)
        if inv.vendor_traits:
            _table(state, "Vendor traits (used, not in the scanned code)", report.VENDOR_COLUMNS,
                   report.vendor_rows(inv, aud), None, frame)
    if view in ("all", "models"):
        _models(state, inv, frame)
    if view == "all":
        _config_notes(state, aud)


def _models(state: App, inv: Any, frame: str) -> None:
    """The models table; where its method overrides column does not fit, they follow it as a list."""
    from traitctl.engine.inventory import report

    columns = ("Model", "Base", "Traits", "Method overrides")
    rows = [[r[0], r[2], r[3], r[4]] for r in report.model_rows(inv)]
    legend = "* via another trait, ^ inherited"
    if state.out.fits(columns, rows, columns[:1], frame):
        return _table(state, "Models", columns, rows, f"{legend}; method overrides: method() < trait", frame)
    _table(state, "Models", columns[:3], [row[:3] for row in rows], legend, frame)
    lines = [f"{m.fqn}::{o.method}() replaces {o.trait}::{o.method}()" for m in inv.models for o in m.overrides]
    if lines:
        state.out.line("Method overrides (a model method replacing its trait's):")
    for line in lines:
        state.out.paragraph(line, indent=2, hang=4)


def _config_notes(state: App, aud: Any) -> None:
    from traitctl.engine.inventory import report

    groups = report.config_notes(aud)
    if not groups:
        return state.out.line("Configuration and code agree.")
    for heading, lines in groups:
        state.out.line(f"{heading}:")
        for line in lines:
            state.out.paragraph(line, indent=2, hang=4)
    state.out.paragraph(report.config_notes_footnote(aud))


def _table(state: App, title: str, columns: tuple[str, ...], rows: list[list[str]], caption: str | None,
           frame: str) -> None:
    # Names never wrap (they are what people copy); lists wrap at their spaces.
    state.out.table(columns, rows, title=title, caption=caption, no_wrap=columns[:1], right=("Models",),
                    title_justify="left", frame=frame)


def _detail(state: App, inv: Any, aud: Any, fmt: str, trait: str | None, model: str | None) -> None:
    from traitctl.engine.inventory import details

    if trait:
        found = inv.trait(trait)
        if found is None:
            raise NotFound("trait", trait, [t.fqn for t in inv.traits + inv.vendor_traits])
        doc = details.trait_detail(inv, aud, found)
    else:
        found = inv.model(model or "")
        if found is None:
            raise NotFound("model", model or "", [m.fqn for m in inv.models])
        doc = details.model_detail(inv, aud, found)
    if fmt == "json":
        return _json(state, doc)
    if fmt in ("markdown", "csv"):
        raise InputError(f"--format {fmt} shows the whole inventory; use table or json with --trait/--model.")
    for line in details.detail_lines(doc):
        body = line.lstrip(" ")
        state.out.paragraph(body, indent=len(line) - len(body), hang=4)


def _graph(state: App, inv: Any, graph: str) -> None:
    from traitctl.engine.inventory import report

    text = report.mermaid(inv) if graph == "mermaid" else report.dot(inv)
    if state.out.json_mode:
        return _json(state, {"schema": 1, "format": graph, "graph": text, "edges": [
            {"from": a, "to": b, "kind": k} for a, b, k in report.graph_edges(inv)]})
    state.out.text(text)


def _json(state: App, doc: Any) -> None:
    """Print a JSON document as ``Output.json`` does (indented, sorted keys)."""
    if state.out.quiet < 2:
        state.out.stdout.write(_dumps(doc))


def _dumps(doc: Any) -> str:
    # orjson: stdlib json falls back to its pure-Python encoder when indenting, ~14 s on a
    # 5,000-file inventory; orjson takes well under a second for the same bytes.
    import orjson

    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=_iso).decode() + "\n"


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# -- baseline -----------------------------------------------------------------------------------
def _save(state: App, path: Path, inv: Any, aud: Any) -> None:
    from traitctl.engine.inventory import report
    from traitctl.store.toml_file import write_output

    text = _dumps(report.document(inv, aud))
    try:
        write_output(path, text)
    except OSError as exc:
        raise InputError(f"Cannot write the baseline {path}: {exc.strerror or exc}.") from None
    state.out.success(f"Saved the inventory to {path}.")


def _check(state: App, path: Path, inv: Any, aud: Any) -> None:
    from traitctl.engine.inventory import report

    changes = report.drift(_load_baseline(path), report.document(inv, aud))
    if state.out.json_mode:
        _json(state, {"schema": 1, "baseline": str(path), "equal": not changes, "changes": changes})
    else:
        for item in changes:
            state.out.line(report.drift_line(item))
    if changes:
        raise TraitctlError(f"The code drifted from {path}: {len(changes)} change(s). "
                            f"Review them, then refresh the baseline with --save {path}.")
    state.out.success(f"No drift from {path}.")


def _load_baseline(path: Path) -> dict[str, Any]:
    import json

    from traitctl.commands.common import refuse_device
    from traitctl.engine.inventory.model import BASELINE_SCHEMAS, SCHEMA_VERSION

    refuse_device(path, "--check", stdin=False)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"Cannot read the baseline {path}: {exc.strerror or exc}.") from None
    except ValueError as exc:
        raise InputError(f"{path} is not an inventory baseline: invalid JSON ({exc}).") from None
    if not isinstance(doc, dict) or doc.get("schema") not in BASELINE_SCHEMAS or "models" not in doc:
        raise InputError(f"{path} is not an inventory baseline of schema {SCHEMA_VERSION} "
                         "(write one with traitctl inventory --save FILE).")
    return doc
