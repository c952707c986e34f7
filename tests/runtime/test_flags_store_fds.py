"""``Flags.load(path, store=URL)`` again and again opens no new connection (no open file piles up)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import datetime as dt, gc, json, os, sys
from traitctl.runtime import Flags
from traitctl.store.db import Store

gc.disable()  # the garbage collector would close leaked connections at a time of its choosing
config, first, second = sys.argv[1], "sqlite:///" + sys.argv[2], "sqlite:///" + sys.argv[3]
now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
writer = Store.open(first)
writer.flag_overrides.set("trait_caching", "u-off", False, expires=now + dt.timedelta(hours=1), now=now,
                          actor="tester")
writer.close()

def fds():
    return len(os.listdir("/proc/self/fd"))

Flags.load(config, store=first)
Flags.load(config, store=second)
start = fds()
for _ in range(100):
    flags = Flags.load(config, store=first)
    other = Flags.load(config, store=second)
    seen = (flags.is_enabled("trait_caching", user="u-off", tenant="acme"),
            other.is_enabled("trait_caching", user="u-off", tenant="acme"))
print(json.dumps({"start": start, "end": fds(), "seen": seen}))
"""


def test_repeated_loads_with_a_store_url_open_no_files(config_file: Path, tmp_path: Path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config_file), str(tmp_path / "one.db"),
                           str(tmp_path / "two.db")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["end"] == doc["start"], doc  # 200 loads over two URLs: not one more open file
    # the shared store still serves overrides: off for u-off from the first store, none in the second
    assert doc["seen"] == [False, True], doc
