"""The history's query (``EventRepo.select``) on every backend: SQLite in memory and in a file, and
PostgreSQL (failing, not skipped, under CI=true when the server is down)."""

from __future__ import annotations

import datetime as dt

from traitctl.engine.history import Filter

T0 = dt.datetime(2026, 5, 1, 12, 0, 0)


def test_select_filters_on_every_backend(store):
    def record(kind, path=(), **extra):
        return store.events.record(kind=kind, actor=extra.pop("actor", "ana"), command="traitctl x", path=path,
                                   **extra)

    a = record("config.set", ("traits", "HasUuid", "version"), ts=T0, actor="bob")
    b = record("flag.set", ("flags", "beta_search", "percentage"), ts=T0 + dt.timedelta(hours=1))
    c = record("config.set", ("models", "App\\Models\\Post", "HasSlug", "max_length"), model="App\\Models\\Post",
               ts=T0 + dt.timedelta(hours=2), tenant="acme")
    j = record("job.failed", data={"job": 3}, ts=T0 + dt.timedelta(hours=3), actor="worker")

    def ids(where, limit=None):
        return [e.id for e in store.events.select(where, limit=limit)]

    assert ids(Filter()) == [c.id, b.id, a.id]
    assert ids(Filter(everything=True)) == [j.id, c.id, b.id, a.id]
    assert ids(Filter(kinds=("job.*",))) == [j.id]
    assert ids(Filter(kinds=("config.s?t", "flag.*"))) == [c.id, b.id, a.id]
    assert ids(Filter(actor="b*")) == [a.id] and ids(Filter(actor="bob")) == [a.id]
    assert ids(Filter(model="Post")) == [c.id] and ids(Filter(model="App\\Models\\Post")) == [c.id]
    assert ids(Filter(tenant="acme")) == [c.id]
    assert ids(Filter(key="models.App\\Models\\Post.*")) == [c.id]
    assert ids(Filter(key="percentage")) == [b.id]
    assert ids(Filter(since=T0 + dt.timedelta(minutes=30), until=T0 + dt.timedelta(hours=2))) == [b.id]
    assert ids(Filter(everything=True), limit=2) == [j.id, c.id]
    assert [e.id for e in store.events.select(Filter(), limit=None, newest_first=False)] == [a.id, b.id, c.id]
    # retention: job events before the cut-off only, and never the newest event (its id would be reused)
    assert store.events.purge_kind_prefix("job.", T0 + dt.timedelta(days=1)) == 0
    later = record("config.set", ("traits", "A", "x"), ts=T0 + dt.timedelta(days=2))
    assert store.events.purge_kind_prefix("job.", T0 + dt.timedelta(days=1)) == 1
    assert store.events.get(j.id) is None and store.events.get(later.id) is not None


def test_tenant_and_key_filters_find_bulk_events_on_every_backend(store):
    """A write across tenants records one event with an empty tenant column; its data.changes
    name each tenant's key (in the tenant's own file, or under tenants.<id> of the main file)."""
    changes = [
        {"file": "/srv/config/traits.toml", "path": ["tenants", "acme", "traits", "Cacheable", "ttl"],
         "before": "60", "after": "77"},
        {"file": "/srv/config/tenants/initech.toml", "path": ["traits", "Cacheable", "ttl"], "before": None,
         "after": "77"},
        {"file": "/srv/config/tenants/umbrella_2.toml", "path": ["traits", "Cacheable", "ttl"], "before": None,
         "after": "77"},
    ]
    bulk = store.events.record(kind="config.set", actor="ana", command="traitctl config set ttl 77 --tenants …",
                               file="/srv/config/traits.toml", trait="Cacheable", ts=T0,
                               data={"changes": changes, "tenants": ["acme", "initech", "umbrella_2", "hooli"]})
    own = store.events.record(kind="config.set", actor="ana", command="traitctl config set …", tenant="initech",
                              file="/srv/config/tenants/initech.toml", path=("traits", "Cacheable", "ttl"),
                              ts=T0 + dt.timedelta(hours=1))
    main = store.events.record(kind="tenant.add", actor="ana", command="traitctl tenants add hooli",
                               file="/srv/config/traits.toml", path=("tenants", "hooli"),
                               ts=T0 + dt.timedelta(hours=2))
    store.events.record(kind="config.set", actor="ana", command="traitctl config set …",
                        file="/srv/config/traits.toml", path=("traits", "umbrella", "ttl"),  # a trait, not a tenant
                        ts=T0 + dt.timedelta(hours=3))

    def ids(**filters):
        return [e.id for e in store.events.select(Filter(**filters), limit=None)]

    assert ids(tenant="acme") == [bulk.id]
    assert ids(tenant="initech") == [own.id, bulk.id]
    assert ids(tenant="umbrella_2") == [bulk.id]
    assert ids(tenant="umbrella") == []          # the LIKE superset ('_', a trait named umbrella) is checked again
    assert ids(tenant="umbrellax2") == []
    assert ids(tenant="hooli") == [main.id]      # named in data.tenants but left unchanged by the bulk write
    assert ids(tenant="ACME") == []              # ids are exact (PostgreSQL's ILIKE and SQLite's LIKE ignore case)
    assert ids(key="traits.Cacheable.ttl") == [own.id, bulk.id]
    assert ids(key="Cacheable.ttl", tenant="acme") == [bulk.id]
    assert ids(tenant="initech", trait="Cacheable") == [bulk.id]
