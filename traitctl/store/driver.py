"""Import peewee without paying for the PostgreSQL driver when the store is SQLite.

peewee imports psycopg at import time when it is installed (about 120 ms here, a third of a store
command's start-up). A CLI process whose store is SQLite never needs it, so the first import of
peewee is done with psycopg hidden; if the same process later opens a PostgreSQL store,
:func:`ensure_psycopg` installs the driver into peewee as its own import would have.
Checked against peewee 4.x (``Psycopg3Adapter``); tests open SQLite then PostgreSQL in one process.
"""

from __future__ import annotations

import sys

_HIDDEN = ("psycopg", "psycopg2", "psycopg2cffi")


def import_peewee(url: str) -> None:
    """Import peewee, hiding the PostgreSQL drivers when ``url`` is a SQLite URL."""
    if "peewee" in sys.modules or not url.startswith("sqlite:"):
        return
    saved = {name: sys.modules.get(name) for name in _HIDDEN if name in sys.modules}
    if saved:
        return  # a driver is already loaded: nothing to save
    for name in _HIDDEN:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import peewee  # noqa: F401
    finally:
        for name in _HIDDEN:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def ensure_psycopg() -> None:
    """Give peewee its psycopg (3) driver if it was imported without it."""
    import peewee

    if getattr(peewee, "psycopg", None) is not None or getattr(peewee, "psycopg2", None) is not None:
        return
    try:
        import psycopg
        from psycopg.pq import TransactionStatus
        from psycopg.types.json import Json, Jsonb
    except ImportError:
        return  # peewee then reports the missing driver itself
    peewee.psycopg = psycopg
    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN
