"""`traitctl export` and `[export]`: atomic writes, --check/--dry-run, bad targets, losses, and the
automatic export after every kind of write (config, tenant, flag, override, rollback, flags-advance)."""

from __future__ import annotations

import json
import sys
import time
import types

import pytest


def _snapshot(project):
    return json.loads((project / "config" / ".traitctl" / "snapshot.json").read_text())


@pytest.fixture
def auto(project, config_file):
    text = config_file.read_text()
    config_file.write_text(text + '\n[export]\nformats = ["json"]\njson = ".traitctl/snapshot.json"\n')
    (project / "config" / ".traitctl").mkdir(exist_ok=True)
    return project


def test_json_export_check_and_dry_run(cli, project):
    out = project / "snap.json"
    missing = cli("export", "--format", "json", "--output", "snap.json", "--check")
    assert missing.exit_code == 1 and "+++ " in missing.stdout and not out.exists()
    dry = cli("export", "--format", "json", "--output", "snap.json", "--dry-run")
    assert dry.exit_code == 0 and '"schema": "traitctl.snapshot/1"' in dry.stdout and not out.exists()
    written = cli("--json", "export", "--format", "json", "--output", "snap.json")
    assert written.exit_code == 0, written
    report = json.loads(written.stdout)["exports"][0]
    assert report["files"][0] == {"path": str(out), "changed": True, "written": True}
    doc = json.loads(out.read_text())
    assert doc["schema"] == "traitctl.snapshot/1" and doc["source"] == "config/traits.toml"
    assert doc["digest"].startswith("sha256:") and doc["generated"].endswith("Z")
    assert doc["models"]["App\\Models\\Product"]["Cacheable"]["settings"]["ttl"] == 600
    again = cli("export", "--format", "json", "--output", "snap.json", "--check")  # only `generated` would differ
    assert again.exit_code == 0 and again.stdout == "", again
    assert not list(project.glob(".snap.json.*"))  # no temporary file left behind


def test_bad_targets_are_refused_and_create_nothing(cli, project):
    gone = cli("export", "--format", "json", "--output", "nowhere/snap.json")
    assert gone.exit_code == 2 and "nowhere does not exist" in gone.stderr and not (project / "nowhere").exists()
    empty = cli("export", "--format", "json", "--output", "")
    assert empty.exit_code == 2 and "--output is empty" in empty.stderr
    unknown = cli("export", "--format", "yaml")
    assert unknown.exit_code == 2 and "Unknown export format 'yaml'" in unknown.stderr
    nothing = cli("export")
    assert nothing.exit_code == 2 and "give --format" in nothing.stderr
    folder = cli("export", "--format", "laravel", "--output", "no-such-dir")
    assert folder.exit_code == 2 and not (project / "no-such-dir").exists()


def test_losses_are_exit_2_naming_the_key_unless_allowed(project, config_file, monkeypatch):
    from traitctl import export_service
    from traitctl.context import App, GlobalOptions
    from traitctl.engine.errors import InputError
    from traitctl.output import Output

    fake = types.ModuleType("traitctl.engine.export_flagd")
    fake.render = lambda snap: ({"flags": {}}, ["flags.trait_caching.bucketing crc32 differs in flagd"])
    monkeypatch.setitem(sys.modules, "traitctl.engine.export_flagd", fake)
    app = App(options=GlobalOptions(config=str(config_file)), env={}, cwd=project, out=Output(quiet=2))
    with pytest.raises(InputError, match="flags.trait_caching.bucketing") as refused:
        export_service.export(app, "flagd", "flags.json")
    assert refused.value.exit_code == 2 and not (project / "flags.json").exists()
    result = export_service.export(app, "flagd", "flags.json", allow_lossy=True)
    assert result.losses and json.loads((project / "flags.json").read_text()) == {"flags": {}}
    app.close()


def test_missing_renderer_is_one_clear_line(cli, project):
    try:
        import traitctl.engine.export_laravel  # noqa: F401
    except ModuleNotFoundError:
        result = cli("export", "--format", "laravel", "--output", str(project))
        assert result.exit_code == 2
        assert result.stderr == ("error: traitctl export --format laravel needs traitctl.engine.export_laravel, "
                                 "which is not part of this build.\n")
    else:
        result = cli("export", "--format", "laravel", "--output", str(project), "--allow-lossy")
        assert result.exit_code == 0, result
        assert (project / "traits.php").exists() and (project / "feature_flags.php").exists()


def test_every_kind_of_write_exports_automatically(cli, auto):
    assert cli("config", "set", "ttl", "1234", "--trait", "Cacheable").exit_code == 0
    assert _snapshot(auto)["traits"]["Cacheable"]["settings"]["ttl"] == 1234
    assert cli("tenants", "add", "newco", "--name", "New Co").exit_code == 0
    assert _snapshot(auto)["tenants"]["newco"]["name"] == "New Co"
    assert cli("flags", "override", "trait_caching", "--user", "u1", "--on").exit_code == 0
    assert _snapshot(auto)["flags"]["trait_caching"]["overrides"]["u1"]["on"] is True
    assert cli("flags", "set", "trait_caching", "--percentage", "40").exit_code == 0
    assert _snapshot(auto)["flags"]["trait_caching"]["percentage"] == 40
    events = json.loads(cli("history", "--json").stdout)
    events = events["events"] if isinstance(events, dict) else events
    ttl_event = next(e for e in events if e["kind"] == "config.set")
    assert cli("rollback", str(ttl_event["id"])).exit_code == 0
    assert _snapshot(auto)["traits"]["Cacheable"]["settings"]["ttl"] != 1234
    assert cli("export", "--check").exit_code == 0  # [export] formats, nothing stale


def test_an_export_failure_is_a_warning_and_the_write_stands(cli, project, config_file):
    config_file.write_text(config_file.read_text() + '\n[export]\nformats = ["json"]\njson = "gone/snapshot.json"\n')
    result = cli("config", "set", "ttl", "777", "--trait", "Cacheable")
    assert result.exit_code == 0, result
    assert "warning: automatic json export failed" in result.stderr and "gone" in result.stderr
    assert cli("config", "get", "ttl", "--trait", "Cacheable").stdout.strip() == "777"


def test_flags_advance_drops_expired_overrides_from_the_export(cli, auto):
    assert cli("flags", "override", "trait_caching", "--user", "u9", "--on", "--ttl", "1s").exit_code == 0
    snap = _snapshot(auto)
    if "u9" in snap["flags"]["trait_caching"]["overrides"]:  # (a loaded machine may take over 1 s)
        time.sleep(1.1)
    assert cli("flags", "advance").exit_code == 0
    assert "u9" not in _snapshot(auto)["flags"]["trait_caching"]["overrides"]


def test_the_flags_advance_job_re_exports(auto, config_file):
    import datetime as dt

    from traitctl.context import App, GlobalOptions
    from traitctl.jobs import operations
    from traitctl.output import Output
    from traitctl.runtime.flags import _utcnow

    app = App(options=GlobalOptions(config=str(config_file)), env={}, cwd=auto, out=Output(quiet=2))
    now = _utcnow()
    app.store().flag_overrides.set("trait_caching", "u7", True, expires=now + dt.timedelta(seconds=30), now=now,
                                   actor="t")
    ctx = types.SimpleNamespace(app=app, job=types.SimpleNamespace(id=1), now=lambda: now)
    operations._flags_advance(ctx)
    assert _snapshot(auto)["flags"]["trait_caching"]["overrides"]["u7"]["on"] is True
    ctx.now = lambda: now + dt.timedelta(seconds=31)
    operations._flags_advance(ctx)
    assert "u7" not in _snapshot(auto)["flags"]["trait_caching"]["overrides"]
    app.close()
