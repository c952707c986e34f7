"""``TraitConfig.get`` asked about ever new tenants and models (ids taken from requests) keeps a
bounded memory: every cache it fills, not only the answers, is emptied at ``CACHE_LIMIT``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, sys, tracemalloc
import traitctl.runtime.config as runtime_config
from traitctl.runtime import TraitConfig

runtime_config.CACHE_LIMIT = 1000  # the same bound, reached sooner
config = TraitConfig.load(sys.argv[1])

def ask(start, count):
    for i in range(start, start + count):
        config.get("Cacheable", "ttl", model=f"App\\Models\\Generated{i}", tenant=f"tenant-{i}")

tracemalloc.start()
ask(0, 3000)
before = tracemalloc.get_traced_memory()[0]
ask(3000, 20000)
after = tracemalloc.get_traced_memory()[0]
print(json.dumps({"grown": after - before, "answer": config.get("Cacheable", "ttl", tenant="acme")}))
"""


def test_new_tenants_and_models_do_not_grow_memory(config_file: Path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config_file)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["answer"] == 60
    # 20,000 more distinct (model, tenant) pairs: the caches stay at their bound (several MB before)
    assert doc["grown"] < 1_000_000, doc
