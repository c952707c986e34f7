"""The Starlette app factory: pages (HTML views of the ``/api/…`` documents), ``/health``,
``/metrics`` and, with ``allow_writes``, the POST forms.

Example usage::

    from traitctl.web.app import ServeOptions, create_app
    app = create_app(ServeOptions(token="secret", config="config/traits.toml"))
"""

from __future__ import annotations

import asyncio
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from traitctl.engine.errors import Conflict, LockTimeout, NotFound, StoreError, TraitctlError
from traitctl.web import charts, documents, security

HERE = Path(__file__).resolve().parent
#: Calls between two full garbage collections of the backend (see :meth:`Backend.call`).
COLLECT_EVERY = 25
PAGES = [("/", "Overview"), ("/traits", "Traits and models"), ("/flags", "Flags"), ("/jobs", "Jobs and workers"),
         ("/charts", "Metrics"), ("/history", "History")]


@dataclass
class ServeOptions:
    """How ``traitctl serve`` runs.

    :param token: the secret every request must present.
    :param allow_writes: accept the POST forms (otherwise they answer 403).
    :param refresh: seconds between the pages' data refreshes.
    :param public_health: ``/health`` without a token.
    :param config: ``--config`` (``None``: found walking up from ``cwd``); ``store``/``queue`` likewise.
    :param actor: recorded in history for writes, as ``web:<actor>``.
    """

    token: str
    allow_writes: bool = False
    refresh: float = 5.0
    public_health: bool = False
    config: str | None = None
    store: str | None = None
    queue: str | None = None
    actor: str = "traitctl"
    cwd: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class Backend:
    """The traitctl side: one :class:`~traitctl.context.App` (store kept open, configuration
    re-read on every call) used from one worker thread, so the event loop never blocks on it."""

    def __init__(self, options: ServeOptions) -> None:
        from traitctl.context import App, GlobalOptions
        from traitctl.output import Output

        env = dict(options.env)
        from traitctl.settings import MAX_ACTOR

        env["TRAITCTL_ACTOR"] = f"web:{options.actor}"[:MAX_ACTOR]
        self.app = App(options=GlobalOptions(config=options.config, store=options.store, queue=options.queue,
                                             json=True),
                       env=env, cwd=options.cwd, out=Output(json_mode=True, stdout=io.StringIO(),
                                                             stderr=io.StringIO()))
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="traitctl-web")
        self._calls = 0

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            self._reload()
            try:
                return fn(self.app, *args, **kwargs)
            finally:
                self._collect()

        return await asyncio.get_running_loop().run_in_executor(self.pool, run)

    def _collect(self) -> None:
        """A full garbage collection every :data:`COLLECT_EVERY` calls. An inventory scan leaves its
        garbage (reference cycles, ~300 kB a page) in the collector's oldest generation, which
        Python collects only when that generation has grown by a quarter: a server scanning on
        every page grew by hundreds of megabytes between two such collections (a collection costs
        about as much as a page, hence not after every call)."""
        self._calls += 1
        if self._calls >= COLLECT_EVERY:
            self._calls = 0
            import gc

            gc.collect()

    def _reload(self) -> None:
        """Re-read the configuration (and the store and queue URLs in it) before each call; the
        store stays open unless its URL changed."""
        app = self.app
        before = app._settings
        app.reset_config()
        app._settings = None
        if before is not None and app._store is not None and app.settings.store_url != before.store_url:
            app._store.close()
            app._store = None

    def close(self) -> None:
        self.pool.submit(self.app.close).result()
        self.pool.shutdown()


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["chart"] = charts.build
    env.filters["number"] = _number
    return env


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def _status(exc: TraitctlError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, (LockTimeout, StoreError)):
        return 503
    return 400


def create_app(options: ServeOptions) -> Starlette:
    """The ASGI app of ``traitctl serve``."""
    backend = Backend(options)
    env = _templates()
    csrf = security.csrf_token(options.token)

    def render(request: Request, template: str, doc: dict, status: int = 200) -> Response:
        fragment = request.headers.get("hx-request") == "true"
        context = {"doc": doc, "request": request, "pages": PAGES, "csrf": csrf, "writes": options.allow_writes,
                   "refresh": options.refresh, "path": request.url.path, "notice": request.query_params.get("notice"),
                   "page_url": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
                   "fragment": f"fragments/{template}", "title": _title(request.url.path)}
        name = f"fragments/{template}" if fragment else template
        response = HTMLResponse(env.get_template(name).render(context), status_code=status)
        response.headers["vary"] = "HX-Request"
        return response

    def error(request: Request, exc: TraitctlError, api: bool) -> Response:
        status = _status(exc)
        if api:
            return JSONResponse({"error": exc.message}, status_code=status)
        return HTMLResponse(env.get_template("error.html").render(
            {"message": exc.message, "status": status, "pages": PAGES, "path": request.url.path}), status_code=status)

    def page(template: str, build: Callable[[Request], tuple[Callable, tuple, dict]]):
        async def html(request: Request) -> Response:
            try:
                fn, args, kwargs = build(request)
                doc = await backend.call(fn, *args, **kwargs)
            except TraitctlError as exc:
                return error(request, exc, api=False)
            return render(request, template, doc)

        async def api(request: Request) -> Response:
            try:
                fn, args, kwargs = build(request)
                doc = await backend.call(fn, *args, **kwargs)
            except TraitctlError as exc:
                return error(request, exc, api=True)
            return _json(doc)

        return html, api

    q = _query
    views = {
        "": ("overview.html", lambda r: (documents.overview, (), {})),
        "traits": ("traits.html", lambda r: (documents.traits, (), {"tenant": q(r, "tenant")})),
        "trait": ("trait.html", lambda r: (documents.trait, (q(r, "name") or "",), {"tenant": q(r, "tenant")})),
        "model": ("model.html", lambda r: (documents.model, (q(r, "name") or "",), {"tenant": q(r, "tenant")})),
        "flags": ("flags.html", lambda r: (documents.flags, (), {})),
        "flags/eval": ("eval.html", lambda r: (documents.evaluate, (q(r, "flag") or "", q(r, "user"),
                                                                   q(r, "tenant")), {})),
        "jobs": ("jobs.html", lambda r: (documents.jobs, (), {})),
        "charts": ("charts.html", lambda r: (documents.metrics, (), {"since": q(r, "since") or "1h",
                                                                    "trait": q(r, "trait")})),
        "history": ("history.html", lambda r: (documents.history, (), {
            "trait": q(r, "trait"), "tenant": q(r, "tenant"), "kind": q(r, "kind"), "since": q(r, "since"),
            "limit": _limit(q(r, "limit"))})),
    }
    routes: list = []
    for path, (template, build) in views.items():
        html, api = page(template, build)
        routes.append(Route("/" + path, html, methods=["GET"]))
        routes.append(Route("/api/" + (path or "overview"), api, methods=["GET"]))

    async def health(request: Request) -> Response:
        doc = await backend.call(documents.health)
        return _json(doc, status=503 if doc["status"] == "fail" else 200)

    async def prometheus(request: Request) -> Response:
        from traitctl.metrics_service import prometheus_text

        text = await backend.call(lambda app: prometheus_text(app.store().metrics))
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    routes += [Route("/health", health, methods=["GET"]), Route("/metrics", prometheus, methods=["GET"])]
    from traitctl.web import writes

    routes += writes.routes(backend, options, csrf, error)
    routes.append(Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"))
    middleware = [Middleware(security.Guard, token=options.token, public_health=options.public_health)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.backend = backend
    return app


def _title(path: str) -> str:
    for prefix, title in sorted(PAGES, key=lambda p: -len(p[0])):
        if path == prefix or (prefix != "/" and path.startswith(prefix)):
            return title
    return {"/trait": "Trait", "/model": "Model"}.get(path, "traitctl")


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def _limit(text: str | None) -> int:
    from traitctl.engine.errors import InputError

    if text is None:
        return 50
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1000:  # "²" is a digit int() refuses
        raise InputError(f"limit {text!r} is not a whole number from 1 to 1000.")
    return int(text)


def _json(doc: Any, status: int = 200) -> Response:
    import orjson

    return Response(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_default),
                    status_code=status, media_type="application/json")


def _default(value: Any) -> Any:
    from traitctl.output import to_jsonable

    if hasattr(value, "isoformat"):
        return value.isoformat()
    converted = to_jsonable(value)
    if converted is value:
        return str(value)
    return converted
