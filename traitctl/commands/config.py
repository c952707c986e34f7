"""``traitctl config``: read, explain, edit and validate the layered trait configuration."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from traitctl.commands.common import (DryRunOpt, JsonOpt, ModelOpt, OptTraitOpt, TenantOpt, TraitOpt, app_for,
                                      record_edit, show_diff)
from traitctl.context import App
from traitctl.engine import config as engine
from traitctl.engine.errors import InputError, NotFound, ValidationError

app = typer.Typer(help="Read, explain, edit and validate trait configuration.", no_args_is_help=True)


def _target(app_: App, trait: Optional[str], model: Optional[str], tenant: Optional[str], *, known_only: bool = False):
    """Load the configuration with the tenant asked for and match the names the user typed."""
    if tenant is not None:
        engine.check_tenant_id(tenant)
    cfg = app_.config(tenants={tenant} if tenant is not None else None)
    if trait is not None:
        trait = engine.match_name("trait", trait, cfg.traits)
    if tenant and tenant not in cfg.tenants:
        raise NotFound("tenant", tenant, cfg.tenants)
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
def explain(key: str, trait: TraitOpt, model: ModelOpt = None, tenant: TenantOpt = None,
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


@app.command()
def show(trait: OptTraitOpt = None, model: ModelOpt = None, tenant: TenantOpt = None, json: JsonOpt = False) -> None:
    """Show the effective configuration (value and source of every key) as a table or JSON."""
    app_ = app_for(json)
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


@app.command("set")
def set_(key: str, value: str, trait: TraitOpt, model: ModelOpt = None, tenant: TenantOpt = None,
         dry_run: DryRunOpt = False, json: JsonOpt = False,
         force: bool = typer.Option(False, "--force", help="Write a --model override even for a trait the "
                                    "model does not use in the code.")) -> None:
    """Set KEY to VALUE (TOML syntax: 42, true, "text", [1, 2]) in the layer chosen by --model/--tenant.

    The value is checked against the trait's schema before anything is written; the change is
    recorded in history and can be undone with `traitctl rollback EVENT`. With --model, the model
    must use the trait (as the inventory of the configured sources says) unless --force.
    """
    _write(app_for(json), key, value, trait, model, tenant, dry_run, force=force)


@app.command()
def unset(key: str, trait: TraitOpt, model: ModelOpt = None, tenant: TenantOpt = None, dry_run: DryRunOpt = False,
          json: JsonOpt = False) -> None:
    """Remove KEY from the layer chosen by --model/--tenant (the next layer then applies)."""
    _write(app_for(json), key, None, trait, model, tenant, dry_run)


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
