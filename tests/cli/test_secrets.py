"""No password of a store or queue URL is ever printed, logged or kept in history.

A Hypothesis property covers the URL shapes libpq and redis-py accept (user:password@, query
parameters, key=value connection strings, multi-host, rediss:// and unix://, percent-encoding);
real CLI runs with secret-bearing unreachable URLs check stdout, stderr, history and the store file.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings, strategies as st

from traitctl.settings import redact, redact_logs, redact_url

SECRET = "Zq9sEcr3tPw"

_SCHEMES = ["postgresql", "postgres", "redis", "rediss"]
_SECRET_CHARS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$&'()*+,;=:@/?#[] %~-._\\",
                        min_size=4, max_size=24)
_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)


@st.composite
def secret_urls(draw) -> tuple[str, str]:
    """(a connection string holding ``secret``, ``secret``) in one of the shapes the drivers accept."""
    secret = draw(_SECRET_CHARS)
    encoded = quote(secret, safe="")
    user = draw(_NAME)
    hosts = draw(st.lists(st.sampled_from(["127.0.0.1", "db.example", "[::1]", "h-2"]), min_size=1, max_size=3))
    ports = [draw(st.sampled_from(["", ":5432", ":1", ":6379"])) for _ in hosts]
    netloc = ",".join(h + p for h, p in zip(hosts, ports))
    scheme = draw(st.sampled_from(_SCHEMES))
    shape = draw(st.sampled_from(["userinfo", "userinfo-no-user", "query", "sslpassword", "unix", "dsn", "dsn-quoted",
                                       "dsn-escaped"]))
    extra = draw(st.sampled_from(["", "sslmode=require", "db=0", "connect_timeout=3"]))
    hole = "\x00"  # where the password goes: the rest of the URL must not contain it by chance
    value = encoded
    if shape == "userinfo":
        template = f"{scheme}://{user}:{hole}@{netloc}/db" + (f"?{extra}" if extra else "")
    elif shape == "userinfo-no-user":
        template = f"{scheme}://:{hole}@{netloc}/0"
    elif shape in ("query", "sslpassword"):
        key = "password" if shape == "query" else "sslpassword"
        query = "&".join(q for q in (extra, f"{key}={hole}", draw(st.sampled_from(["", "passfile=/etc/pgpass"]))) if q)
        template = f"{scheme}://{user}@{netloc}/db?{query}"
    elif shape == "unix":
        template = f"unix:///run/redis/redis.sock?db=0&password={hole}"
    else:
        if shape == "dsn-escaped":  # libpq reads a\ b as "a b" in an unquoted value
            value = "".join("\\" + c if c in " '\\" else c for c in secret)
        elif shape == "dsn-quoted" or any(c in secret for c in " '\\"):
            value = "'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"
        else:
            value = secret
        template = f"host={hosts[0].strip('[]')} port=5432 user={user} password={hole} dbname=db"
    rest = template.replace(hole, "")
    assume(secret not in rest and encoded not in rest and secret not in "***")
    url = template.replace(hole, value)
    return url, secret


@settings(max_examples=400, deadline=None)
@given(secret_urls())
def test_no_url_shape_lets_its_password_through(case):
    url, secret = case
    encoded = quote(secret, safe="")
    wrappers = ["{url}", "Cannot open the store at {url}: connection refused", "traitctl --store {url} config set x 1",
                "traitctl --store={url} history", "traitctl --store {url} history", "error: queue '{url}' refused"]
    # a driver quoting a part of the connection string back, in either form
    echoes = ['invalid connection option: missing "=" after "{secret}" in connection info string',
              "authentication failed ({encoded})"]
    assume(not any(secret in w.format(url="", secret="", encoded="") for w in wrappers + echoes))
    outputs = [redact(w.format(url=url)) for w in wrappers] + [redact_url(url), _command_line("--store", url, "history")]
    outputs += [redact(e.format(secret=secret, encoded=encoded), url) for e in echoes]
    for out in outputs:
        assert secret not in out and encoded not in out, (url, out)
        assert "***" in out, (url, out)


def _command_line(*argv: str) -> str:
    """What history records as the command for ``traitctl ARGV``."""
    from traitctl.commands.common import command_line

    saved = sys.argv
    sys.argv = ["traitctl", *argv]
    try:
        return command_line()
    finally:
        sys.argv = saved


@pytest.fixture(scope="module")
def memory_store():
    from traitctl.store.db import Store

    store = Store.open("sqlite:///:memory:")
    yield store
    store.close()


@settings(max_examples=60, deadline=None)
@given(secret_urls(), st.sampled_from(["99999", "0", "x1", "5432,h:70000"]))
def test_history_rows_and_url_errors_never_hold_the_password(memory_store, case, bad_port):
    """The event row (what subscribers get as JSON) and the errors of URLs that cannot be used."""
    from traitctl.engine.errors import TraitctlError
    from traitctl.jobs.queue import _check_redis_url
    from traitctl.store.db import connect

    url, secret = case
    encoded = quote(secret, safe="")
    assume(secret not in f"traitctl --store  --queue= config set x 1 {bad_port}")
    event = memory_store.events.record(kind="config.set", actor="t", command=f"traitctl --store {url} --queue={url} config set x 1")
    row = memory_store.events.Row.get_by_id(event.id)
    assert secret not in row.command and encoded not in row.command
    # the other fields never saw the URL: a secret such as "null" may be there by chance only
    assume(secret not in json.dumps({k: v for k, v in event.__dict__.items() if k != "command"}, default=str))
    assume(secret not in '"command": ')  # the key's own name ("comm", "mand") is not the secret shown
    assert secret not in json.dumps(event.__dict__, default=str)
    if "://" in url and not url.startswith("unix:"):
        broken = url.replace("@", f"@h:{bad_port},", 1) if "@" in url else url
        messages = []
        for attempt in (lambda: connect(broken.replace("redis", "postgresql", 1)), lambda: _check_redis_url(broken)):
            try:
                attempt()
            except TraitctlError as exc:
                messages.append(exc.message)
        for message in messages:
            assert secret not in message and encoded not in message, (broken, message)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:p%40ss@h1:5432,h2:5432/db", "postgresql://u:***@h1:5432,h2:5432/db"),
    ("postgresql://u@h/db?sslmode=require&password=x1y2&passfile=/home/u/.pgpass",
     "postgresql://u@h/db?sslmode=require&password=***&passfile=/home/u/.pgpass"),
    ("redis://:pw12@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("rediss://default:pw12@cache:6380/1?password=pw12", "rediss://default:***@cache:6380/1?password=***"),
    ("unix:///tmp/redis.sock?db=0&password=pw12", "unix:///tmp/redis.sock?db=0&password=***"),
    ("host=h port=5432 password='a b\\'c' dbname=x", "host=h port=5432 password=*** dbname=x"),
    ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("sqlite:///home/u/config/.traitctl/traitctl.db", "sqlite:///home/u/config/.traitctl/traitctl.db"),
])
def test_redaction_keeps_everything_but_the_password(url, shown):
    assert redact_url(url) == shown
    assert redact(redact_url(url)) == shown  # redacting twice changes nothing


def test_worker_logs_are_redacted(capsys):
    url = f"redis://:{SECRET}@127.0.0.1:1/0"
    logger = logging.getLogger("traitctl.test_secrets")
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        redact_logs("sqlite:///x.db", url)
        try:
            raise ConnectionError(f"cannot reach {url} ({SECRET})")
        except ConnectionError:
            logger.error("queue %s failed", url, exc_info=True)
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    assert "queue redis://:***@127.0.0.1:1/0 failed" in err and "ConnectionError" in err
    assert SECRET not in err


def _no_secret(project: Path, *results) -> None:
    for result in results:
        assert SECRET not in result.stdout + result.stderr, result
        assert "Traceback" not in result.stderr, result
    for path in project.rglob("*"):
        if path.is_file() and path.suffix in ("", ".db", ".db-wal", ".toml", ".json", ".log") or path.name.endswith("-wal"):
            assert SECRET.encode() not in path.read_bytes(), path


def test_cli_never_shows_or_stores_a_password(cli, project: Path):
    pg = f"postgresql://admin:{SECRET}@127.0.0.1:1/nowhere"
    results = []
    for store in (pg, f"postgresql://admin@127.0.0.1:1/nowhere?password={SECRET}",
                  f"host=127.0.0.1 port=1 password={SECRET}", f"postgresql://admin:{SECRET}@127.0.0.1:99999/db",
                  f"postgresql://admin:{SECRET}@127.0.0.1:1,127.0.0.1:2/db"):
        result = cli("--store", store, "history")
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, (store, result)
        results.append(result)
        if "?" in store or "99999" in store:
            health = cli("--store", store, "health", "--only", "store", "--json")
            assert json.loads(health.stdout)["checks"]["store"]["status"] == "fail"
            results.append(health)
    _no_secret(project, *results)


def test_history_and_job_records_keep_the_command_line_without_passwords(cli, project: Path):
    results = []
    # the queue is not used by `config set`, but the command line lands in history
    queue = f"redis://:{SECRET}@127.0.0.1:1/0"
    written = cli("--queue", queue, "config", "set", "version", "7", "--trait", "HasUuid")
    assert written.exit_code == 0, written
    results.append(cli(f"--queue=unix:///nowhere.sock?password={SECRET}", "config", "set", "version", "4",
                       "--trait", "HasUuid"))
    results.append(cli("--queue", queue, "jobs", "enqueue", "cleanup"))
    results.append(cli("--queue", f"rediss://u:{SECRET}@127.0.0.1:99999/0", "jobs", "enqueue", "cleanup"))
    history = cli("history", "--json")
    commands = [e["command"] for e in json.loads(history.stdout)["events"]]
    assert f"traitctl --queue redis://:***@127.0.0.1:1/0 config set version 7 --trait HasUuid" in commands
    assert "traitctl --queue=unix:///nowhere.sock?password=*** config set version 4 --trait HasUuid" in commands
    results += [history, cli("--queue", queue, "jobs", "status", "--json"), cli("jobs", "list", "--json")]
    _no_secret(project, *results)


def test_worker_banner_and_logs_hide_the_queue_password(project: Path):
    proc = subprocess.Popen([sys.executable, "-m", "traitctl", "-v", "--queue", f"redis://:{SECRET}@127.0.0.1:1/0",
                             "worker", "--no-periodic"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert "on redis://:***@127.0.0.1:1/0" in err  # the banner is a message on stderr
    assert SECRET not in out + err


def test_store_url_with_bad_port_is_one_sentence(cli):
    for url in ("postgresql://u@127.0.0.1:99999/db", "postgresql://u@127.0.0.1:0/db", "postgresql://u@h:abc/db",
                "postgresql://u@h1:5432,h2:70000/db"):
        result = cli("--store", url, "history")
        assert result.exit_code == 2, result
        assert "is not a number from 1 to 65535" in result.stderr and result.stderr.count("\n") == 1, result
    result = cli("--store", "postgresql://u@h/db?bogus=1", "history")
    assert result.exit_code == 2 and "not a valid PostgreSQL URL" in result.stderr, result
    result = cli("--queue", "redis://127.0.0.1:6379,127.0.0.1:6380/0", "jobs", "enqueue", "cleanup")
    assert result.exit_code == 2 and "a Redis URL names one host" in result.stderr, result


def test_multi_host_postgresql_store_url_works(cli, pg_url):
    # libpq tries each host in turn: the first refuses, the second is the real server
    scheme, rest = pg_url.split("://", 1)
    userinfo, hostpath = rest.rsplit("@", 1)
    host, path = hostpath.split("/", 1)
    multi = f"{scheme}://{userinfo}@127.0.0.1:1,{host}/{path}"
    result = cli("--store", multi, "config", "set", "version", "7", "--trait", "HasUuid")
    assert result.exit_code == 0, result
    history = cli("--store", multi, "history", "--json")
    assert history.exit_code == 0, history
    assert [e["after"] for e in json.loads(history.stdout)["events"]] == ["7"]
