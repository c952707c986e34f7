"""A store written by a newer traitctl is refused, never downgraded: SQLite file and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from traitctl.engine.errors import StoreError
from traitctl.store.db import SCHEMA_VERSION, Store, connect, peek_schema_version

NEWER = SCHEMA_VERSION + 994


def _mark_newer(url: str) -> None:
    """Make a store with one event, then record a schema version this traitctl does not know."""
    store = Store.open(url)
    store.events.record(kind="config.set", actor="tester", command="traitctl config set", path=("traits", "X", "y"))
    store.db.execute_sql(f"UPDATE traitctl_meta SET value = '{NEWER}' WHERE key = 'schema_version'")
    store.close()


def _fingerprint(url: str) -> tuple:
    """Every traitctl table's rows, read with a plain connection (nothing created or upgraded)."""
    db = connect(url)
    db.connect()
    try:
        tables = sorted(t for t in db.get_tables() if t.startswith("traitctl"))
        rows = {t: sorted(map(repr, db.execute_sql(f"SELECT * FROM {t}").fetchall())) for t in tables}
        return tables, rows
    finally:
        db.close()


def _sentence(where: str) -> str:
    return (f"The store at {where} was written by a newer traitctl (schema {NEWER}; "
            f"this one knows {SCHEMA_VERSION}): upgrade traitctl.")


def test_sqlite_store_with_newer_schema_is_refused_untouched(cli, project):
    path = project / "config" / ".traitctl" / "traitctl.db"
    url = f"sqlite:///{path}"
    _mark_newer(url)
    before = _fingerprint(url)

    result = cli("history")
    assert result.exit_code == 2, result
    assert result.stderr.strip() == f"error: {_sentence(url)}", result
    assert "Traceback" not in result.stderr
    assert peek_schema_version(url) == NEWER
    assert _fingerprint(url) == before

    write = cli("flags", "list")
    assert write.exit_code == 2, write
    assert _sentence(url) in write.stderr

    health = cli("health", "--json", "--only", "store")
    doc = json.loads(health.stdout)
    assert health.exit_code != 0, health
    assert doc["checks"]["store"]["status"] == "fail"
    assert doc["checks"]["store"]["message"] == _sentence(url)

    version = cli("version", "--json")
    assert version.exit_code == 0, version
    assert json.loads(version.stdout)["store_schema"] == {"version": NEWER, "expected": SCHEMA_VERSION}

    assert peek_schema_version(url) == NEWER
    assert _fingerprint(url) == before


def test_sqlite_newer_store_missing_a_table_is_not_completed(tmp_path: Path):
    """Refused before the missing tables are created, too."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _mark_newer(url)
    db = connect(url)
    db.connect()
    db.execute_sql("DROP TABLE traitctl_event")
    db.close()
    before = _fingerprint(url)
    with pytest.raises(StoreError) as caught:
        Store.open(url)
    assert caught.value.message == _sentence(url)
    assert _fingerprint(url) == before


def test_postgresql_store_with_newer_schema_is_refused_untouched(pg_url, cli):
    password_url = pg_url.replace("://postgres@", "://postgres:s3cret-pw@", 1)
    _mark_newer(pg_url)
    before = _fingerprint(pg_url)

    with pytest.raises(StoreError) as caught:
        Store.open(password_url)  # trust authentication ignores the password
    assert caught.value.message == _sentence(password_url.replace("s3cret-pw", "***"))
    assert "s3cret-pw" not in caught.value.message

    result = cli("history", env={"TRAITCTL_STORE": password_url})
    assert result.exit_code == 2, result
    assert result.stderr.strip() == f"error: {_sentence(password_url.replace('s3cret-pw', '***'))}", result
    assert "s3cret-pw" not in result.stderr + result.stdout

    health = cli("health", "--json", "--only", "store", env={"TRAITCTL_STORE": pg_url})
    doc = json.loads(health.stdout)
    assert doc["checks"]["store"]["status"] == "fail"
    assert doc["checks"]["store"]["message"] == _sentence(pg_url)

    version = cli("version", "--json", env={"TRAITCTL_STORE": pg_url})
    assert version.exit_code == 0, version
    assert json.loads(version.stdout)["store_schema"]["version"] == NEWER

    assert peek_schema_version(pg_url) == NEWER
    assert _fingerprint(pg_url) == before


def test_current_and_older_stores_still_open(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    db = connect(url)
    db.connect()
    db.execute_sql("UPDATE traitctl_meta SET value = '4' WHERE key = 'schema_version'")
    db.close()
    store = Store.open(url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
    finally:
        store.close()
