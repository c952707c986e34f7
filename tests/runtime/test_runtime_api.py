"""The runtime's own behaviour: overrides end on time, files are re-read when they change, the old
import paths keep working, and the snapshot reader refuses what it cannot read."""

from __future__ import annotations

import json
import os
import time
import zlib

import pytest
from runcli import run_cli


def _env() -> dict[str, str]:
    return dict(os.environ)


def _off_user(flag: str, pct: int) -> str:
    return next(str(u) for u in range(10_000) if zlib.crc32(f"{flag}:{u}".encode()) % 100 >= pct)


def test_an_override_with_a_2s_ttl_ends_on_time_in_flags_from_the_store_and_the_snapshot(project, config_file):
    from traitctl.runtime import Flags

    import datetime as dt

    from traitctl import export_service
    from traitctl.context import App, GlobalOptions
    from traitctl.output import Output
    from traitctl.runtime.flags import _utcnow

    user = _off_user("traits_management_system", 10)
    store = f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}"
    # in-process (a real SQLite store), so the 2 s are not spent starting processes on a loaded machine
    app = App(options=GlobalOptions(config=str(config_file)), env=os.environ, cwd=project, out=Output(quiet=2))
    now = _utcnow()
    app.store().flag_overrides.set("traits_management_system", user, True, expires=now + dt.timedelta(seconds=2),
                                   now=now, actor="tester")
    export_service.export(app, "json", "snapshot.json")
    app.close()
    snapshot = json.loads((project / "snapshot.json").read_text())
    expires = snapshot["flags"]["traits_management_system"]["overrides"][user]["expires"]
    assert expires.endswith("Z")
    # refresh is far longer than the TTL: only the override's own expiry can end it on time
    from_store = Flags.load(config_file, store=store, refresh=60)
    from_snapshot = Flags.load(project / "snapshot.json", refresh=60)
    started = time.monotonic()
    assert from_store.is_enabled("traits_management_system", user=user) is True
    assert from_snapshot.is_enabled("traits_management_system", user=user) is True
    from traitctl.engine.snapshot import _parse_utc

    left = (_parse_utc(expires) - _utcnow()).total_seconds()
    assert 0 < left <= 2
    time.sleep(left + 0.05)
    assert from_store.is_enabled("traits_management_system", user=user) is False
    assert from_snapshot.is_enabled("traits_management_system", user=user) is False
    assert time.monotonic() - started < 10
    ours = run_cli("flags", "eval", "traits_management_system", "--user", user, cwd=project, env=_env())
    assert ours.stdout.strip() == "off"


def test_trait_config_rereads_changed_files_and_new_tenant_files(project, config_file):
    from traitctl.runtime import TraitConfig

    class Clock:
        t = 0.0

        def __call__(self) -> float:
            return self.t

    clock = Clock()
    config = TraitConfig.load(config_file, check_every=1.0, clock=clock)
    before = config.get("HasUuid", "version")
    assert before == 4
    config_file.write_text(config_file.read_text().replace("[traits.HasUuid]\nversion = 4",
                                                           "[traits.HasUuid]\nversion = 7"))
    assert config.get("HasUuid", "version") == 4  # not checked yet
    clock.t += 1.5
    assert config.get("HasUuid", "version") == 7
    assert config.get("HasUuid", "nope", default="d") == "d"
    assert config.get("NoSuchTrait", "version", default=0) == 0
    (project / "config" / "tenants").mkdir(exist_ok=True)
    (project / "config" / "tenants" / "newco.toml").write_text("[traits.HasUuid]\nversion = 4\n")
    clock.t += 1.5
    assert config.get("HasUuid", "version", tenant="newco") == 4
    assert config.get("hasuuid", "version") == 7  # names match as `config get` matches them


def test_old_import_paths_are_the_runtime(project):
    import traitctl
    import traitctl.flags_api
    import traitctl.telemetry
    from traitctl import runtime

    assert traitctl.Flags is runtime.Flags is traitctl.flags_api.Flags
    assert traitctl.telemetry is runtime.telemetry
    assert traitctl.TraitConfig is runtime.TraitConfig


def test_env_values_follow_laravel_env_conversion():
    from traitctl.engine.envvars import laravel_value

    cases = {"true": True, "(TRUE)": True, "False": False, "(false)": False, "empty": "", "(empty)": "",
             "null": None, "(Null)": None, '"quoted"': "quoted", "'single'": "single", "123": "123", "": "",
             '"': '"', "'mixed\"": "'mixed\""}
    assert {k: laravel_value(k) for k in cases} == cases


def test_snapshot_reader_refuses_other_documents(tmp_path):
    from traitctl.engine.errors import InputError
    from traitctl.runtime import TraitConfig

    path = tmp_path / "other.json"
    path.write_text('{"schema": "something/2"}')
    with pytest.raises(InputError, match="not a traitctl.snapshot/1 document"):
        TraitConfig.load(path)
    path.write_text("{nope")
    with pytest.raises(InputError, match="not JSON"):
        TraitConfig.load(path)
