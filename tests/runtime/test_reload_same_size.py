"""``TraitConfig`` and ``Flags`` notice a file replaced by one of the same size that kept the old
modification time (``cp -p``, ``rsync -t``, an unpacked archive, two writes within one clock tick)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, os, sys
from traitctl.runtime import Flags, TraitConfig

path = sys.argv[1]
ticks = [0.0]
config = TraitConfig.load(path, clock=lambda: ticks[0])
flags = Flags.load(path, clock=lambda: ticks[0])
seen = {"ttl": config.get("Cacheable", "ttl"), "flags": flags.names()}

def replace(old, new):
    text = open(path).read()
    assert old in text and len(old) == len(new)
    stat = os.stat(path)
    with open(path + ".new", "w") as handle:
        handle.write(text.replace(old, new, 1))
    os.utime(path + ".new", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the old time, as cp -p keeps it
    os.replace(path + ".new", path)
    assert os.stat(path).st_size == stat.st_size and os.stat(path).st_mtime_ns == stat.st_mtime_ns

replace("ttl = 3600", "ttl = 3601")
replace("[flags.trait_caching]", "[flags.trait_cachinG]")
ticks[0] = 10.0
seen["ttl_after"] = config.get("Cacheable", "ttl")
seen["flags_after"] = flags.names()
print(json.dumps(seen))
"""


def test_a_replacement_of_the_same_size_and_time_is_noticed(config_file: Path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config_file)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["ttl"] == 3600 and seen["ttl_after"] == 3601, seen
    assert "trait_caching" in seen["flags"] and "trait_cachinG" in seen["flags_after"], seen
