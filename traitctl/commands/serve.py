"""``traitctl serve``: the dashboard and health endpoint as a local web app (needs ``traitctl[web]``)."""

from __future__ import annotations

from typing import Annotated

import typer

from traitctl.commands.common import CONTEXT_SETTINGS, app_for, examples
from traitctl.engine.errors import InputError

app = typer.Typer(add_completion=False, context_settings=CONTEXT_SETTINGS)

INSTALL_HINT = ("traitctl serve needs the web extra: pip install 'traitctl[web]' "
                "(Starlette, uvicorn, Jinja2, python-multipart).")


@app.command("serve", epilog=examples("traitctl serve", "traitctl serve --port 9000 --refresh 10s",
                                     "traitctl serve --allow-writes --public-health"))
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (a non-loopback one is reachable from "
                                                     "other machines: a warning is printed).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8765,
    allow_writes: Annotated[bool, typer.Option("--allow-writes", help="Accept the forms that change flags, "
                                               "jobs and configuration (off: read-only).")] = False,
    refresh: Annotated[str, typer.Option("--refresh", help="How often pages refresh their data (5s, 1m).")] = "5s",
    public_health: Annotated[bool, typer.Option("--public-health", help="Serve /health without the token "
                                                "(for load balancers); everything else still needs it.")] = False,
) -> None:
    """Serve the dashboard (overview, traits, flags, jobs, metrics, history), /health and /metrics.

    Every request needs the token printed in the login URL (or TRAITCTL_SERVE_TOKEN, or the header
    Authorization: Bearer TOKEN).
    """
    from traitctl.engine.timeparse import duration_seconds

    state = app_for()
    seconds = duration_seconds(refresh, bare=True)
    if seconds is None or seconds < 1:
        raise InputError(f"--refresh {refresh!r} is not a duration of at least 1s (e.g. 5s, 1m).")
    try:
        import uvicorn

        from traitctl.web import security
        from traitctl.web.app import ServeOptions, create_app
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    token = state.env.get("TRAITCTL_SERVE_TOKEN") or security.new_token()
    if len(token) < 16:
        raise InputError("TRAITCTL_SERVE_TOKEN is shorter than 16 characters; use a long random value.")
    state.config_path  # fail now (exit 2) when there is no configuration, not on the first request
    options = ServeOptions(token=token, allow_writes=allow_writes, refresh=seconds, public_health=public_health,
                           config=state.options.config, store=state.options.store, queue=state.options.queue,
                           actor=state.settings.actor, cwd=state.cwd, env=dict(state.env))
    web = create_app(options)
    if not security.is_loopback(host):
        state.out.warn(f"--host {host} is not a loopback address: the dashboard is reachable from other machines "
                       "(still behind the token; use TLS in front of it).")
    shown = f"[{host}]" if ":" in host else host
    login = f"http://{shown}:{port}/" + ("" if "TRAITCTL_SERVE_TOKEN" in state.env else f"?token={token}")
    state.out.stderr.write(f"traitctl serve: {'writes allowed' if allow_writes else 'read-only'}; open {login}"
                           + (" (token from TRAITCTL_SERVE_TOKEN: add ?token=… once)\n"
                              if "TRAITCTL_SERVE_TOKEN" in state.env else "\n"))
    state.out.stderr.flush()
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    finally:
        web.state.backend.close()
