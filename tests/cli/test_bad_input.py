"""A corpus of bad inputs through the real CLI: no traceback, exit 1 or 2, one sentence, no file under
the project changed, no secret printed.

Every case runs in its own copy of the bundled example, in a subprocess; the cases run in parallel
threads (one module fixture) so the whole corpus costs a few seconds of wall time. Each parametrized
test then checks one case's recorded result.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIG = "100000000000000000000"  # 1e20: past SQLite's 64-bit INTEGER
SECRET = "s3cr3t-Pa55"
PG_SECRET = f"postgresql://admin:{SECRET}@127.0.0.1:1/traitctl"
REDIS_SECRET = f"redis://:{SECRET}@127.0.0.1:1/0"
DEEP_ARRAY = "[" * 10_000 + "]" * 10_000
DEEP_TABLE = "{a = " * 10_000 + "1" + "}" * 10_000
DOTTED = ".".join(["k"] * 10_000)


# -- project changes made before a case (the "hand edits" it is run against) ----------------------
def _append(relative: str, text: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        path = project / relative
        path.write_text(path.read_text() + "\n" + text + "\n")
    return setup


def _replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        path = project / relative
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))
    return setup


def _file(relative: str, text: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        (project / relative).write_text(text)
    return setup


MAIN = "config/traits.toml"
TENANT = "config/tenants/globex.toml"
DEEP_MAIN = _append(MAIN, f"[traits.Deep]\nvalue = {DEEP_ARRAY}")
DEEP_TENANT = _append(TENANT, f"deep = {DEEP_TABLE}")
DOTTED_MAIN = _append(MAIN, f"[traits.Dotted]\n{DOTTED} = 1")
PCT = "percentage = 10"  # flags.traits_management_system


@dataclass
class Case:
    id: str
    argv: list[str]
    setup: Callable[[Path], None] | None = None
    input: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: a word the one-line message must contain (the value, option or limit named)
    says: str | None = None


def _cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    # Numbers past SQLite's 64-bit range, on every integer option and argument.
    for argv in (["jobs", "show", BIG], ["jobs", "retry", BIG], ["jobs", "cancel", BIG],
                 ["jobs", "show", "--", "-" + BIG], ["jobs", "show", "9223372036854775808"], ["rollback", BIG],
                 ["rollback", "--", "-9223372036854775809"],
                 ["history", "--limit", BIG], ["jobs", "list", "--limit", BIG],
                 ["flags", "history", "trait_caching", "--limit", BIG], ["metrics", "--limit", BIG],
                 ["flags", "stale", "--days", BIG], ["migrate-plan", "--batch-size", BIG],
                 ["migrate-plan", "--traits-per-day", BIG]):
        add(Case("int:" + " ".join(argv), argv, says="out of range"))
    for argv in (["jobs", "enqueue", "noop", "--priority", BIG], ["metrics", "queues", "--intervals", BIG]):
        add(Case("int:" + " ".join(argv), argv, says="not in the range"))  # the option's own range says it
    add(Case("int:rollback-max", ["rollback", "9223372036854775807"], says="9223372036854775807"))
    # Durations and dates out of range.
    for argv in (["flags", "override", "trait_caching", "--user", "1", "--on", "--ttl", "99999999999d"],
                 ["flags", "override", "trait_caching", "--user", "1", "--on", "--ttl", "500000w"],
                 ["flags", "override", "trait_caching", "--user", "1", "--on", "--ttl", "9" * 400 + "s"],
                 ["jobs", "enqueue", "noop", "--delay", "99999999999d"],
                 ["jobs", "enqueue", "noop", "--delay", "9" * 30],
                 ["jobs", "purge", "--older-than", "500000w"],
                 ["history", "--since", "99999999999999d"],
                 ["metrics", "queues", "--interval", "99999999d"],
                 ["metrics", "queues", "--interval", "36500d", "--intervals", "60"],
                 ["metrics", "show", "x", "--interval", "99999999d"],
                 ["metrics", "trends", "x", "--period", "99999999d"],
                 ["metrics", "trends", "x", "--interval", "99999999d"],
                 ["metrics", "--since", "99999999999d"],
                 ["metrics", "export", "--since", "99999999999d"]):
        add(Case("duration:" + " ".join(argv[:2]) + " " + " ".join(a[:14] for a in argv[-2:]), argv))
    for argv in (["flags", "list", "--now", "0001-01-01T00:00:00"],
                 ["flags", "advance", "--now", "0001-01-01T00:00:00"],
                 ["flags", "advance", "--now", "9999-12-31T23:59:59"],
                 ["flags", "overrides", "trait_caching", "--now", "0001-01-01T00:00:00"],
                 ["flags", "eval", "trait_caching", "--user", "1", "--now", "0001-01-01"],
                 ["flags", "override", "trait_caching", "--user", "1", "--on", "--now", "9999-12-31T23:59:59"],
                 ["flags", "create", "new_flag", "--expires", "9999-12-31"],
                 ["flags", "schedule", "trait_caching", "50@9999-12-31"],
                 ["migrate-plan", "--start", "9999-12-31"],
                 ["migrate-plan", "--start", "0001-01-01"],
                 ["jobs", "enqueue", "noop", "--at", "9999-12-31T23:59:59"],
                 ["jobs", "enqueue", "noop", "--at", "0001-01-01T00:00:00+01:00"],
                 ["history", "--since", "0001-01-01"],
                 ["history", "--since", "0001-01-01T00:00:00+01:00"],
                 ["metrics", "export", "--since", "0001-01-01"],
                 ["metrics", "record", "x", "1", "--at", "1e20"],
                 ["metrics", "record", "x", "1", "--at", "1e15"],
                 ["metrics", "record", "x", "1", "--at", "9999-12-31"],
                 ["metrics", "record", "x", "1", "--at", "nan"],
                 ["metrics", "record", "x", "1", "--at", "-99999d"],
                 ["metrics", "record", "x", "1", "--at", "-36500d"]):
        add(Case("time:" + " ".join(argv[:2]) + " " + argv[-1], argv))
    add(Case("time:record-ms-hint", ["metrics", "record", "x", "1", "--at", "1700000000000"], says="milliseconds"))
    ms_line = '{"name": "trait.HasUuid.generated", "value": 1, "ts": 1700000000000}\n'
    add(Case("time:ingest-ms", ["metrics", "ingest", "-", "--strict"], input=ms_line, says="line 1"))
    add(Case("time:ingest-ms-hint", ["metrics", "ingest", "-", "--strict"],
             input='{"name": "a.b", "value": 1, "ts": 1}\n' + ms_line, says="milliseconds"))
    add(Case("time:ingest-1e15", ["metrics", "ingest", "-", "--strict"],
             input='{"name": "a.b", "value": 1, "ts": 1e15}\n', says="line 1"))
    add(Case("time:ingest-iso", ["metrics", "ingest", "-", "--strict"],
             input='{"name": "a.b", "value": 1, "ts": "0001-01-01T00:00:00"}\n'))
    add(Case("time:ingest-prometheus", ["metrics", "ingest", "-", "--format", "prometheus", "--strict"],
             input="up 1 99999999999999999\n", says="line 1"))
    # Non-finite numbers.
    for value in ("nan", "inf", "1e999"):
        add(Case(f"float:lock-timeout {value}", ["--lock-timeout", value, "config", "set", "version", "7",
                                                  "--trait", "HasUuid"], says="finite"))
        add(Case(f"float:env-lock-timeout {value}", ["config", "set", "version", "7", "--trait", "HasUuid"],
                 env={"TRAITCTL_LOCK_TIMEOUT": value}, says="finite"))
        add(Case(f"float:rollout {value}", ["flags", "rollout", "trait_caching", value]))
        add(Case(f"float:stale-after {value}", ["metrics", "workers", "--stale-after", value], says="finite"))
    add(Case("float:rollout -1e999", ["flags", "rollout", "trait_caching", "--", "-1e999"]))
    add(Case("float:set-percentage", ["flags", "set", "trait_caching", "--percentage", "1e999"]))
    add(Case("float:create-percentage", ["flags", "create", "new_flag", "--percentage", "inf"]))
    add(Case("float:file-lock-timeout", ["config", "set", "version", "7", "--trait", "HasUuid"],
             setup=_replace(MAIN, 'queue = ""', 'queue = ""\nlock_timeout = nan'), says="finite"))
    for value in ("inf", "nan", "1e999", "-inf"):
        edit = _replace(MAIN, PCT, f"percentage = {value}")
        for argv in (["flags", "list"], ["flags", "eval", "traits_management_system", "--user", "1"],
                     ["flags", "lint"], ["flags", "get", "traits_management_system"], ["health", "--only", "flags"]):
            if value == "inf" or argv[1] in ("list", "lint"):
                add(Case(f"file-pct {value}:" + " ".join(argv[:2]), argv, setup=edit))
    add(Case("file-pct tenant nan:flags eval", ["flags", "eval", "trait_caching", "--user", "1", "--tenant", "acme"],
             setup=_replace(MAIN, "percentage = 100", "percentage = nan")))
    # Deep nesting: in a file every command refuses it in one sentence (health reports it).
    for argv in (["health"], ["config", "get", "version", "--trait", "HasUuid"], ["config", "validate"],
                 ["config", "set", "version", "7", "--trait", "HasUuid"], ["flags", "list"], ["jobs", "list"],
                 ["tenants", "add", "newco"], ["metrics"], ["inventory"], ["docs", "check"], ["migrate-plan"]):
        add(Case("deep-main:" + " ".join(argv[:2]), argv, setup=DEEP_MAIN,
                 says=None if argv[0] == "health" else "nested more than"))
    for argv in (["health"], ["config", "get", "version", "--trait", "HasUuid", "--tenant", "globex"],
                 ["config", "validate"], ["tenants", "list"], ["config", "show", "--tenant", "globex"]):
        add(Case("deep-tenant:" + " ".join(argv[:2]), argv, setup=DEEP_TENANT))
    for argv in (["health"], ["config", "get", "version", "--trait", "HasUuid"],
                 ["config", "set", "version", "7", "--trait", "HasUuid"]):
        add(Case("dotted-main:" + " ".join(argv[:2]), argv, setup=DOTTED_MAIN))
    add(Case("deep:config-set-array", ["config", "set", "events", DEEP_ARRAY, "--trait", "Auditable"], says="nested"))
    add(Case("deep:config-set-table", ["config", "set", "events", DEEP_TABLE, "--trait", "Auditable"], says="nested"))
    add(Case("deep:config-set-dotted-key", ["config", "set", DOTTED, "1", "--trait", "HasUuid"], says="nested"))
    add(Case("deep:jobs-data-array", ["jobs", "enqueue", "noop", "--data", "k=" + DEEP_ARRAY], says="nested"))
    add(Case("deep:jobs-data-table", ["jobs", "enqueue", "noop", "--data", "k=" + DEEP_TABLE], says="nested"))
    # Limits on configuration files, and their settings.
    add(Case("limit:bytes", ["config", "get", "version", "--trait", "HasUuid"],
             env={"TRAITCTL_MAX_CONFIG_BYTES": "1000"}, says="TRAITCTL_MAX_CONFIG_BYTES"))
    add(Case("limit:bytes-health", ["health", "--only", "configuration"], env={"TRAITCTL_MAX_CONFIG_BYTES": "1000"}))
    add(Case("limit:depth", ["config", "get", "version", "--trait", "HasUuid"],
             env={"TRAITCTL_MAX_CONFIG_DEPTH": "1"}, says="TRAITCTL_MAX_CONFIG_DEPTH"))
    add(Case("limit:depth-bad", ["config", "get", "version", "--trait", "HasUuid"],
             env={"TRAITCTL_MAX_CONFIG_DEPTH": "lots"}, says="TRAITCTL_MAX_CONFIG_DEPTH"))
    add(Case("limit:bytes-bad", ["config", "show"], env={"TRAITCTL_MAX_CONFIG_BYTES": "-5"},
             says="TRAITCTL_MAX_CONFIG_BYTES"))
    # Unknown and empty names on read commands: errors with near names, as on writes.
    for argv, near in ((["config", "get", "version", "--trait", "HasUuid", "--model", "Usre"], "User"),
                       (["config", "show", "--model", "Nope"], None),
                       (["config", "explain", "version", "--trait", "HasUuid", "--model", "Nope"], None),
                       (["metrics", "--trait", "HasUuidd"], "HasUuid"),
                       (["jobs", "enqueue", "noop", "--model", "Invoise"], "Invoice"),
                       (["jobs", "enqueue", "HasUserTracking", "prune", "--model", "nope"], None),
                       (["jobs", "list", "--trait", "Auditabel"], "Auditable")):
        add(Case("name:" + " ".join(argv[:2]) + " " + argv[-1], argv, says=near or "Unknown"))
    for argv in (["config", "get", "version", "--trait", "HasUuid", "--tenant", ""], ["config", "show", "--tenant", ""],
                 ["config", "get", "version", "--trait", ""], ["config", "show", "--model", ""],
                 ["metrics", "--trait", ""], ["jobs", "list", "--trait", ""], ["history", "--tenant", ""],
                 ["flags", "override", "trait_caching", "--user", "", "--on"],
                 ["flags", "eval", "trait_caching", "--user", ""],
                 ["flags", "clear-override", "trait_caching", "--user", ""]):
        add(Case("empty:" + " ".join(a or "''" for a in argv[:2] + argv[-2:]), argv, says="empty"))
    add(Case("name:flags-eval-model-nokey", ["flags", "eval", "trait_caching", "--model", "nokey"], says="MODEL:KEY"))
    # Output paths: never create missing folders; an empty path is refused.
    for argv in (["inventory", "--save", "nodir/inventory.json"], ["inventory", "--save", ""],
                 ["inventory", "--save", "examples"], ["inventory", ""],
                 ["docs", "generate", "--out", "nodir/sub"], ["docs", "generate", "--out", ""],
                 ["flags", "export", "--output", "nodir/flags.json"], ["flags", "export", "--output", ""],
                 ["flags", "export", "--format", "flagd", "--output", "nodir/flags.json"],
                 ["flags", "export", "--format", "laravel", "--output", "nodir/sub"]):
        add(Case("path:" + " ".join(a or "''" for a in argv), argv, says="nodir" if "nodir" in " ".join(argv) else None))
    # Secrets in URLs never reach the output, whatever else is wrong.
    for argv in (["--store", PG_SECRET, "jobs", "list"], ["--store", PG_SECRET, "history", "--limit", BIG],
                 ["--store", PG_SECRET, "metrics", "record", "x", "1", "--at", "1e20"],
                 ["--queue", REDIS_SECRET, "jobs", "enqueue", "noop", "--delay", "500000w"],
                 ["--store", PG_SECRET, "health", "--only", "store"]):
        add(Case("secret:" + " ".join(argv[2:4]), argv))
    return c


CASES = _cases()
assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"

#: Commands that never open the store: no .traitctl/ file may appear for them.
STORE_FREE = {("config", "get"), ("config", "show"), ("config", "explain"), ("config", "validate"),
              ("tenants", "list")}


def _hashes(project: Path, store_too: bool) -> dict[str, str]:
    out = {}
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project).as_posix()
        if path.is_dir() or path.name.endswith(".lock") or (".traitctl/" in rel and not store_too):
            continue  # lock files are filelock's (empty); the store is opened legitimately
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _command(argv: list[str]) -> tuple[str, ...]:
    words = [a for a in argv if not a.startswith("-")]
    if argv and argv[0] in ("--store", "--queue", "--lock-timeout"):
        words = [a for a in argv[2:] if not a.startswith("-")]
    return tuple(words[:2])


def _run(case: Case, base: Path) -> dict:
    project = base / f"case{CASES.index(case)}"
    shutil.copytree(ROOT / "config", project / "config", ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
    shutil.copytree(ROOT / "examples", project / "examples")
    if case.setup:
        case.setup(project)
    # Matching a --model against the source's models uses the inventory's cache in the store.
    store_free = _command(case.argv) in STORE_FREE and "--model" not in case.argv
    before = _hashes(project, store_free)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAITCTL_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "TRAITCTL_ACTOR": "tester", **case.env})
    proc = subprocess.run([sys.executable, "-m", "traitctl", *case.argv], cwd=project, env=env, input=case.input,
                          capture_output=True, text=True, timeout=120)
    after = _hashes(project, store_free)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    shutil.rmtree(project, ignore_errors=True)
    return {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "changed": changed}


def _faults(case: Case, result: dict) -> list[str]:
    """What is wrong with one case's run (empty: a clean refusal)."""
    found = []
    if "Traceback" in result["stderr"]:
        found.append("a traceback")
    if result["code"] not in (1, 2):
        found.append(f"exit {result['code']}")
    if result["changed"]:
        found.append(f"files changed: {result['changed']}")
    if SECRET in result["stdout"] + result["stderr"]:
        found.append("the secret is shown")
    if result["code"] == 2:
        message = [line for line in result["stderr"].splitlines() if line.strip()]
        if not message or len(message[-1]) >= 600:
            found.append("no one-line message at the end")  # one line at the end, not a dump
    if case.says and case.says not in result["stderr"] + result["stdout"]:
        found.append(f"the message does not say {case.says!r}")
    return found


def test_bad_input_is_one_sentence_and_changes_nothing(tmp_path) -> None:
    """Every case of the corpus, run as a real subprocess on its own copy of the example (one test,
    so that one worker runs the corpus once; every faulty case is listed)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: _run(case, tmp_path), CASES))
    faulty = []
    for case, result in zip(CASES, results):
        found = _faults(case, result)
        if found:
            faulty.append(f"{case.id}: {'; '.join(found)}\n  exit {result['code']}\n  stderr: "
                          f"{result['stderr'][-800:]}\n  stdout: {result['stdout'][-300:]}")
    assert len(results) == len(CASES) >= 100
    assert not faulty, f"{len(faulty)} of {len(CASES)} bad inputs misbehave:\n" + "\n".join(faulty)


def test_corpus_covers_the_reported_inputs() -> None:
    assert len(CASES) >= 100
    text = "\n".join(" ".join(case.argv) for case in CASES)
    for needle in ("jobs show " + BIG, "rollback " + BIG, "--ttl 500000w", "--now 0001-01-01T00:00:00",
                   "--start 9999-12-31", "--interval 99999999d", "--at 1e20", "--lock-timeout nan",
                   "rollout trait_caching 1e999", "--model nokey", "--save nodir/inventory.json"):
        assert needle in text, needle


# -- beyond the corpus ----------------------------------------------------------------------------
def test_a_stored_out_of_range_time_breaks_no_reader(project, cli) -> None:
    # Points stored before times were range-checked (epoch milliseconds, 1e15) stay readable.
    from traitctl.engine.telemetry_formats import Point
    from traitctl.store.db import Store

    (project / "config" / ".traitctl").mkdir()
    store = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
    store.metrics.write([Point("trait.HasUuid.generated", "counter", 1.0, 1.7e12, {"trait": "HasUuid"}),
                         Point("x.y", "gauge", 2.0, 1e15, {})])
    store.close()
    for argv in (["metrics", "export", "--format", "csv"], ["metrics", "export", "--format", "json"],
                 ["metrics", "export"], ["metrics", "--since", "36500d"], ["health", "--only", "telemetry"]):
        result = cli(*argv)
        assert "Traceback" not in result.stderr, (argv, result)
        assert result.exit_code in (0, 1), (argv, result)
    health = cli("health", "--only", "telemetry", "--json")
    import json

    check = json.loads(health.stdout)["checks"]["telemetry"]
    assert check["status"] != "fail" and check["details"]["newest"] is None, check


def test_an_internal_error_exits_70_not_1(project) -> None:
    script = (
        "import sys, types, typer\n"
        "import traitctl.cli as cli\n"
        "app = typer.Typer()\n"
        "@app.command()\n"
        "def boom() -> None:\n"
        "    raise RuntimeError('a bug')\n"
        "module = types.ModuleType('boom_commands'); module.app = app; sys.modules['boom_commands'] = module\n"
        "cli.COMMANDS['boom'] = 'boom_commands:app'\n"
        "cli.main(['boom'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 70, proc
    assert "this is a bug" in proc.stderr and "RuntimeError: a bug" in proc.stderr


def test_the_limits_are_raised_by_their_variables(project, cli) -> None:
    config = project / "config" / "traits.toml"
    nested = "[" * 60 + "1" + "]" * 60
    config.write_text(config.read_text() + f"\n[traits.Nested]\nvalue = {nested}\n")
    refused = cli("config", "get", "value", "--trait", "Nested")
    assert refused.exit_code == 2 and "nested more than 50 levels" in refused.stderr, refused
    assert "TRAITCTL_MAX_CONFIG_DEPTH" in refused.stderr and f"{config}:" in refused.stderr
    allowed = cli("config", "get", "value", "--trait", "Nested", "--json", env={"TRAITCTL_MAX_CONFIG_DEPTH": "64"})
    assert allowed.exit_code == 0, allowed
    size = config.stat().st_size
    small = cli("config", "get", "version", "--trait", "HasUuid", env={"TRAITCTL_MAX_CONFIG_BYTES": str(size - 1),
                                                                        "TRAITCTL_MAX_CONFIG_DEPTH": "64"})
    assert small.exit_code == 2 and f"TRAITCTL_MAX_CONFIG_BYTES={size}" in small.stderr, small
    exact = cli("config", "get", "version", "--trait", "HasUuid", env={"TRAITCTL_MAX_CONFIG_BYTES": str(size),
                                                                        "TRAITCTL_MAX_CONFIG_DEPTH": "64"})
    assert exact.exit_code == 0 and exact.stdout.strip() == "4", exact


def test_read_commands_still_accept_names_that_exist(cli) -> None:
    # The stricter matching keeps what worked: short names, configured and source-only models.
    assert cli("config", "get", "version", "--trait", "HasUuid", "--model", "User").exit_code == 0
    assert cli("config", "show", "--model", "App\\Models\\Invoice", "--tenant", "acme").exit_code == 0
    assert cli("jobs", "list", "--trait", "hasuuid").exit_code == 0
    assert cli("flags", "eval", "trait_caching", "--model", "App\\Models\\User:7").exit_code == 0
    out = cli("docs", "generate", "--out", "pages")  # the folder itself may be made, in a folder that exists
    assert out.exit_code == 0, out
