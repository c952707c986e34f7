"""A configuration file that changes into something unreadable while an application runs (an editor
half-way through a save, a TOML error, the file gone for a moment) never makes ``TraitConfig.get``
or ``Flags.is_enabled`` raise: the values read before are answered, one warning is logged per
distinct error, and the next readable version is picked up. ``reload()``, asked for, still raises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, logging, os, sys
logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
from traitctl.runtime import Flags, TraitConfig

path = sys.argv[1]
ticks = [0.0]
config = TraitConfig.load(path, clock=lambda: ticks[0])
flags = Flags.load(path, clock=lambda: ticks[0])
good = open(path).read()
seen = {"errors": []}

def ask(label):
    ticks[0] += 5.0  # past check_every: the files are looked at
    try:
        seen[label] = [config.get("Cacheable", "ttl"), flags.is_enabled("trait_caching", tenant="acme"),
                       config.reload_error is not None, flags.reload_error is not None]
    except Exception as exc:
        seen["errors"].append(f"{label}: {type(exc).__name__}")

with open(path, "w") as handle:
    handle.write(good.replace("[traits.HasUuid]", "[traits.HasUuid"))  # a TOML error
ask("broken")
ask("still broken")
os.unlink(path)
ask("gone")
with open(path, "w") as handle:
    handle.write(good.replace("ttl = 3600", "ttl = 3602"))
ask("fixed")
with open(path, "w") as handle:
    handle.write("[traits")
try:
    config.reload()
    seen["explicit"] = "no error"
except Exception as exc:
    seen["explicit"] = type(exc).__name__
print(json.dumps(seen))
"""


def test_an_unreadable_change_keeps_the_values_read_before(config_file: Path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config_file)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["errors"] == [], seen
    assert seen["broken"] == seen["still broken"] == seen["gone"] == [3600, True, True, True], seen
    assert seen["fixed"] == [3602, True, False, False], seen
    assert seen["explicit"] == "ConfigFileError", seen
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING traitctl.runtime:")]
    # one per object and distinct error: the TOML error, then the file gone (read by each as it reads it)
    assert len(warnings) == 4, proc.stderr
    assert all("the values read before are still answered" in line for line in warnings), proc.stderr
    assert "Traceback" not in proc.stderr
