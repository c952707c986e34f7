"""A bulk write (``config set --all-tenants``, ``toml_file.edit_files``) that fails on the disk
part-way is all or nothing: every file byte for byte as it was, no temporary file or kept copy
left, no event recorded, one sentence and exit 2. The faults are real: a file size limit
(RLIMIT_FSIZE, what a full disk does to a write) and an immutable file (``chattr +i``: its rename
fails even for root)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from traitctl.engine.errors import ConfigFileError
from traitctl.store import toml_file

LIMIT = 1 << 20  # bytes a file may grow to in the limited runs


def _limited(args: list[str], cwd: Path, limit: int | None = LIMIT) -> subprocess.CompletedProcess:
    def preexec() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "traitctl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, preexec_fn=preexec, env=dict(os.environ, TRAITCTL_ACTOR="tester"))


def _leftovers(config: Path) -> list[str]:
    return sorted(str(p.relative_to(config)) for p in config.rglob(".*")
                  if p.name.endswith((".tmp", ".old")))


@pytest.fixture
def big_initech(fleet: Path) -> Path:
    # a tenant file in the middle of the fleet that grows past LIMIT when written
    path = fleet / "tenants" / "initech.toml"
    path.write_text(path.read_text() + "".join(f"# padding line {i:07d} {'.' * 40}\n" for i in range(LIMIT // 60 + 10)))
    assert path.stat().st_size > LIMIT
    return fleet


def test_a_write_that_fails_in_the_middle_changes_no_file(big_initech: Path, snapshot, events):
    before = snapshot()
    result = _limited(["config", "set", "ttl", "91", "-t", "Cacheable", "--all-tenants"], big_initech.parent)
    assert result.returncode == 2, result
    initech = big_initech / "tenants" / "initech.toml"
    assert result.stderr == (f"error: {initech}: cannot write (File too large); nothing written: each of the 4 files "
                             "is as it was.\n")
    assert snapshot() == before
    assert _leftovers(big_initech) == []
    assert events() == []
    # without the limit the same command writes all of them, as one event
    ok = _limited(["config", "set", "ttl", "91", "-t", "Cacheable", "--all-tenants"], big_initech.parent, None)
    assert ok.returncode == 0, ok
    assert len(events()) == 1 and _leftovers(big_initech) == []
    assert sum(before[name] != data for name, data in snapshot().items()) == 4


def test_a_single_write_that_fails_is_one_sentence(big_initech: Path, snapshot, events):
    before = snapshot()
    result = _limited(["config", "set", "ttl", "92", "-t", "Cacheable", "--tenant", "initech"], big_initech.parent)
    assert result.returncode == 2, result
    initech = big_initech / "tenants" / "initech.toml"
    assert result.stderr == f"error: {initech}: cannot write (File too large); nothing written: the file is as it was.\n"
    assert snapshot() == before and _leftovers(big_initech) == [] and events() == []


def _immutable(path: Path, on: bool) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0


def test_a_rename_that_fails_puts_back_the_files_already_replaced(fleet: Path, snapshot, events):
    initech = fleet / "tenants" / "initech.toml"
    if os.geteuid() != 0 or not _immutable(initech, True):
        pytest.skip("needs root and chattr +i (an immutable file, whose rename fails even for root)")
    try:
        before = snapshot()
        inodes = {p: p.stat().st_ino for p in (fleet / "traits.toml", fleet / "tenants" / "globex.toml")}
        result = _limited(["config", "set", "ttl", "93", "-t", "Cacheable", "--all-tenants"], fleet.parent, None)
        assert result.returncode == 2, result
        assert result.stderr == (f"error: {initech}: cannot replace it (Operation not permitted); nothing written: "
                                 "each of the 4 files is as it was.\n")
        assert snapshot() == before
        # the files replaced before the failure got their own inode back (mode, links, everything)
        assert {p: p.stat().st_ino for p in inodes} == inodes
        assert _leftovers(fleet) == [] and events() == []
    finally:
        _immutable(initech, False)


def test_edit_files_in_process_restores_every_file(fleet: Path):
    # the library call itself: a folder where a tenant file was is refused before anything is written
    files = {fleet / "traits.toml": [toml_file.Change(("traits", "Cacheable", "ttl"), 5)],
             fleet / "tenants" / "initech.toml": [toml_file.Change(("traits", "Cacheable", "ttl"), 5)],
             fleet / "tenants" / "umbrella.toml": [toml_file.Change(("traits", "Cacheable", "ttl"), 5)]}
    texts = {p: p.read_bytes() for p in files}
    umbrella = fleet / "tenants" / "umbrella.toml"

    def swap(path: Path, data: dict) -> None:
        if path == umbrella:  # the last file becomes a folder once every file has been planned
            umbrella.unlink()
            umbrella.mkdir()
            (umbrella / "x").write_text("")

    with pytest.raises(ConfigFileError) as info:
        toml_file.edit_files(fleet / "traits.toml", files, check=swap)
    assert info.value.message == f"{umbrella} is a directory, not a TOML file."
    assert {p: p.read_bytes() for p in files if p != umbrella} == {p: t for p, t in texts.items() if p != umbrella}
    assert _leftovers(fleet) == []
