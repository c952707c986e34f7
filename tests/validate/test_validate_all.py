"""One validation for every section: a table of (edit of the bundled example, expected message
fragment), checked in-process through the same function ``config validate``, ``health`` and the
worker call; then the CLI, the worker and health on a broken file in real subprocesses."""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import pytest

from traitctl import validation_service
from traitctl.context import App, GlobalOptions
from traitctl.engine import validation
from traitctl.engine.errors import InputError
from traitctl.output import Output

APPEND, PREPEND = None, "^"
OP = '[traits.HasUserTracking.operations.prune]\ncommand = ["php", "artisan", "tracking:cleanup"]\n'
RETENTION = 'retention = { counter = "30d", gauge = "7d", timing = "7d" }'

#: (id, text to replace (APPEND/PREPEND: add ``new`` at the end/start), new text, message fragment)
CASES = [
    # [traitctl]
    ("traitctl-unknown-key", 'queue = ""\n', 'queue = ""\nstroe = "x"\n', "traitctl -> stroe: unknown key. Did you mean 'store'"),
    ("traitctl-store-scheme", 'store = ""', 'store = "mysql://u:pw@h/db"', "traitctl -> store: mysql://… is not a supported URL"),
    ("traitctl-store-type", 'store = ""', "store = 5", "traitctl -> store: must be a URL string"),
    ("traitctl-queue-scheme", 'queue = ""', 'queue = "amqp://h"', "traitctl -> queue: amqp://… is not a supported URL"),
    ("traitctl-source-type", 'source = ["../examples/laravel-app/app", "../examples/python-app"]', "source = [1]",
     "traitctl -> source must be a list of strings"),
    ("traitctl-lock-timeout-word", 'queue = ""\n', 'queue = ""\nlock_timeout = "soon"\n', "[traitctl] lock_timeout must be a finite number of seconds"),
    ("traitctl-lock-timeout-nan", 'queue = ""\n', 'queue = ""\nlock_timeout = nan\n', "[traitctl] lock_timeout must be a finite number of seconds"),
    ("traitctl-lock-timeout-negative", 'queue = ""\n', 'queue = ""\nlock_timeout = -1\n', "from 0 to 86400"),
    # [multi_tenancy]
    ("mt-enabled-type", "enabled = true\ncolumn", 'enabled = "yes"\ncolumn', "multi_tenancy -> enabled: must be true or false"),
    ("mt-column-empty", 'column = "tenant_id"', 'column = ""', "multi_tenancy -> column: must be a non-empty string"),
    ("mt-unknown-key", 'column = "tenant_id"', 'column = "tenant_id"\ntenant_modle = "x"', "Did you mean 'tenant_model'"),
    # traits: schema and operations
    ("trait-schema-not-table", APPEND, "[traits.Extra]\nschema = 5\n", "traits -> Extra -> schema: must be a table"),
    ("trait-operations-not-table", APPEND, "[traits.Extra]\noperations = []\n", "traits -> Extra -> operations: must be a table"),
    ("op-command-string", 'command = ["php", "artisan", "tracking:cleanup"]', 'command = "php artisan tracking:cleanup"',
     "prune -> command: must be a non-empty list of strings"),
    ("op-command-empty", 'command = ["php", "artisan", "tracking:cleanup"]', "command = []",
     "prune -> command: must be a non-empty list of strings"),
    ("op-command-not-strings", 'command = ["php", "artisan", "tracking:cleanup"]', 'command = ["php", 1]',
     "prune -> command: must be a non-empty list of strings"),
    ("op-command-and-callable", OP, OP + 'callable = "pkg.mod:fn"\n', "give exactly one of command"),
    ("op-callable-syntax", APPEND, '[traits.HasUuid.operations.fill]\ncallable = "nocolon"\n', "is not \"package.module:function\""),
    ("op-name", APPEND, '[traits.HasUuid.operations."bad name"]\ncommand = ["true"]\n', "Invalid operation name 'bad name'"),
    ("op-unknown-key", "retries = 3 ", "retires = 3 ", "unknown key 'retires'"),
    ("op-retries-word", "retries = 3 ", 'retries = "many" ', 'prune -> retries: "many" must be a number from 0 to 100'),
    ("op-retries-fraction", "retries = 3 ", "retries = 2.5 ", "prune -> retries: 2.5 must be a whole number"),
    ("op-timeout-word", 'timeout = "10m"', 'timeout = "forever"', "is not a duration"),
    ("op-timeout-zero", 'timeout = "10m"', "timeout = 0", "prune -> timeout: 0 must be a number from 0.001"),
    ("op-retry-delay-negative", 'retry_delay = "30s"', "retry_delay = -1", "prune -> retry_delay: -1 must be a number from 0"),
    ("op-backoff-range", "backoff = 2\n", "backoff = 50\n", "prune -> backoff: 50 must be a number from 1 to 10"),
    ("op-priority-range", "priority = 0\n", "priority = 1000\n", "prune -> priority: 1000 must be a number from -100 to 100"),
    ("op-priority-type", "priority = 0\n", 'priority = "high"\n', 'prune -> priority: "high" must be a number'),
    ("op-cwd-type", 'cwd = "../examples/laravel-app"', "cwd = 5", "prune -> cwd: must be a string"),
    ("op-queue-name", "priority = 0\n", 'priority = 0\nqueue = "no spaces"\n', "Invalid queue name 'no spaces'"),
    # env tables (settings and flags)
    ("env-trait-name", "ttl = 3600\n", 'ttl = 3600\nenv = { ttl = "CACHE TTL" }\n', "traits -> Cacheable -> env -> ttl: 'CACHE TTL' is not an environment variable name"),
    ("env-trait-missing-key", "ttl = 3600\n", 'ttl = 3600\nenv = { size = "CACHE_SIZE" }\n', "traits -> Cacheable -> env -> size: names CACHE_SIZE for key 'size', which the table does not set"),
    ("env-not-table", "ttl = 3600\n", 'ttl = 3600\nenv = "CACHE_TTL"\n', "traits -> Cacheable -> env: must be a table"),
    ("env-model", "ttl = 600\n", 'ttl = 600\nenv = { ttl = "1TTL" }\n', "models -> App\\Models\\Product -> Cacheable -> env -> ttl: '1TTL'"),
    ("env-tenant", "ttl = 60\n", 'ttl = 60\nenv = { ttl = 5 }\n', "tenants -> acme -> traits -> Cacheable -> env -> ttl: 5 is not"),
    ("env-tenant-model", "retention_days = 3650\n", 'retention_days = 3650\nenv = { days = "D" }\n',
     "tenants -> acme -> models -> App\\Models\\Invoice -> Auditable -> env -> days: names D"),
    ("env-flag", 'stickiness = "tenant"\n', 'stickiness = "tenant"\nenv = { enabled = "9X" }\n', "flags -> trait_caching -> env -> enabled: '9X'"),
    ("env-flag-tenant", "[flags.trait_caching.tenants.acme]\npercentage = 100\n",
     '[flags.trait_caching.tenants.acme]\npercentage = 100\nenv = { enabled = "X" }\n',
     "flags -> trait_caching -> tenants -> acme -> env -> enabled: names X"),
    # tenants
    ("tenant-name-type", 'name = "Acme Corporation"', "name = 5", "tenants -> acme -> name: must be a string"),
    ("tenant-unknown-key", 'name = "Acme Corporation"', 'nmae = "Acme Corporation"', "unknown tenant key. Did you mean 'name'"),
    # flags
    ("flag-percentage-inf", "percentage = 25\n", "percentage = inf\n", "flags.trait_caching.percentage = inf is not a finite number"),
    ("flag-percentage-nan", "percentage = 25\n", "percentage = nan\n", "flags.trait_caching.percentage = nan is not a finite number"),
    ("flag-percentage-range", "percentage = 25\n", "percentage = 150\n", "flags.trait_caching.percentage = 150 is outside 0-100"),
    ("flag-percentage-fraction", "percentage = 25\n", "percentage = 2.5\n", "is not a whole number"),
    ("flag-algorithm", 'stickiness = "tenant"\n', 'stickiness = "tenant"\nbucketing = "md5"\n', 'bucketing = "md5" is not an algorithm'),
    ("flag-enabled-type", "enabled = true\npercentage = 25\n", 'enabled = "yes"\npercentage = 25\n', None),
    ("flag-unknown-key", 'stickiness = "tenant"\n', 'stickiness = "tenant"\nrollout = 5\n', "flags.trait_caching.rollout is not a flag setting"),
    ("flag-schedule", '"10@2026-12-01", "50@2026-12-08"', '"x@2026-12-01", "50@2026-12-08"', "flags.traits_management_system.schedule: Schedule step"),
    ("flag-schedule-type", 'schedule = ["10@2026-12-01", "50@2026-12-08", "100@2026-12-15"]', "schedule = 5", "schedule must be a list"),
    ("flag-guard-action", 'action = "rollback"', 'action = "explode"', 'guard.action = "explode" must be one of'),
    ("flag-tenant-key", "[flags.trait_caching.tenants.acme]\npercentage = 100\n",
     "[flags.trait_caching.tenants.acme]\npercentage = 100\nowner = \"x\"\n", "cannot be set per tenant"),
    # [jobs]
    ("jobs-heartbeat-type", "heartbeat = 2 ", 'heartbeat = "fast" ', 'jobs -> heartbeat: "fast" must be a number from 0.05 to 3600'),
    ("jobs-lost-after", "lost_after = 15 ", "lost_after = 1 ", "must be longer than jobs -> heartbeat"),
    ("jobs-retention", "retention_days = 30 ", "retention_days = 0 ", "jobs -> retention_days: 0 must be a number from 1"),
    ("jobs-queue-name", 'queue = "default" ', 'queue = "a b" ', "Invalid queue name 'a b'"),
    ("jobs-unknown-key", "heartbeat = 2 ", "hearbeat = 2 ", "jobs -> hearbeat: unknown key. Did you mean 'heartbeat'"),
    ("jobs-operation-unknown", APPEND, "[jobs.operations.prune]\nretries = 1\n", "jobs -> operations -> prune: not a built-in operation"),
    ("jobs-operation-setting", APPEND, '[jobs.operations.cleanup]\nretries = "x"\n', "jobs -> operations -> cleanup -> retries"),
    ("jobs-operation-key", APPEND, '[jobs.operations.cleanup]\ncommand = ["rm"]\n', "jobs -> operations -> cleanup -> command: unknown key"),
    # [schedule]
    ("cron-range", 'cron = "30 3 * * *"', 'cron = "99 * * * *"', "minute '99' is outside 0-59"),
    ("cron-fields", 'cron = "30 3 * * *"', 'cron = "30 3 * *"', "must have 5 fields"),
    ("cron-syntax", 'cron = "30 3 * * *"', 'cron = "30 3 * * mon"', "day_of_week field 'mon' is not valid"),
    ("cron-never", 'cron = "30 3 * * *"', 'cron = "0 0 31 2 *"', "never matches a date"),
    ("schedule-operation", 'operation = "cleanup"', 'operation = "clean-up"', "schedule -> cleanup -> operation: Unknown system operation 'clean-up'"),
    ("schedule-trait", 'operation = "cleanup"', 'operation = "prune"\ntrait = "HasUserTraking"', "unknown trait 'HasUserTraking'. Did you mean 'HasUserTracking'"),
    ("schedule-trait-operation", 'operation = "cleanup"', 'operation = "purge"\ntrait = "HasUserTracking"', "Unknown operation of HasUserTracking 'purge'"),
    ("schedule-tenant", 'operation = "cleanup"', 'operation = "cleanup"\ntenant = "acm"', "unknown tenant 'acm'"),
    ("schedule-unknown-key", 'operation = "cleanup"', 'operation = "cleanup"\nevery = "1h"', "schedule -> cleanup: unknown key 'every'"),
    ("schedule-data", 'operation = "cleanup"', 'operation = "cleanup"\ndata = 5', "schedule -> cleanup -> data: must be a table"),
    # [[events.subscribers]]
    ("subscriber-command-string", APPEND, '[[events.subscribers]]\nname = "log"\non = ["flag.*"]\ncommand = "cat"\n',
     "events -> subscribers -> 0 -> command: must be a non-empty list of strings"),
    ("subscriber-on", APPEND, '[[events.subscribers]]\nname = "log"\ncommand = ["cat"]\n', "events -> subscribers -> 0 -> on: must be a list"),
    ("subscriber-on-empty", APPEND, '[[events.subscribers]]\non = []\ncommand = ["cat"]\n', "events -> subscribers -> 0 -> on: must be a list"),
    ("subscriber-callable", APPEND, '[[events.subscribers]]\non = ["flag.*"]\ncallable = "a.b:c"\n', "a subscriber needs command"),
    ("subscriber-name", APPEND, '[[events.subscribers]]\nname = 5\non = ["flag.*"]\ncommand = ["cat"]\n', "events -> subscribers -> 0 -> name: must be a string"),
    ("subscriber-duplicate", APPEND, '[[events.subscribers]]\nname = "a"\non = ["x"]\ncommand = ["cat"]\n'
     '[[events.subscribers]]\nname = "a"\non = ["y"]\ncommand = ["cat"]\n', "names must differ"),
    ("subscriber-retries", APPEND, '[[events.subscribers]]\non = ["x"]\ncommand = ["cat"]\nretries = "lots"\n', "events -> subscribers -> 0 -> retries"),
    ("subscribers-not-array", APPEND, "[events]\nsubscribers = 5\n", "must be an array of tables"),
    ("events-unknown-key", APPEND, "[events]\nsubscriber = []\n", "Did you mean 'subscribers'"),
    # [health]
    ("health-type", APPEND, '[health]\nqueue_pending_warn = "lots"\n', "[health] queue_pending_warn: expected a finite non-negative number, got 'lots'"),
    ("health-nan", APPEND, "[health]\nworker_max_age = nan\n", "[health] worker_max_age: expected a finite non-negative number"),
    ("health-inf", APPEND, "[health]\nqueue_age_fail = inf\n", "[health] queue_age_fail: expected a finite non-negative number"),
    ("health-negative", APPEND, "[health]\nqueue_age_warn = -1\n", "[health] queue_age_warn"),
    ("health-unknown", APPEND, "[health]\nqueue_pending_wran = 5\n", "unknown threshold. Did you mean 'queue_pending_warn'"),
    # [telemetry]
    ("retention-duration", RETENTION, 'retention = { counter = "forever" }', "telemetry -> retention -> counter"),
    ("retention-kind", RETENTION, 'retention = { counters = "30d" }', "telemetry -> retention -> counters: unknown kind"),
    ("retention-inf", RETENTION, "retention = { counter = inf }", "telemetry -> retention -> counter: inf must be more than zero"),
    ("retention-huge", RETENTION, 'retention = { gauge = "99999999999d" }', "at most 36500d"),
    ("retention-zero", RETENTION, "retention = { timing = 0 }", "telemetry -> retention -> timing"),
    ("retention-type", RETENTION, "retention = 30", "telemetry -> retention: write"),
    ("server-order", "cpu_percent = { warning = 70, critical = 90 }", "cpu_percent = { warning = 95, critical = 90 }",
     "telemetry -> server -> cpu_percent: warning (95) is above critical (90)"),
    ("server-nan", "cpu_percent = { warning = 70, critical = 90 }", "cpu_percent = { warning = nan, critical = 90 }",
     "telemetry -> server -> cpu_percent: warning and critical must be finite numbers"),
    ("server-unknown", "cpu_percent = { warning = 70, critical = 90 }", "cpu = { warning = 70, critical = 90 }",
     "telemetry -> server -> cpu: unknown check"),
    ("telemetry-unknown", RETENTION, RETENTION + '\nretension = "1d"', "telemetry -> retension: unknown key. Did you mean 'retention'"),
    # [migration]
    ("migration-int", "batch_size = 5 ", "batch_size = 0 ", "migration -> batch_size: expected a whole number of at least 1"),
    ("migration-mode", 'flags = "phase" ', 'flags = "each" ', "migration -> flags: expected \"phase\" or \"trait\""),
    ("migration-observe", 'observe = "24h"', 'observe = "soon"', "migration -> observe"),
    ("migration-nan", "error_rate_max = 1.0", "error_rate_max = nan", "migration -> error_rate_max: expected a finite non-negative number"),
    ("migration-steps", "steps = [10, 50, 100]", "steps = [50, 10]", "increasing percentages"),
    ("migration-holidays", 'holidays = ["2026-12-24"', 'holidays = ["Christmas"', "migration -> holidays: 'Christmas' is not a date"),
    ("migration-unknown", "batch_size = 5 ", "batchsize = 5 ", "migration -> batchsize: unknown setting. Did you mean 'batch_size'"),
    ("migration-flag-name", 'flag = "traits_management_system"', 'flag = "no spaces"', "migration -> flag: 'no spaces' is not a flag name"),
    # [inventory]
    ("inventory-type", "exclude = []", "exclude = [1]", "inventory -> exclude must be a list of strings"),
    ("inventory-unknown", "exclude = []", "exlcude = []", "inventory -> exlcude: unknown key. Did you mean 'exclude'"),
    # [export]
    ("export-format", APPEND, '[export]\nformats = ["laravel", "php"]\n', 'export -> formats: "php" is not a format'),
    ("export-formats-type", APPEND, '[export]\nformats = "laravel"\n', "export -> formats: must be a list"),
    ("export-formats-twice", APPEND, '[export]\nformats = ["json", "json"]\n', "a format is listed twice"),
    ("export-path", APPEND, '[export]\njson = ""\n', "export -> json: must be a non-empty path"),
    ("export-path-type", APPEND, "[export]\nlaravel = 5\n", "export -> laravel: must be a non-empty path"),
    ("export-lossy", APPEND, '[export]\nallow_lossy = "yes"\n', "export -> allow_lossy: must be true or false"),
    ("export-unknown", APPEND, "[export]\nfromats = []\n", "export -> fromats: unknown key. Did you mean 'formats'"),
    # [cache], [history]
    ("cache-url", APPEND, "[cache]\nurl = 5\n", "cache -> url: must be a string"),
    ("cache-prefix", APPEND, "[cache]\nprefix = []\n", "cache -> prefix: must be a string"),
    ("history-zero", APPEND, "[history]\nretention_days = 0\n", "history -> retention_days: must be a whole number of days from 1 to 36500, not 0"),
    ("history-string", APPEND, '[history]\nretention_days = "30"\n', "history -> retention_days"),
    ("history-bool", APPEND, "[history]\nretention_days = true\n", "history -> retention_days"),
    ("history-unknown", APPEND, "[history]\nretention_day = 3\n", "history -> retention_day: unknown key. Did you mean 'retention_days'"),
    # top level
    ("top-level-unknown", APPEND, "[telemetri]\nretention = {}\n", "[telemetri]: unknown top-level key. Did you mean 'telemetry'"),
    ("top-level-scalar", PREPEND, "histroy = 5\n", "[histroy]: unknown top-level key. Did you mean 'history'"),
    ("section-not-table", PREPEND, "cache = 5\n", "[cache] must be a table, not an integer"),
]
# The flag "enabled" case names its own fragment (the flags module's wording).
CASES = [c if c[3] is not None else (*c[:3], 'flags.trait_caching.enabled = "yes" must be true or false') for c in CASES]


def _edit(text: str, old: str | None, new: str) -> str:
    if old is APPEND:
        return text + "\n" + new
    if old == PREPEND:
        return new + text
    assert text.count(old) == 1, f"the example no longer has exactly one {old!r}"
    return text.replace(old, new)


def _findings(config_file: Path) -> list[validation_service.Finding]:
    app = App(options=GlobalOptions(config=str(config_file)), env={}, cwd=config_file.parent, out=Output(quiet=2))
    return validation_service.check(app)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    import shutil

    from tests.conftest import ROOT

    folder = tmp_path_factory.mktemp("validate") / "config"
    shutil.copytree(ROOT / "config", folder, ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
    return folder


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_rule_is_reported_with_file_line_and_path(case, example, tmp_path):
    name, old, new, fragment = case
    folder = tmp_path / "config"
    import shutil

    shutil.copytree(example, folder)
    main = folder / "traits.toml"
    main.write_text(_edit(main.read_text(), old, new))
    findings = _findings(main)
    matching = [f for f in findings if fragment in f.message]
    assert matching, f"{name}: no finding contains {fragment!r}: {[f.message for f in findings]}"
    for finding in matching:
        assert finding.file == str(main) and finding.line is not None and finding.path, finding


def test_bundled_example_is_clean(example):
    assert _findings(example / "traits.toml") == []


def test_good_env_tables_and_sections_are_clean(example, tmp_path):
    import shutil

    folder = tmp_path / "config"
    shutil.copytree(example, folder)
    main = folder / "traits.toml"
    text = main.read_text().replace("ttl = 3600\n", 'ttl = 3600\nenv = { ttl = "CACHE_TTL" }\n')
    text = text.replace('stickiness = "tenant"\n', 'stickiness = "tenant"\nenv = { enabled = "FEATURE_CACHING" }\n')
    text += ('\n[export]\nformats = ["laravel", "json"]\njson = ".traitctl/snapshot.json"\nallow_lossy = false\n'
             '\n[cache]\nurl = "redis://127.0.0.1:6379/1"\nprefix = "traitctl:"\n\n[history]\nretention_days = 365\n'
             '\n[health]\nqueue_pending_warn = 10\n\n[jobs.operations.cleanup]\nretries = 2\ntimeout = "5m"\n'
             '\n[[events.subscribers]]\nname = "log"\non = ["flag.*"]\ncommand = ["cat"]\n')
    main.write_text(text)
    assert _findings(main) == []


def test_tenant_files_are_checked_with_their_own_lines(example, tmp_path):
    import shutil

    folder = tmp_path / "config"
    shutil.copytree(example, folder)
    tenant = folder / "tenants" / "globex.toml"
    tenant.write_text(tenant.read_text().replace('name = "Globex"', 'nmae = "Globex"')
                      .replace("ttl = 120", 'ttl = 120\nenv = { ttl = "1TTL" }'))
    found = {f.path: f for f in _findings(folder / "traits.toml")}
    assert set(found) == {("nmae",), ("models", "App\\Models\\Product", "Cacheable", "env", "ttl")}
    assert all(f.file == str(tenant) and f.line for f in found.values())
    assert "Did you mean 'name'" in found[("nmae",)].message


def test_messages_name_their_key_path_once(example, tmp_path):
    import shutil

    folder = tmp_path / "config"
    shutil.copytree(example, folder)
    main = folder / "traits.toml"
    main.write_text(main.read_text().replace("percentage = 25\n", "percentage = 150\n")
                    + "\n[health]\nqueue_age_warn = -1\n[traits.Extra]\nschema = 5\n")
    messages = sorted(f.message for f in _findings(main))
    assert messages == [
        "[health] queue_age_warn: expected a finite non-negative number, got -1.",
        "flags.trait_caching.percentage = 150 is outside 0-100.",
        "traits -> Extra -> schema: must be a table, not an integer",
    ]


def test_every_problem_of_a_section_is_reported(example, tmp_path):
    import shutil

    folder = tmp_path / "config"
    shutil.copytree(example, folder)
    main = folder / "traits.toml"
    main.write_text(main.read_text().replace("retries = 3 ", 'retries = "many" ').replace("backoff = 2\n", "backoff = 0\n")
                    + '\n[health]\nqueue_pending_warn = "lots"\nqueue_age_warn = nan\n')
    paths = {f.path for f in _findings(main)}
    assert {("traits", "HasUserTracking", "operations", "prune", "retries"),
            ("traits", "HasUserTracking", "operations", "prune", "backoff"),
            ("health", "queue_pending_warn"), ("health", "queue_age_warn")} <= paths


def test_consumers_use_the_same_rules(tmp_path):
    """The store, the queue, the settings and the scan accept and refuse what validation does."""
    from traitctl import settings
    from traitctl.jobs.queue import backend_of
    from traitctl.scan import _strings
    from traitctl.store.db import connect

    for scheme in validation.STORE_SCHEMES:
        url = scheme + (str(tmp_path / "s.db") if scheme.startswith("sqlite") else "u@127.0.0.1:5432/db")
        connect(url)  # an unopened database: no error for a scheme the store supports
    for scheme in validation.QUEUE_SCHEMES:
        backend_of(scheme + "x")
    with pytest.raises(InputError):
        backend_of("amqp://h")
    for bad in ("nan", "-1", "soon", "1e999"):
        with pytest.raises(InputError, match="TRAITCTL_LOCK_TIMEOUT"):
            settings.resolve(tmp_path / "traits.toml", {}, {"TRAITCTL_LOCK_TIMEOUT": bad})
    with pytest.raises(InputError, match=r"\[traitctl\] lock_timeout"):
        settings.resolve(tmp_path / "traits.toml", {"lock_timeout": math.nan}, {})
    with pytest.raises(InputError, match="inventory -> exclude must be a list of strings"):
        _strings([1], "inventory -> exclude", tmp_path)


def test_worker_pauses_delivery_with_one_line_when_subscribers_break(project, caplog):
    from traitctl.jobs.worker import Runtime

    config = project / "config" / "traits.toml"
    runtime = Runtime(GlobalOptions(config=str(config)), {"TRAITCTL_ACTOR": "tester"}, project)
    try:
        runtime.deliver_events()  # sets the cursor
        config.write_text(config.read_text() + '\n[[events.subscribers]]\non = ["flag.*"]\ncommand = "cat"\n')
        with caplog.at_level(logging.WARNING, logger="traitctl.worker"):
            assert [runtime.deliver_events() for _ in range(3)] == [0, 0, 0]
        lines = [r for r in caplog.records if "event delivery paused" in r.getMessage()]
        assert len(lines) == 1 and lines[0].exc_info is None
        assert "events -> subscribers -> 0 -> command" in lines[0].getMessage()
    finally:
        runtime.store.close()


# -- real subprocesses ------------------------------------------------------------------------------
def _break(config_file: Path) -> None:
    config_file.write_text(config_file.read_text().replace('cron = "30 3 * * *"', 'cron = "99 * * * *"')
                           + '\n[health]\nqueue_pending_warn = "lots"\n'
                           '\n[[events.subscribers]]\non = ["flag.*"]\ncommand = "cat"\n')


def test_config_validate_cli_lists_every_section_and_example_is_clean(cli, config_file):
    ok = cli("config", "validate")
    assert ok.exit_code == 0, ok
    _break(config_file)
    text = cli("config", "validate", "--no-source")
    assert text.exit_code == 1, text
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith(f"{config_file}:") for line in lines), lines
    assert any(":171: schedule -> cleanup -> cron: cron '99 * * * *': minute '99' is outside 0-59." in line
               for line in lines), lines
    doc = json.loads(cli("config", "validate", "--json", "--no-source").stdout)
    assert doc["valid"] is False
    assert {tuple(p["path"]) for p in doc["problems"]} == {
        ("schedule", "cleanup", "cron"), ("health", "queue_pending_warn"), ("events", "subscribers", "0", "command")}
    assert all(isinstance(p["line"], int) for p in doc["problems"])


def test_worker_refuses_to_start_on_an_invalid_configuration(cli, project, config_file):
    _break(config_file)
    result = cli("worker", timeout=60)
    assert result.exit_code == 2, result
    assert "the worker does not start" in result.stderr
    assert "events -> subscribers -> 0 -> command: must be a non-empty list of strings" in result.stderr
    assert "minute '99' is outside 0-59" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "config" / ".traitctl" / "traitctl.db").exists()  # refused before opening the store


def test_health_configuration_check_fails_on_an_invalid_file(cli, config_file):
    _break(config_file)
    result = cli("health", "--only", "configuration,queue", "--json")
    assert result.exit_code == 1, result
    checks = json.loads(result.stdout)["checks"]
    assert checks["configuration"]["status"] == "fail"
    assert checks["configuration"]["message"].startswith("3 problem(s)")
    assert any("events -> subscribers -> 0 -> command" in p for p in checks["configuration"]["details"]["problems"])
    assert checks["queue"]["status"] != "fail"  # a bad [health] threshold does not stop the other checks


def test_config_show_and_set_for_a_model_follow_the_traits_it_uses(cli, config_file):
    shown = json.loads(cli("config", "show", "--model", "App\\Models\\Invoice", "--json").stdout)
    assert set(shown["traits"]) == {"Auditable", "BelongsToTenant", "HasStatus", "HasUserTracking", "HasUuid"}
    product = json.loads(cli("config", "show", "--model", "Product", "--json").stdout)
    assert "Cacheable" in product["traits"] and "Versionable" not in product["traits"]
    before = config_file.read_bytes()
    refused = cli("config", "set", "ttl", "5", "--trait", "Cacheable", "--model", "Invoice")
    assert refused.exit_code == 2, refused
    assert "App\\Models\\Invoice does not use Cacheable (it uses Auditable, BelongsToTenant" in refused.stderr
    assert "--force" in refused.stderr and config_file.read_bytes() == before
    assert cli("config", "set", "ttl", "5", "--trait", "Cacheable", "--model", "Invoice", "--force").exit_code == 0
    assert cli("config", "set", "ttl", "7", "--trait", "Cacheable", "--model", "Invoice").exit_code == 0  # has an override now
    assert cli("config", "set", "ttl", "9", "--trait", "Cacheable", "--model", "Product").exit_code == 0


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch):
    monkeypatch.delenv("TRAITCTL_CONFIG", raising=False)
    monkeypatch.setenv("TRAITCTL_ACTOR", os.environ.get("TRAITCTL_ACTOR", "tester"))
