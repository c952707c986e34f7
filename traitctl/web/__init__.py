"""``traitctl serve``: the dashboard and health endpoint as a local web app (Starlette, Jinja2).

Every page is a view of a JSON document also served under ``/api/…``; the documents come from the
same middle-tier functions as the CLI's ``--json`` (:mod:`traitctl.web.documents`). Security by
default: loopback bind, a token on every request, a strict Content-Security-Policy, autoescaped
templates, writes only with ``--allow-writes`` and a CSRF token on every form
(:mod:`traitctl.web.security`).
"""
