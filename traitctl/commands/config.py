"""``traitctl config``: read, explain, edit and validate the layered trait configuration."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunOpt, JsonOpt, ModelOpt, OptTraitOpt, TenantOpt,
                                      TraitOpt, app_for, command_line, examples, record_edit, show_diff,
                                      store_first)
from traitctl.context import App
from traitctl.engine import config as engine
from traitctl.engine.errors import InputError, NotFound, ValidationError
from traitctl.validation_service import require_tenant, require_tenant_shapes

app = typer.Typer(help="Read, explain, edit and validate trait configuration.", no_args_is_help=True,
                  add_completion=False, context_settings=CONTEXT_SETTINGS,
                  epilog=examples("traitctl config get ttl --trait Cacheable --model Product --tenant acme",
                                  "traitctl config explain ttl --trait Cacheable --model Product",
                                  "traitctl config set ttl 600 --trait Cacheable --dry-run",
                                  "traitctl config validate"))

KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="The key (dotted for nested tables).")]


def _target(app_: App, trait: Optional[str], model: Optional[str], tenant: Optional[str], *, known_only: bool = False):
    """Load the configuration with the tenant asked for and match the names the user typed."""
    if tenant is not None:
        engine.check_tenant_id(tenant)
    cfg = app_.config(tenants={tenant} if tenant is not None else None)
    if trait is not None:
        trait = engine.match_name("trait", trait, cfg.traits)
    require_tenant(cfg, tenant)
    if model:
        model = _match_model(app_, cfg, model, known_only)
    return cfg, trait, model, tenant


def _match_model(app_: App, cfg: engine.ConfigData, model: str, known_only: bool) -> str:
    """Match against the models named in the configuration, then (for writes) the source's models."""
    configured = cfg.model_names()
    try:
        return engine.match_name("model", model, configured)
    except NotFound:
        pass  # a model of the source that nobody configured is fine (global layers apply); a typo is not
    return engine.match_name("model", model, set(configured) | set(known_models(app_) or ()))


def known_models(app_: App) -> list[str] | None:
    """Model FQNs found in the configured sources by the inventory, or ``None`` when unavailable."""
    try:
        from traitctl.scan import scan_for_app
    except ImportError:
        return None
    return sorted(m.fqn for m in scan_for_app(app_).models)


def model_traits(app_: App, cfg: engine.ConfigData, model: str) -> tuple[str, ...] | None:
    """The configured traits ``model`` uses in the code (the inventory of the configured sources) or
    has overrides for; ``None`` when the source cannot be inventoried (then every trait may apply)."""
    from traitctl.engine.errors import TraitctlError

    try:
        from traitctl.scan import scan_for_app

        inv = scan_for_app(app_)
    except (ImportError, TraitctlError):
        return None
    from traitctl.engine.inventory.audit import model_traits as uses, overridden_traits

    found = uses(inv, cfg, model)
    return found if found is not None else overridden_traits(cfg, model)


def _check_uses(app_: App, cfg: engine.ConfigData, trait: str, model: str, tenant: Optional[str]) -> None:
    """Refuse an override for a trait the model does not use (it would never apply)."""
    from traitctl.engine.inventory.audit import overridden_traits

    if trait in overridden_traits(cfg, model):
        return  # it has an override already: no inventory needed
    traits = model_traits(app_, cfg, model)
    if traits is not None and trait not in traits:
        uses = ", ".join(traits) if traits else "no configured trait"
        raise InputError(f"{model} does not use {trait} (it uses {uses}), so this override would never apply; "
                         "pass --force to write it anyway.")


def _source(resolved: engine.Resolved) -> dict[str, Any]:
    from traitctl.config_service import source

    return source(resolved)


BatchOpt = Annotated[Optional[str], typer.Option(
    "--batch", help="JSON lines {\"trait\", \"key\", \"model\", \"tenant\"} from FILE ('-': stdin); one JSON "
                    "line {\"value\", \"found\", \"layer\"} out per query, in order.")]


@app.command()
def get(key: Annotated[Optional[str], typer.Argument(help="The key (dotted for nested tables).")] = None,
        trait: OptTraitOpt = None, model: ModelOpt = None, tenant: TenantOpt = None, json: JsonOpt = False,
        batch: BatchOpt = None) -> None:
    """Print the effective value of KEY for a trait (optionally for a model and a tenant).

    The value of a key whose layer names an environment variable (`env = { key = "NAME" }`) comes
    from that variable when it is set in traitctl's environment, as the application reads it.
    """
    app_ = app_for(json)
    if batch is not None:
        _get_batch(app_, batch)
        return
    if key is None or trait is None:
        raise InputError("Missing KEY or --trait: give both (or --batch FILE).")
    cfg, trait, model, tenant = _target(app_, trait, model, tenant)
    resolved = engine.resolve(key, engine.layers_for(cfg, trait, model, tenant), engine.schema_of(cfg, trait),
                              app_.env)
    if not resolved.found:
        _unknown_key(cfg, trait, key)
    if app_.out.json_mode:
        app_.out.json({"trait": trait, "model": model, "tenant": tenant, "key": key, "value": resolved.value,
                       "source": _source(resolved)})
    else:
        app_.out.line(engine.plain_value(resolved.value))


def _get_batch(app_: App, source: str) -> None:
    """``config get --batch``: one process answering many lookups (JSON lines in and out)."""
    import json
    import sys

    from traitctl.output import to_jsonable

    cfg = app_.config(tenants="all")
    resolver = _BatchResolver(cfg, app_.env)
    out = sys.stdout
    for number, line in enumerate(_batch_lines(source), 1):
        if not line.strip():
            continue
        try:
            query = json.loads(line)
        except ValueError:
            raise InputError(f"{source}:{number}: not a JSON object: {line[:60]!r}.") from None
        if not isinstance(query, dict) or not isinstance(query.get("trait"), str) or \
                not isinstance(query.get("key"), str):
            raise InputError(f"{source}:{number}: give an object with \"trait\" and \"key\" strings "
                             "(\"model\" and \"tenant\" optional).")
        answer = resolver.answer(query)
        out.write(json.dumps(to_jsonable(answer), ensure_ascii=False) + "\n")
    out.flush()


def _batch_lines(source: str):
    import sys

    if source == "-":
        return sys.stdin
    from traitctl.commands.common import refuse_device

    refuse_device(source, "--batch")
    try:
        return open(source, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot read {source}: {exc.strerror}.") from None


class _BatchResolver:
    """Resolves batch queries with the layers of each (trait, model, tenant) computed once."""

    def __init__(self, cfg: engine.ConfigData, environ) -> None:
        self.cfg, self.environ = cfg, environ
        self.layers: dict[tuple, tuple[list, Any]] = {}
        self.names: dict[tuple[str, str], str] = {}
        self.configured_models = cfg.model_names()
        self.checked: set[str] = set()  # tenants whose tables have the right shapes

    def _name(self, kind: str, name: str, known) -> str:
        cached = self.names.get((kind, name))
        if cached is None:
            if kind == "model":
                try:
                    cached = engine.match_name("model", name, known)
                except NotFound:
                    cached = name.lstrip("\\")
            else:
                cached = engine.match_name(kind, name, known)
            self.names[(kind, name)] = cached
        return cached

    def answer(self, query: dict) -> dict[str, Any]:
        from traitctl.engine.errors import TraitctlError

        model, tenant = query.get("model"), query.get("tenant")
        try:
            trait = self._name("trait", query["trait"], self.cfg.traits)
            model = self._name("model", str(model), self.configured_models) if model is not None else None
            if tenant is not None and str(tenant) not in self.cfg.tenants:
                raise NotFound("tenant", str(tenant), self.cfg.tenants)
            if tenant is not None and str(tenant) not in self.checked:
                require_tenant_shapes(self.cfg, [str(tenant)])
                self.checked.add(str(tenant))
        except TraitctlError as exc:
            return {"value": None, "found": False, "layer": None, "error": exc.message}
        tenant = None if tenant is None else str(tenant)
        key = (trait, model, tenant)
        if key not in self.layers:
            self.layers[key] = (engine.layers_for(self.cfg, trait, model, tenant), engine.schema_of(self.cfg, trait))
        layers, schema = self.layers[key]
        resolved = engine.resolve(query["key"], layers, schema, self.environ)
        return {"value": resolved.value, "found": resolved.found,
                "layer": resolved.winner.kind if resolved.winner else None,
                **({"env": resolved.variable} if resolved.from_env else {})}


def _unknown_key(cfg: engine.ConfigData, trait: str, key: str) -> None:
    from traitctl.config_service import unknown_key

    unknown_key(cfg, trait, key)


@app.command()
def explain(key: KeyArg, trait: TraitOpt, model: ModelOpt = None, tenant: TenantOpt = None,
            json: JsonOpt = False) -> None:
    """Show every layer that defines KEY, with file and line, and which one wins."""
    from traitctl.config_service import explain_document

    app_ = app_for(json)
    cfg, trait, model, tenant = _target(app_, trait, model, tenant)
    _render_explain(app_, explain_document(cfg, trait, model, tenant, key, app_.env))


def _path(file: str):
    from pathlib import Path

    return Path(file)


def _render_explain(app_: App, doc: dict) -> None:
    if app_.out.json_mode:
        app_.out.json(doc)
        return
    rows = doc["layers"]
    env = doc.get("env")
    app_.out.line(f"{doc['trait']}.{doc['key']} = {engine.format_value(doc['value'])}  (from {rows[0]['layer']}"
                  + (f", environment variable {env['name']}" if env and env["set"] else "") + ")")
    if env and not env["set"]:
        app_.out.line(f"  {env['name']} is not set: the file's value applies")
    for row in rows:
        where = f"{row['file']}:{row['line']}" if row["line"] else (row["file"] or "")
        mark = "wins" if row["wins"] else "shadowed"
        env = f"  env {row['env']}" if row["env"] else ""
        app_.out.line(f"  {row['rank']}. {row['layer']:<13} {engine.format_value(row['value']):<24} {where}  "
                      f"[{mark}]{env}")
    app_.out.line("Precedence: " + " > ".join(engine.LAYER_ORDER))


AllTenantsOpt = Annotated[bool, typer.Option(
    "--all-tenants", help="Every tenant (from [tenants.<id>] and config/tenants/<id>.toml).")]


@app.command()
def show(trait: OptTraitOpt = None, model: ModelOpt = None, tenant: TenantOpt = None, all_tenants: AllTenantsOpt = False,
         json: JsonOpt = False) -> None:
    """Show the effective configuration (value and source of every key) as a table or JSON.

    With --all-tenants (and --trait): a tenant x key matrix of the trait, each value with the
    layer it comes from (tenant+model, tenant, model, global, default); --model narrows it to
    that model's view.
    """
    app_ = app_for(json)
    if all_tenants:
        _show_matrix(app_, trait, model, tenant)
        return
    cfg, trait, model, tenant = _target(app_, trait, model, tenant)
    traits = [trait] if trait else sorted(cfg.traits)
    if model and not trait:
        used = model_traits(app_, cfg, model)
        traits = traits if used is None else [t for t in traits if t in used]
    if app_.out.json_mode:
        from traitctl.config_service import show_document

        app_.out.json(show_document(cfg, traits, model, tenant, app_.env))
        return
    result = {t: engine.effective(cfg, t, model, tenant, app_.env) for t in traits}
    rows = [(t, k, engine.format_value(r.value) if r.found else "(unset)", r.winner.kind if r.winner else "")
            for t, keys in result.items() for k, r in keys.items()]
    title = "Effective configuration" + (f" for {model}" if model else "") + (f" in tenant {tenant}" if tenant else "")
    app_.out.table(["Trait", "Key", "Value", "Source"], rows, title=title)


def _show_matrix(app_: App, trait: Optional[str], model: Optional[str], tenant: Optional[str]) -> None:
    from traitctl.engine import config_matrix

    if trait is None or tenant is not None:
        raise InputError("--all-tenants shows one trait for every tenant: give --trait T (and no --tenant).")
    cfg = app_.config(tenants="all")
    require_tenant_shapes(cfg)
    trait = engine.match_name("trait", trait, cfg.traits)
    model = _match_model(app_, cfg, model, False) if model else None
    grid = config_matrix.matrix(cfg, trait, model, sorted(cfg.tenants), app_.env)
    if app_.out.json_mode:
        from traitctl.config_service import matrix_document

        app_.out.json(matrix_document(grid))
        return
    _render_matrix(app_, grid)


@app.command()
def diff(tenant: Annotated[Optional[list[str]], typer.Option(
             "--tenant", metavar="ID", help="Give twice to compare two tenants; with --against, only this tenant.")] = None,
         against: Annotated[Optional[str], typer.Option(
             "--against", metavar="FILE", help="Another environment's traits.toml (its tenants/ folder beside it) to compare with.")] = None,
         trait: OptTraitOpt = None, model: ModelOpt = None, json: JsonOpt = False,
         exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when values differ.")] = False) -> None:
    """Show every effective value that differs, with its source layer on each side: between two
    tenants (--tenant a --tenant b) or between this configuration and another (--against FILE,
    e.g. staging against production). Exit 1 when something differs, 0 when equal.

    Values are compared as the files set them (environment variables are not consulted). For each
    trait the values without a model are compared, and those of each model an override names.
    """
    from traitctl import config_service

    app_ = app_for(json)
    tenants = list(tenant or [])
    if against is None:
        if len(tenants) != 2:
            raise InputError("config diff compares two tenants (--tenant a --tenant b) or this configuration "
                             "--against another traits.toml.")
        cfg = app_.config(tenants=set(tenants))
        config_service.check_tenants(tenants, cfg)
        require_tenant_shapes(cfg, tenants)
        traits, model = _diff_scope(app_, [cfg], trait, model)
        doc = config_service.tenant_diff(cfg, tenants[0], tenants[1], traits, model)
    else:
        if len(tenants) > 1:
            raise InputError("With --against, give at most one --tenant (the tenant to compare in both).")
        other = config_service.load_other(_against_path(app_, against))
        cfg = app_.config(tenants="all")
        config_service.check_tenants(tenants, cfg, other)
        require_tenant_shapes(cfg, tenants or None)
        require_tenant_shapes(other, tenants or None)
        traits, model = _diff_scope(app_, [cfg, other], trait, model)
        doc = config_service.environment_diff(cfg, other, tenants[0] if tenants else None, traits, model)
    if app_.out.json_mode:
        app_.out.json(doc)
    else:
        _render_diff(app_, doc, against is not None)
    if doc["differences"] and not exit_zero:
        raise typer.Exit(1)


def _against_path(app_: App, raw: str):
    from pathlib import Path

    if not raw.strip():
        raise InputError("--against needs the path of another traits.toml.")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else app_.cwd / path


def _diff_scope(app_: App, configs: list, trait: Optional[str], model: Optional[str]):
    """The traits to compare (all of either side, or the one named) and the model named."""
    names = sorted({t for cfg in configs for t in cfg.traits})
    traits = [engine.match_name("trait", trait, names)] if trait else names
    if model:
        known = sorted({m for cfg in configs for m in cfg.model_names()})
        try:
            model = engine.match_name("model", model, known)
        except NotFound:
            model = _match_model(app_, configs[0], model, False)
    return traits, model


def _write(app_: App, key: str, raw: Optional[str], trait: str, model: Optional[str], tenant: Optional[str],
           dry_run: bool, force: bool = True) -> None:
    from traitctl.store import toml_file

    from traitctl.engine.limits import check_value_text

    check_value_text(key, f"KEY {key[:40]!r}")
    cfg, trait, model, tenant = _target(app_, trait, model, tenant, known_only=True)
    if model and raw is not None and not force:
        _check_uses(app_, cfg, trait, model, tenant)
    source = cfg.tenants.get(tenant) if tenant else None
    path = engine.table_path(trait, model, source) + tuple(key.split("."))
    file = _path(source.file if source else cfg.main_file)
    if raw is None:
        value: Any = toml_file.ABSENT
        if key.split(".", 1)[0] in engine.RESERVED_TRAIT_KEYS:  # as `set` refuses them
            raise ValidationError(f"{' -> '.join(path)}: '{key}' is reserved; edit the file to change it.")
    else:
        value = engine.parse_value(raw, engine.schema_of(cfg, trait).get(key))
        engine.validate_set(cfg, trait, key, value, path)

    def check(data: dict) -> None:
        if raw is None and toml_file._get(data, path) is toml_file.ABSENT:
            raise InputError(f"{' -> '.join(path)} is not set in {file}; nothing to unset.")

    store_first(app_, dry_run)
    edit = toml_file.edit(file, [toml_file.Change(path, value)], lock_timeout=app_.settings.lock_timeout,
                          dry_run=dry_run, check=check)
    _report_write(app_, edit, "config.unset" if raw is None else "config.set", trait, model, tenant, dry_run,
                  key=key, value=value)


def _report_write(app_: App, edit, kind: str, trait, model, tenant, dry_run: bool, key: str = "",
                  value: Any = None) -> None:
    from traitctl.commands.common import event_ref, write_document
    from traitctl.store.toml_file import ABSENT

    events = [] if dry_run else record_edit(app_, kind, edit, trait=trait, model=model, tenant=tenant)
    app_.reset_config()
    if app_.out.json_mode:
        app_.out.json(write_document(edit, events, dry_run, setting={
            "trait": trait, "model": model, "tenant": tenant, "key": key,
            "value": None if value is ABSENT else value, "set": value is not ABSENT}))
    elif dry_run:
        show_diff(app_, edit)
    elif events:
        event = events[0]
        app_.out.success(f"{event.target}: {event.before or '(unset)'} -> {event.after or '(unset)'} "
                         f"in {edit.file}{event_ref(events)}.")
    else:
        app_.out.success("No change: the file already has that value.")


TenantsOpt = Annotated[Optional[str], typer.Option(
    "--tenants", metavar="A,B,C", help="Comma-separated tenant ids (a,b,c): one write in each tenant's layer, one event.")]
AllTenantsWriteOpt = Annotated[bool, typer.Option(
    "--all-tenants", help="Every tenant's layer: one write, one event (one rollback undoes it).")]


@app.command("set")
def set_(key: KeyArg,
         value: Annotated[str, typer.Argument(metavar="VALUE", help="The new value in TOML syntax: 42, true, '\"text\"', '[1, 2]'.")],
         trait: TraitOpt, model: ModelOpt = None, tenant: TenantOpt = None,
         tenants: TenantsOpt = None, all_tenants: AllTenantsWriteOpt = False,
         dry_run: DryRunOpt = False, json: JsonOpt = False,
         force: bool = typer.Option(False, "--force", help="Write a --model override even for a trait the "
                                    "model does not use in the code.")) -> None:
    """Set KEY to VALUE (TOML syntax: 42, true, "text", [1, 2]) in the layer chosen by --model/--tenant.

    The value is checked against the trait's schema before anything is written; the change is
    recorded in history and can be undone with `traitctl rollback EVENT`. With --model, the model
    must use the trait (as the inventory of the configured sources says) unless --force.
    With --tenants a,b,c or --all-tenants, every tenant is checked before any file is written, the
    files are written under the configuration's lock, and one event records every key.
    """
    app_ = app_for(json)
    if tenants is not None or all_tenants:
        _bulk(app_, key, value, trait, model, tenant, tenants, all_tenants, dry_run, force)
        return
    _write(app_, key, value, trait, model, tenant, dry_run, force=force)


@app.command()
def unset(key: KeyArg, trait: TraitOpt, model: ModelOpt = None, tenant: TenantOpt = None,
          tenants: TenantsOpt = None, all_tenants: AllTenantsWriteOpt = False, dry_run: DryRunOpt = False,
          json: JsonOpt = False) -> None:
    """Remove KEY from the layer chosen by --model/--tenant (the next layer then applies).

    With --tenants a,b,c or --all-tenants: from each of those tenants that sets it, as one event.
    """
    app_ = app_for(json)
    if tenants is not None or all_tenants:
        _bulk(app_, key, None, trait, model, tenant, tenants, all_tenants, dry_run, True)
        return
    _write(app_, key, None, trait, model, tenant, dry_run)


def _bulk(app_: App, key: str, raw: Optional[str], trait: str, model: Optional[str], tenant: Optional[str],
          tenants: Optional[str], all_tenants: bool, dry_run: bool, force: bool) -> None:
    """``config set/unset --tenants a,b`` / ``--all-tenants``: checked once, then one locked write."""
    from traitctl import config_service
    from traitctl.engine.limits import check_value_text
    from traitctl.store import toml_file

    if tenant is not None or (tenants is not None and all_tenants):
        raise InputError("Give one of --tenant, --tenants a,b,c or --all-tenants.")
    check_value_text(key, f"KEY {key[:40]!r}")
    cfg = app_.config(tenants="all")
    trait = engine.match_name("trait", trait, cfg.traits)
    model = _match_model(app_, cfg, model, True) if model else None
    targets = config_service.tenant_targets(cfg, None if all_tenants else tenants.split(","))
    if model and raw is not None and not force:
        _check_uses(app_, cfg, trait, model, None)
    if raw is None:
        value: Any = toml_file.ABSENT
        if key.split(".", 1)[0] in engine.RESERVED_TRAIT_KEYS:
            raise ValidationError(f"{trait} -> {key}: '{key}' is reserved; edit the file to change it.")
    else:
        value = engine.parse_value(raw, engine.schema_of(cfg, trait).get(key))
        # one schema for every tenant: checked once (the message names the first tenant's key path)
        engine.validate_set(cfg, trait, key, value,
                            engine.table_path(trait, model, cfg.tenants[targets[0]]) + tuple(key.split(".")))
    kind = "config.unset" if raw is None else "config.set"
    edit, event = config_service.bulk_write(app_, trait, model, targets, key, value, kind=kind, dry_run=dry_run,
                                            command=command_line())
    _report_bulk(app_, key, edit, event, targets, dry_run)


def _report_bulk(app_: App, key: str, edit, event, targets: list[str], dry_run: bool) -> None:
    from traitctl.history_service import change_list

    changes = change_list(edit)
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "changed": edit.changed, "tenants": targets,
                       "event": event.id if event else None, "events": [event.id] if event else [],
                       "changes": changes, "diff": edit.diff() if dry_run else None})
    elif dry_run:
        show_diff(app_, edit)
    elif event is None:
        app_.out.success("No change: every tenant already has that value.")
    else:
        files = len({c["file"] for c in changes})
        app_.out.success(f"{key}: {len(changes)} tenant layer(s) changed in "
                         f"{files} file(s), {len(targets) - len(changes)} already as asked (event #{event.id}; "
                         f"`traitctl rollback {event.id}` undoes all).")


@app.command()
def validate(json: JsonOpt = False, no_source: bool = typer.Option(
        False, "--no-source", help="Do not scan the source for models (skips the 'unknown model' check).")) -> None:
    """Check every section (traits and schemas, operations, models, tenants, flags, jobs, schedule,
    events, health, telemetry, migration, inventory, export, ...) and unknown top-level keys; see
    docs/config.md "Validation". Exit 1 with the list of problems, 0 when clean."""
    from traitctl import validation_service

    app_ = app_for(json)
    cfg = app_.config(tenants="all")
    models = None if no_source else known_models(app_)
    problems = validation_service.check(app_, known_models=models)
    if app_.out.json_mode:
        app_.out.json({"valid": not problems, "problems": [p.as_json() for p in problems],
                       "models_checked": models is not None})
    else:
        for problem in problems:
            app_.out.line(problem.text())
        if not problems:
            app_.out.success(f"{cfg.main_file}: valid ({len(cfg.traits)} traits, {len(cfg.tenants)} tenants).")
    if problems:
        raise typer.Exit(1)


# -- views across tenants ----------------------------------------------------------------------------
#: the longest value shown in a matrix or diff cell (longer ones are elided; --json has them whole)
CELL_WIDTH = 32


def _elide(text: str, width: int = CELL_WIDTH) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _cell_text(cell) -> str:
    if not cell.found:
        return "(unset)"
    return f"{_elide(engine.format_value(cell.value))} ({cell.source})"


def _render_matrix(app_: App, grid) -> None:
    """One row per tenant and a column per key when that fits the terminal; else one row per
    tenant and key (a list layout of four columns, folded by Rich only when even that is too wide)."""
    if not grid.tenants:
        app_.out.success("No tenants: add one with `traitctl tenants add ID` (or a file config/tenants/<id>.toml).")
        return
    title = f"{grid.trait} across {len(grid.tenants)} tenants" + (f" for {grid.model}" if grid.model else "")
    caption = "value (source layer)"
    texts: dict[int, str] = {}  # tenants seeing the same value share a cell: format it once
    rows = [[tenant, *(texts.get(id(c)) or texts.setdefault(id(c), _cell_text(c)) for c in grid.row(i))]
            for i, tenant in enumerate(grid.tenants)]
    if app_.out.grid(["Tenant", *grid.keys], rows, title=title, caption=caption):
        return
    rows = [[tenant, c.key, _elide(engine.format_value(c.value)) if c.found else "(unset)", c.source or ""]
            for i, tenant in enumerate(grid.tenants) for c in grid.row(i)]
    if not app_.out.grid(["Tenant", "Key", "Value", "Source"], rows, title=title, caption=caption):
        app_.out.table(["Tenant", "Key", "Value", "Source"], rows, title=title, caption=caption)


def _side_text(side: dict) -> str:
    if not side["found"]:
        return "(unset)"
    return f"{_elide(engine.format_value(side['value']))} ({side['source']})"


def _render_diff(app_: App, doc: dict, environments: bool) -> None:
    left, right = doc["left"], doc["right"]
    if environments:
        names = ("this", "other")
        heading = f"{left['file']} against {right['file']}" + (f" (tenant {left['tenant']})" if left["tenant"] else "")
    else:
        names = (left["tenant"], right["tenant"])
        heading = f"tenant {names[0]} against tenant {names[1]}"
    if not doc["differences"]:
        app_.out.success(f"No differences: {heading}.")
        return
    rows = [[d["trait"], d["model"] or "-", *([d["tenant"] or "-"] if environments else []), d["key"],
             _side_text(d["left"]), _side_text(d["right"])] for d in doc["differences"]]
    columns = ["Trait", "Model", *(["Tenant"] if environments else []), "Key", names[0], names[1]]
    caption = f"{doc['count']} difference(s): {heading}; value (source layer)"
    if not app_.out.grid(columns, rows, caption=caption):
        app_.out.table(columns, rows, caption=caption)
