"""``traitctl serve`` through Starlette's test client: routes, auth, CSRF, escaping, the read-only
default, /health status codes and /metrics as Prometheus parses it."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.web.conftest import TOKEN, calm, login

PAGES = ["/", "/traits", "/trait?name=HasUuid", "/model?name=Invoice&tenant=acme", "/flags",
         "/flags/eval?flag=trait_caching&user=42&tenant=acme", "/jobs", "/charts?since=1h", "/history?kind=flag.*"]
APIS = ["/api/overview", "/api/traits", "/api/trait?name=HasUuid", "/api/model?name=Invoice", "/api/flags",
        "/api/flags/eval?flag=trait_caching&user=42", "/api/jobs", "/api/charts", "/api/history"]
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def _record_metrics(cli) -> None:
    now = time.time()
    lines = "".join(json.dumps({"name": "trait.Cacheable.hits", "value": 3 + k, "kind": "counter",
                                "ts": now - 60 * k, "labels": {"trait": "Cacheable"}}) + "\n" for k in range(10))
    assert cli("metrics", "ingest", "-", input=lines).exit_code == 0


def test_every_request_needs_the_token(make_client):
    client = make_client()
    for path in ["/", "/api/overview", "/health", "/metrics", "/static/app.css", "/flags"]:
        response = client.get(path)
        assert response.status_code == 401, path
        assert "token" in response.text
    assert client.get("/", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    client.cookies.set("traitctl_session", TOKEN)
    assert client.get("/").status_code == 401  # the cookie holds a value derived from the token, not the token


def test_login_url_sets_a_strict_httponly_cookie_and_drops_the_token(make_client):
    client = make_client()
    response = client.get(f"/flags?token={TOKEN}&x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/flags?x=1"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    client.cookies.update(response.cookies)
    assert client.get("/flags").status_code == 200


def test_bearer_token_and_public_health(make_client):
    client = make_client()
    assert client.get("/api/flags", headers=BEARER).status_code == 200
    public = make_client(public_health=True)
    assert public.get("/health").status_code in (200, 503)
    assert public.get("/api/overview").status_code == 401
    assert public.get("/").status_code == 401


def test_every_page_and_api_document(make_client, cli):
    _record_metrics(cli)
    assert cli("flags", "rollout", "trait_caching", "30").exit_code == 0
    client = make_client()
    login(client)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert "<h1>" in response.text and 'hx-trigger="every 5.0s"' in response.text, path
        fragment = client.get(path, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text, path
    for path in APIS:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"] == "application/json"
    charts = client.get("/api/charts").json()
    chart = next(c for c in charts["charts"] if c["name"] == "trait.Cacheable.hits")
    assert sum(p["value"] for p in chart["points"]) == sum(3 + k for k in range(10))
    assert chart["trend"]["forecast"]["next_value"] is not None
    assert "<polyline" in client.get("/charts").text and 'class="trend"' in client.get("/charts").text


def test_api_documents_are_the_cli_json(make_client, cli):
    _record_metrics(cli)
    client = make_client()
    login(client)
    pairs = [("/api/flags", ["flags", "list", "--json"], None),
             ("/api/flags/eval?flag=trait_caching&user=42&tenant=acme",
              ["flags", "eval", "trait_caching", "--user", "42", "--tenant", "acme", "--json"], None),
             ("/api/traits", ["inventory", "--json"], ("traits", "models", "audit", "summary")),
             ("/api/model?name=Invoice", ["inventory", "--model", "Invoice", "--json"], ("model", "traits"))]
    for path, argv, keys in pairs:
        web = client.get(path).json()
        shell = json.loads(cli(*argv).stdout)
        for key in keys or shell:
            if key == "flags":  # each web row adds settings, active overrides and guard evidence
                assert [{k: row[k] for k in cli_row} for row, cli_row in zip(web[key], shell[key])] == shell[key]
            else:
                assert web[key] == shell[key], (path, key)
    explain = client.get("/api/trait?name=Cacheable&tenant=acme").json()["explain"]["ttl"]
    shell = json.loads(cli("config", "explain", "ttl", "--trait", "Cacheable", "--tenant", "acme", "--json").stdout)
    assert explain == shell
    dashboard = client.get("/api/charts?since=1h").json()
    shell = json.loads(cli("metrics", "--since", "1h", "--json").stdout)
    assert dashboard["traits"] == shell["traits"]


def test_names_from_code_and_configuration_are_escaped(make_client, project: Path, config_file: Path):
    evil = "<script>alert(1)</script>"
    folder = project / "examples" / "laravel-app" / "app" / "Models" / "Traits" / "<script>x"
    folder.mkdir()
    (folder / "<img src=x onerror=alert(1)>.php").write_text(
        "<?php\nnamespace App\\Models\\Traits;\n\ntrait Sneaky { public function ok() {} }\n")
    text = config_file.read_text()
    text = text.replace('description = "Cache trait query results"', f'description = "{evil}"')
    config_file.write_text(text + f'\n[traits."{evil}"]\nenabled = true\n')
    client = make_client()
    login(client)
    for path in ["/traits", "/flags", "/trait?name=Sneaky"]:
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;img src=x" in page, path
    assert re.findall(r"<script[^>]*>", client.get("/flags").text) == ['<script src="/static/htmx.min.js">']


def test_security_headers(make_client):
    client = make_client()
    login(client)
    headers = client.get("/").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/htmx.min.js").status_code == 200
    page = client.get("/flags").text
    assert " style=" not in page and "<style" not in page and "onclick" not in page


def test_writes_are_refused_by_default(make_client, config_file: Path):
    client = make_client()
    login(client)
    before = config_file.read_text()
    response = client.post("/flags/trait_caching/disable", data={"csrf": "x"})
    assert response.status_code == 403 and "--allow-writes" in response.text
    assert client.get("/flags/trait_caching/disable").status_code == 405
    assert client.post("/jobs/1/retry").status_code == 403
    assert client.post("/history/1/rollback").status_code == 403
    assert config_file.read_text() == before
    assert "<form method=\"post\"" not in client.get("/flags").text


def _csrf(client, path: str = "/flags") -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text).group(1)


def test_csrf_token_is_required(make_client, config_file: Path):
    client = make_client(allow_writes=True)
    login(client)
    before = config_file.read_text()
    assert client.post("/flags/trait_caching/disable").status_code == 403
    assert client.post("/flags/trait_caching/disable", data={"csrf": "0" * 64}).status_code == 403
    assert config_file.read_text() == before
    response = client.post("/flags/trait_caching/disable", data={"csrf": _csrf(client)})
    assert response.status_code == 303 and response.headers["location"].startswith("/flags?notice=")
    assert "enabled = false" in config_file.read_text().split("[flags.trait_caching]")[1].split("[")[0]


def test_writes_go_through_the_cli_code_and_history(make_client, cli, config_file: Path):
    client = make_client(allow_writes=True)
    login(client)
    token = _csrf(client)
    assert client.post("/flags/rollout", data={"csrf": token, "flag": "trait_caching",
                                               "percentage": "40"}).status_code == 303
    bad = client.post("/flags/rollout", data={"csrf": token, "flag": "trait_caching", "percentage": "140"})
    assert bad.status_code == 400 and "140" in bad.text
    missing = client.post("/flags/rollout", data={"csrf": token, "flag": "nope", "percentage": "5"})
    assert missing.status_code == 404
    assert client.post("/flags/override", data={"csrf": token, "flag": "trait_caching", "user": "7",
                                                "value": "on", "ttl": "1d"}).status_code == 303
    events = json.loads(cli("history", "--json").stdout)["events"]
    assert {e["actor"] for e in events} == {"web:tester"}
    assert events[0]["kind"] == "flag.override"
    rolled = next(e for e in events if e["kind"] == "flag.set" and e["path"][-1] == "percentage")
    assert rolled["after"] == "40" and "percentage = 40" in config_file.read_text()
    response = client.post(f"/history/{rolled['id']}/rollback", data={"csrf": token})
    assert response.status_code == 303
    assert "percentage = 25" in config_file.read_text().split("[flags.trait_caching]")[1]
    assert json.loads(cli("history", "--json").stdout)["events"][0]["kind"] == "rollback"
    assert client.post("/jobs/999/retry", data={"csrf": token}).status_code == 404
    bearer = make_client(allow_writes=True)  # bearer clients are not a browser: no CSRF token needed
    assert bearer.post("/flags/trait_caching/disable", headers={**BEARER, "Accept": "application/json"}).json()


def test_health_is_200_when_healthy_and_503_when_a_check_fails(make_client, cli, config_file: Path):
    calm(config_file)
    assert cli("flags", "rollout", "trait_caching", "30").exit_code == 0  # a history event
    _record_metrics(cli)
    from traitctl.store.db import Store

    import datetime as dt

    from traitctl.engine.workers import WorkerBeat

    store = Store.open(f"sqlite:///{config_file.parent / '.traitctl' / 'traitctl.db'}")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    store.workers.beat(WorkerBeat("w1", "host", 1, "idle", "default", now, now))
    store.close()
    client = make_client()
    response = client.get("/health", headers=BEARER)
    doc = response.json()
    assert response.status_code == 200, doc
    assert set(doc) == {"status", "checks", "timestamp"} and doc["status"] in ("ok", "warn")
    config_file.write_text(config_file.read_text().replace('queue = ""', 'queue = "redis://127.0.0.1:1/0"', 1))
    failing = client.get("/health", headers=BEARER)
    assert failing.status_code == 503
    assert failing.json()["checks"]["queue"]["status"] == "fail"


def test_metrics_endpoint_is_prometheus_text(make_client, cli):
    from prometheus_client.parser import text_string_to_metric_families

    _record_metrics(cli)
    client = make_client()
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    family = next(f for f in families.values() if any(s.labels.get("trait") == "Cacheable" for s in f.samples))
    assert family.type == "counter"
    assert sum(s.value for s in family.samples if s.name.endswith("_total")) == sum(3 + k for k in range(10))
    assert response.text == cli("metrics", "export").stdout


def test_store_and_queue_urls_are_redacted(make_client, config_file: Path):
    config_file.write_text(config_file.read_text().replace(
        'queue = ""', 'queue = "redis://user:hunter2secret@127.0.0.1:1/0"', 1))
    client = make_client()
    login(client)
    page = client.get("/api/jobs")
    assert "hunter2secret" not in page.text
    jobs = client.get("/jobs")
    assert "hunter2secret" not in jobs.text


def test_bad_input_is_a_clear_error_not_a_traceback(make_client):
    client = make_client()
    login(client)
    response = client.get("/trait?name=NoSuchTrait")
    assert response.status_code == 404 and "NoSuchTrait" in response.text and "Traceback" not in response.text
    assert client.get("/api/history?limit=abc").status_code == 400
    assert client.get("/api/charts?since=soon").status_code == 400


def test_serve_without_the_web_extra_says_how_to_install(project: Path):
    import os
    import subprocess
    import sys

    blocker = project / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nclass B:\n    def find_spec(self, name, *a):\n"
        "        if name.split('.')[0] in ('uvicorn', 'starlette'):\n            raise ImportError(name)\n"
        "sys.meta_path.insert(0, B())\n")
    env = dict(os.environ, PYTHONPATH=str(blocker))
    proc = subprocess.run([sys.executable, "-m", "traitctl", "serve"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'traitctl[web]'" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_start_up_does_not_import_starlette():
    import subprocess
    import sys

    code = "import sys; from traitctl import cli; cli.app; print('starlette' in sys.modules, 'jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "False False"
