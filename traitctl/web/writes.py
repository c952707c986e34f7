"""The POST forms (only with ``--allow-writes``): flag enable/disable/rollout/override, job
retry/cancel, rollback of an event. Each runs the same middle-tier code as the CLI (lock,
validation, history with the actor ``web:<name>``) and needs the CSRF token."""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from traitctl.engine.errors import InputError, TraitctlError
from traitctl.web import security


def _command(request: Request) -> str:
    return f"traitctl serve: POST {request.url.path}"


def flag_set(app: Any, name: str, values: dict, tenant: str | None, command: str) -> str:
    """``flags set NAME`` (enable/disable/percentage), optionally for a tenant."""
    from traitctl import flags_service
    from traitctl.engine.config import check_tenant_id

    flags_service.get(app.main_doc(), name)
    if tenant:
        check_tenant_id(tenant)
        known = app.config("all").tenants
        if tenant not in known:
            from traitctl.engine.errors import NotFound

            raise NotFound("tenant", tenant, known)
    scope = ("tenants", tenant) if tenant else ()
    edit = flags_service.write(app.config_path, name, {scope + (k,): v for k, v in values.items()},
                               lock_timeout=app.settings.lock_timeout)
    events = flags_service.record(app.store(), "flag.set", edit, actor=app.settings.actor, command=command,
                                  flag=name, tenant=tenant)
    if not edit.changed:
        return f"No change: flag {name} already has that value."
    return f"Flag {name}{f' (tenant {tenant})' if tenant else ''} updated" + (
        f" (event #{events[0].id})." if events else ".")


def flag_override(app: Any, name: str, user: str, on: bool, ttl: str, command: str) -> str:
    """``flags override NAME --user U --on/--off --ttl T``."""
    from traitctl import flags_service
    from traitctl.engine import rollout

    flags_service.get(app.main_doc(), name)
    if not user:
        raise InputError("Give the user id to override the flag for.")
    now = flags_service.utcnow()
    event = flags_service.set_override(app.store(), name, user, on, lasting=rollout.parse_duration(ttl), now=now,
                                       actor=app.settings.actor, command=command)
    return f"{name} is {'on' if on else 'off'} for user {user} (event #{event.id})."


def job_action(app: Any, job_id: int, action: str, command: str) -> str:
    """``jobs retry ID`` / ``jobs cancel ID``."""
    from traitctl.engine.jobs import parse_jobs_settings
    from traitctl.jobs.service import Jobs

    conf = parse_jobs_settings(app.config().section("jobs"))
    service = Jobs(app.store(), app.settings.queue_url, actor=app.settings.actor, command=command,
                   default_queue=conf.queue)
    job = service.retry(job_id) if action == "retry" else service.cancel(job_id)
    return f"Job {job.id} {'queued again' if action == 'retry' else 'cancelled'}."


def rollback(app: Any, event_id: int, force: bool, command: str) -> str:
    """``rollback EVENT [--force]``."""
    from traitctl.history_service import rollback as undo

    done = undo(app, event_id, actor=app.settings.actor, command=command, force=force)
    return done.message + (f" (event #{done.events[0].id})." if done.events else ".")


def _percentage(text: str) -> int:
    from traitctl.flags_service import parse_percentage

    return parse_percentage(text)


def _id(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:  # "²" is a digit int() refuses
        raise InputError(f"{what} {text!r} is not a number.")
    return int(text)


def routes(backend: Any, options: Any, csrf: str, error: Callable) -> list[Route]:
    """The write routes; each answers 403 unless ``options.allow_writes`` and the CSRF token match."""

    def post(back: str, action: Callable[[Request, dict], tuple[Callable, tuple]]):
        async def endpoint(request: Request) -> Response:
            wants_json = "application/json" in request.headers.get("accept", "")
            if not options.allow_writes:
                return _refuse("Writes are off: restart with traitctl serve --allow-writes.", wants_json)
            form = dict(await request.form())
            given = form.get("csrf") or request.headers.get("x-csrf-token")
            if request.scope.get("state", {}).get("auth") != "bearer" and not security.same(given, csrf):
                return _refuse("Missing or wrong CSRF token: reload the page and submit the form again.", wants_json)
            try:
                fn, args = action(request, form)
                message = await backend.call(fn, *args, _command(request))
            except TraitctlError as exc:
                return error(request, exc, api=wants_json)
            if wants_json:
                return JSONResponse({"message": message})
            return RedirectResponse(back + "?" + urlencode({"notice": message}), status_code=303)

        return endpoint

    p = request_param
    table = [
        ("/flags/{name}/enable", "/flags", lambda r, f: (flag_set, (p(r), {"enabled": True}, f.get("tenant") or None))),
        ("/flags/{name}/disable", "/flags", lambda r, f: (flag_set, (p(r), {"enabled": False},
                                                                     f.get("tenant") or None))),
        ("/flags/rollout", "/flags", lambda r, f: (flag_set, (
            str(f.get("flag", "")), {"enabled": True, "percentage": _percentage(str(f.get("percentage", "")))},
            f.get("tenant") or None))),
        ("/flags/override", "/flags", lambda r, f: (flag_override, (
            str(f.get("flag", "")), str(f.get("user", "")).strip(), f.get("value") == "on", str(f.get("ttl") or "30d")))),
        ("/jobs/{name}/retry", "/jobs", lambda r, f: (job_action, (_id(p(r), "Job"), "retry"))),
        ("/jobs/{name}/cancel", "/jobs", lambda r, f: (job_action, (_id(p(r), "Job"), "cancel"))),
        ("/history/{name}/rollback", "/history", lambda r, f: (rollback, (_id(p(r), "Event"),
                                                                          f.get("force") == "on"))),
    ]
    return [Route(path, post(back, action), methods=["POST"]) for path, back, action in table]


def request_param(request: Request) -> str:
    return request.path_params["name"]


def _refuse(message: str, wants_json: bool) -> Response:
    if wants_json:
        return JSONResponse({"error": message}, status_code=403)
    return PlainTextResponse(message, status_code=403)
