"""``Flags.is_enabled`` asked about ever new tenants (ids taken from requests) keeps a bounded
memory between refreshes: its compiled (flag, tenant) rules are emptied at ``COMPILED_LIMIT``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, sys, tracemalloc
import traitctl.runtime.flags as runtime_flags
from traitctl.runtime import Flags

runtime_flags.COMPILED_LIMIT = 1000  # the same bound, reached sooner
flags = Flags.load(sys.argv[1], refresh=3600)
name = next(n for n in flags.names() if flags.evaluate(n, user="u-1").on is not None)

def ask(start, count):
    return [flags.is_enabled(name, user=f"u-{i}", tenant=f"tenant-{i}") for i in range(start, start + count)]

tracemalloc.start()
first = ask(0, 3000)
before = tracemalloc.get_traced_memory()[0]
ask(3000, 20000)
after = tracemalloc.get_traced_memory()[0]
print(json.dumps({"grown": after - before, "again": ask(0, 3000) == first}))
"""


def test_new_tenants_do_not_grow_memory(config_file: Path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config_file)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["again"] is True  # the same answers after the rules were emptied and compiled again
    # 20,000 more distinct tenants: the compiled rules stay at their bound (about 8 MB before)
    assert doc["grown"] < 1_000_000, doc
