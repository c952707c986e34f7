"""A store file deleted and created again at the same path while an application runs is opened
again by ``Flags`` (the loaded instance and later loads): reads never go to the deleted file, and
no descriptor of it stays open."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import datetime as dt, gc, json, os, queue, sys, threading
from traitctl.runtime import Flags
from traitctl.store.db import Store

gc.disable()  # a leaked connection must not be closed by the collector behind the test's back
config, path = sys.argv[1], sys.argv[2]
url = "sqlite:///" + path
now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

def write(subject, on):
    store = Store.open(url)
    store.flag_overrides.set("trait_caching", subject, on, expires=now + dt.timedelta(hours=1), now=now, actor="t")
    store.close()

def remove():
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)

def deleted_fds():
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(path) and target.endswith("(deleted)"):
            found.append(target)
    return found

ticks = [0.0]
write("u1", False)
flags = Flags.load(config, store=url, refresh=5.0, clock=lambda: ticks[0])
seen = {"first": flags.is_enabled("trait_caching", user="u1", tenant="acme")}

# a thread of the application's (one that lives on) asks through its own load
asks, answers = queue.Queue(), queue.Queue()
def serve():
    for _ in iter(asks.get, None):
        answers.put(Flags.load(config, store=url).is_enabled("trait_caching", user="u1", tenant="acme"))
worker = threading.Thread(target=serve)
worker.start()
asks.put(1)
seen["thread"] = answers.get()

remove()
write("u1", True)  # a new file at the same path: u1 is now forced on
ticks[0] = 10.0    # past the refresh: the loaded instance reads the store again
seen["same_instance"] = flags.is_enabled("trait_caching", user="u1", tenant="acme")
seen["new_load"] = Flags.load(config, store=url).is_enabled("trait_caching", user="u1", tenant="acme")
asks.put(1)
seen["thread_after"] = answers.get()
seen["deleted_fds"] = deleted_fds()

remove()  # deleted and not created again: a new load opens a new, empty store
seen["after_delete"] = Flags.load(config, store=url).evaluate("trait_caching", user="u1", tenant="acme").on
seen["exists"] = os.path.exists(path)
asks.put(1)
answers.get()
seen["deleted_fds_end"] = deleted_fds()
asks.put(None)
worker.join()
print(json.dumps(seen))
"""


def test_a_store_file_created_again_is_opened_again(config_file: Path, tmp_path: Path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config_file), str(tmp_path / "store.db")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert (seen["first"], seen["thread"]) == (False, False), seen  # the override of the first file
    # the second file's override, read by the loaded instance, a new load and another thread
    assert (seen["same_instance"], seen["new_load"], seen["thread_after"]) == (True, True, True), seen
    assert seen["deleted_fds"] == [], seen  # no descriptor of the deleted file left open
    assert seen["exists"] is True and seen["deleted_fds_end"] == [], seen
    # no override in the new empty store: the flag's own rule decides, as for a first load
    direct = subprocess.run([sys.executable, "-m", "traitctl", "--store", f"sqlite:///{tmp_path / 'empty.db'}",
                             "--json", "flags", "eval", "trait_caching", "--user", "u1", "--tenant", "acme"],
                            capture_output=True, text=True, timeout=120, cwd=config_file.parent.parent)
    assert direct.returncode == 0, direct.stderr
    assert seen["after_delete"] is json.loads(direct.stdout)["on"], (seen, direct.stdout)
