"""Authentication (token: login URL -> cookie, or ``Authorization: Bearer``), CSRF tokens and the
security headers of every response, as one pure ASGI middleware."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

COOKIE = "traitctl_session"

#: No inline script or style anywhere; scripts and styles only from this server's /static/.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
           (b"cache-control", b"no-store"), (b"cross-origin-opener-policy", b"same-origin")]


def new_token() -> str:
    """A random token for one server run (192 bits)."""
    return secrets.token_urlsafe(24)


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def csrf_token(token: str) -> str:
    """The CSRF token for forms: derived from the session token, so it cannot be guessed without it."""
    return hmac.new(token.encode(), b"traitctl-csrf", hashlib.sha256).hexdigest()


def session_value(token: str) -> str:
    """What the cookie holds: derived from the token, so the cookie never carries the token itself."""
    return hmac.new(token.encode(), b"traitctl-session", hashlib.sha256).hexdigest()


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI middleware: every request must carry the token (cookie, bearer header or a login
    ``?token=``), except ``/health`` with ``public_health``; every response gets the security headers.

    :param token: the server's token.
    :param public_health: serve ``/health`` without a token.
    """

    def __init__(self, app: Any, token: str, public_health: bool = False) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)
        self.public_health = public_health

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = _with_headers(send)
        path = scope.get("path", "")
        if self.public_health and path == "/health":
            return await self.app(scope, receive, send)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if "token" in query and scope["method"] in ("GET", "HEAD"):
            return await self._login(scope, query, send)
        auth = self._authenticated(scope)
        if auth is None:
            return await _unauthorized(send)
        scope.setdefault("state", {})["auth"] = auth
        await self.app(scope, receive, send)

    def _authenticated(self, scope: dict) -> str | None:
        headers = dict(scope.get("headers") or [])
        bearer = headers.get(b"authorization", b"").decode("latin-1")
        if bearer.lower().startswith("bearer ") and same(bearer[7:].strip(), self.token):
            return "bearer"
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:  # noqa: BLE001 - a malformed cookie header is just no session
            return None
        morsel = cookie.get(COOKIE)
        return "cookie" if morsel is not None and same(morsel.value, self.session) else None

    async def _login(self, scope: dict, query: dict, send: Any) -> None:
        if not same(query.pop("token"), self.token):
            return await _unauthorized(send)
        rest = urlencode(query)
        location = login_target(scope.get("path", "/")) + (f"?{rest}" if rest else "")
        cookie = f"{COOKIE}={self.session}; HttpOnly; SameSite=Strict; Path=/"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                                (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def login_target(path: str) -> str:
    """Where the login URL sends the browser: its own path on this server, percent-encoded (a path
    of ``\r\n`` or non-ASCII characters is no valid header) and with one leading ``/`` (``//host/``
    would lead to another site)."""
    return "/" + quote(path, safe="/:@!$&'()*+,;=-._~").lstrip("/")


def _with_headers(send: Any) -> Any:
    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in present]
        await send(message)

    return wrapped


_UNAUTHORIZED = (b"<!doctype html><title>traitctl: log in</title><h1>401: token needed</h1>"
                 b"<p>Open the login URL that <code>traitctl serve</code> printed (it ends with "
                 b"<code>?token=...</code>), or send <code>Authorization: Bearer TOKEN</code>.</p>")


async def _unauthorized(send: Any) -> None:
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"www-authenticate", b'Bearer realm="traitctl"'),
                            (b"content-length", str(len(_UNAUTHORIZED)).encode())]})
    await send({"type": "http.response.body", "body": _UNAUTHORIZED})
