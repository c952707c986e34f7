"""``from traitctl import Flags``: same answers as the engine, reloads on file change, caches overrides."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest

from traitctl.engine.errors import NotFound

NOW = dt.datetime(2026, 12, 1)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def flags_env(config_file, tmp_path):
    from traitctl import Flags
    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'api.db'}")
    clock = Clock()
    flags = Flags.load(config_file, store=store, clock=clock, now=lambda: NOW)
    yield flags, store, clock
    store.close()


def test_is_enabled_matches_the_documented_formula(flags_env):
    flags, _, _ = flags_env
    for user in range(500):
        expected = zlib.crc32(f"traits_management_system:{user}".encode()) % 100 < 10
        assert flags.is_enabled("traits_management_system", user=user) is expected
    assert flags.is_enabled("trait_caching", tenant="acme") is True  # acme: 100%
    assert flags.evaluate("trait_caching", tenant="acme").steps[1].detail == "tenant acme replaces percentage = 100"
    with pytest.raises(NotFound, match="Did you mean 'trait_caching'"):
        flags.is_enabled("trait_cachin", user=1)


def test_overrides_are_cached_then_refreshed(flags_env):
    flags, store, clock = flags_env
    user = next(u for u in range(1000) if zlib.crc32(f"traits_management_system:{u}".encode()) % 100 >= 10)
    assert flags.is_enabled("traits_management_system", user=user) is False
    store.flag_overrides.set("traits_management_system", str(user), True, expires=NOW + dt.timedelta(days=1),
                             now=NOW, actor="t")
    clock.t += 1.0
    assert flags.is_enabled("traits_management_system", user=user) is False  # still cached
    clock.t += 5.0
    assert flags.is_enabled("traits_management_system", user=user) is True


def test_reloads_when_the_file_changes(flags_env, config_file):
    flags, _, clock = flags_env
    assert flags.is_enabled("trait_caching", tenant="globex") is (zlib.crc32(b"trait_caching:globex") % 100 < 25)
    text = config_file.read_text().replace("[flags.trait_caching]\n", "[flags.trait_caching]\npaused = false\n")
    config_file.write_text(text.replace("percentage = 25\nstickiness", "percentage = 0\nstickiness"))
    clock.t += 2.0
    assert flags.is_enabled("trait_caching", tenant="globex") is False
    assert "trait_caching" in flags.names()
