"""The flag override repository on every store backend (SQLite memory and file, PostgreSQL)."""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 12, 1, 12, 0)
DAY = dt.timedelta(days=1)


def test_set_get_replace_and_expire(store):
    repo = store.flag_overrides
    assert repo.set("beta", "42", True, expires=NOW + 30 * DAY, now=NOW, actor="ana") is None
    assert repo.get("beta", "42", now=NOW).on is True
    previous = repo.set("beta", "42", False, expires=NOW + DAY, now=NOW, actor="ben")
    assert previous.on is True and previous.actor == "ana"
    assert repo.active("beta", now=NOW) == {"42": False}
    assert repo.get("beta", "42", now=NOW + 2 * DAY) is None  # expired rows are ignored
    assert repo.active("beta", now=NOW + 2 * DAY) == {}


def test_list_counts_clear_and_purge(store):
    repo = store.flag_overrides
    repo.set("beta", "1", True, expires=NOW + DAY, now=NOW, actor="a")
    repo.set("beta", "2", False, expires=NOW + 10 * DAY, now=NOW, actor="a")
    repo.set("gamma", "1", True, expires=NOW + 10 * DAY, now=NOW, actor="a")
    assert [(o.flag, o.subject) for o in repo.list(now=NOW)] == [("beta", "1"), ("beta", "2"), ("gamma", "1")]
    assert repo.counts(now=NOW + 2 * DAY) == {"beta": 1, "gamma": 1}
    assert [o.subject for o in repo.clear("beta", "2", now=NOW)] == ["2"]
    assert repo.clear("beta", "2", now=NOW) == []
    assert repo.purge_expired(NOW + 2 * DAY) == 1  # beta/1 expired; gamma/1 stays
    assert [(o.flag, o.subject) for o in repo.list(now=NOW)] == [("gamma", "1")]
    assert [o.subject for o in repo.clear("gamma", now=NOW)] == ["1"]
