"""peewee imported without psycopg for a SQLite store still opens PostgreSQL later in the process."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from traitctl.store.driver import import_peewee
import_peewee("sqlite:///:memory:")
assert "psycopg" not in sys.modules, "psycopg was imported"
from traitctl.store.db import Store
lite = Store.open("sqlite:///:memory:")
lite.events.record(kind="k", actor="a", command="c")
pg = Store.open(sys.argv[1])
event = pg.events.record(kind="k", actor="a", command="c", data={"x": 1})
assert pg.events.get(event.id).data == {"x": 1}
with pg.db.atomic():
    pg.events.record(kind="k2", actor="a", command="c")
print(pg.events.count(), lite.events.count())
"""


def test_sqlite_first_then_postgresql_in_one_process(pg_url):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, pg_url], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "1"]
