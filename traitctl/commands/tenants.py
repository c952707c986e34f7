"""``traitctl tenants``: list, add and remove tenants (in the main file or one file per tenant)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl import completion
from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunOpt, JsonOpt, YesOpt, app_for, command_line, confirm,
                                      event_ref, examples, record_edit, show_diff, store_first,
                                      write_document)
from traitctl.engine import config as engine
from traitctl.engine.errors import InputError, NotFound

app = typer.Typer(help="List, add and remove tenants.", no_args_is_help=True, add_completion=False,
                  context_settings=CONTEXT_SETTINGS,
                  epilog=examples("traitctl tenants list",
                                  "traitctl tenants add initech --name Initech --file --dry-run",
                                  "traitctl tenants remove globex --force --dry-run"))

NewTenantArg = Annotated[str, typer.Argument(metavar="TENANT", help="The new tenant's id: letters, digits, . _ and - "
                                                                    "(it may become tenants/<id>.toml).")]
TenantArg = Annotated[str, typer.Argument(metavar="TENANT", help="Tenant id.", autocompletion=completion.tenant_ids)]


def _count_overrides(doc) -> int:
    traits = doc.get("traits", {}) if doc else {}
    models = doc.get("models", {}) if doc else {}
    traits = traits if isinstance(traits, dict) else {}  # a wrong shape is `config validate`'s finding
    models = models if isinstance(models, dict) else {}
    return sum(len(v) for v in traits.values() if isinstance(v, dict)) + sum(
        len(values) for by_trait in models.values() if isinstance(by_trait, dict)
        for values in by_trait.values() if isinstance(values, dict))


@app.command("list")
def list_(json: JsonOpt = False) -> None:
    """List every tenant: id, name, where it is defined, and how many overrides it has."""
    app_ = app_for(json)
    cfg = app_.config(tenants="all")
    rows = [{"id": t.id, "name": (t.doc or {}).get("name"), "file": t.file, "overrides": _count_overrides(t.doc)}
            for t in sorted(cfg.tenants.values(), key=lambda t: t.id)]
    if app_.out.json_mode:
        app_.out.json({"tenants": rows})
    else:
        app_.out.table(["Tenant", "Name", "File", "Overrides"], [list(r.values()) for r in rows],
                       caption=f"{len(rows)} tenants")


@app.command()
def add(tenant: NewTenantArg, name: Optional[str] = typer.Option(None, help="Display name."),
        own_file: bool = typer.Option(False, "--file", help="Create tenants/<id>.toml instead of a table in the main file."),
        dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Add TENANT ([tenants.<id>] in the main file, or tenants/<id>.toml with --file)."""
    from traitctl.store import toml_file

    app_ = app_for(json)
    engine.check_new_tenant_id(tenant)
    cfg = app_.config()
    if tenant in cfg.tenants:
        raise InputError(f"Tenant '{tenant}' already exists in {cfg.tenants[tenant].file}.")
    display = name or tenant
    store_first(app_, dry_run)
    if own_file:
        path = toml_file.tenant_file(app_.settings.config_path, tenant)
        edit = toml_file.edit(path, [toml_file.Change(("name",), display)], create=True, dry_run=dry_run,
                              lock_timeout=app_.settings.lock_timeout)
    else:
        path = app_.settings.config_path
        edit = toml_file.edit(path, [toml_file.Change(("tenants", tenant, "name"), display)], dry_run=dry_run,
                              lock_timeout=app_.settings.lock_timeout,
                              check=lambda data: _refuse_existing(data, tenant))
    # a created file's text: its rollback deletes it only while it still holds just that
    _done(app_, edit, "tenant.add", tenant, dry_run, {"file_created": True, "text": edit.after} if own_file
          else {"file_created": False})


def _refuse_existing(data: dict, tenant: str) -> None:
    if tenant in data.get("tenants", {}):
        raise InputError(f"Tenant '{tenant}' already exists.")


@app.command()
def remove(tenant: TenantArg, force: bool = typer.Option(False, "--force", help="Remove even when it has overrides."),
           dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False) -> None:
    """Remove TENANT and its overrides (refused while it has overrides, unless --force; asks first,
    --yes off a terminal).

    The removed table is kept in history: `traitctl rollback EVENT` restores it.
    """
    from traitctl.store import toml_file

    app_ = app_for(json)
    engine.check_tenant_id(tenant)
    cfg = app_.config(tenants={tenant})
    source = cfg.tenants.get(tenant)
    if source is None:
        raise NotFound("tenant", tenant, cfg.tenants)
    overrides = _count_overrides(source.doc)
    if overrides and not force:
        raise InputError(f"Tenant '{tenant}' has {overrides} overrides in {source.file}; pass --force to remove it "
                         "with them (history keeps a copy for rollback).", exit_code=1)
    if not dry_run:
        confirm(f"Remove tenant {tenant}" + (f" and its {overrides} overrides" if overrides else "")
                + (f" ({source.file} is deleted)?" if not source.prefix else "?"), yes)
    store_first(app_, dry_run)
    if source.prefix:
        edit = toml_file.edit(toml_file.Path(source.file), [toml_file.Change(source.prefix, toml_file.ABSENT)],
                              dry_run=dry_run, lock_timeout=app_.settings.lock_timeout)
        _done(app_, edit, "tenant.remove", tenant, dry_run, {"file_deleted": False})
    else:
        _remove_file(app_, toml_file.Path(source.file), tenant, dry_run)


def _remove_file(app_, path, tenant: str, dry_run: bool) -> None:
    import os

    from traitctl.store import toml_file

    with toml_file.lock_for(path, app_.settings.lock_timeout):
        text = toml_file.read_text(path)
        if not dry_run:
            os.unlink(path)
    edit = toml_file.Edit(path, text, "", [])
    events = []
    if not dry_run:
        try:
            events = [app_.store().events.record(
                kind="tenant.remove", actor=app_.settings.actor, command=command_line(), file=str(path), path=(),
                tenant=tenant, data={"file_deleted": True, "text": text})]
        except Exception as exc:  # noqa: BLE001 - an unrecorded removal would lose the file for good
            with toml_file.lock_for(path, app_.settings.lock_timeout):
                if not path.exists():
                    toml_file.write_atomic(path, text)
            from traitctl.history_service import unrecorded

            raise unrecorded([], exc) from None
    _report(app_, edit, events, dry_run, tenant, None, f"Removed tenant {tenant} ({path} deleted)")


def _done(app_, edit, kind: str, tenant: str, dry_run: bool, data: dict) -> None:
    events = [] if dry_run else record_edit(app_, kind, edit, tenant=tenant, data=data)
    verb = "Added" if kind == "tenant.add" else "Removed"
    after = {"id": tenant, "name": _name_in(edit, tenant), "file": str(edit.file)} if kind == "tenant.add" else None
    _report(app_, edit, events, dry_run, tenant, after, f"{verb} tenant {tenant} in {edit.file}")


def _name_in(edit, tenant: str):
    from traitctl.store.toml_file import parse

    doc = parse(edit.after, edit.file)
    return doc.get("name") if "tenants" not in doc else doc["tenants"].get(tenant, {}).get("name")


def _report(app_, edit, events, dry_run: bool, tenant: str, after, message: str) -> None:
    """The answer of a tenant write: the diff when dry, the tenant and event ids with --json, else a sentence."""
    if app_.out.json_mode:
        app_.out.json(write_document(edit, events, dry_run, tenant=after, removed=None if after else tenant,
                                     message=message))
    elif dry_run:
        show_diff(app_, edit)
    else:
        app_.out.success(message + event_ref(events) + ".")
