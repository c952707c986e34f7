"""An output option naming one of the files traitctl manages (the configuration file, a tenant file,
what is under ``.traitctl/``) is refused before anything is written: ``history export -o
config/traits.toml`` used to replace the configuration with CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


MANAGED = ["config/traits.toml", "config/tenants/globex.toml", "config/tenants/new.toml",
           "config/.traitctl/traitctl.db", "config/.traitctl/traitctl.db-wal", "config/.traitctl/queue.db"]


@pytest.mark.parametrize("args", [["history", "export", "--format", "csv", "-o"], ["inventory", "--save"],
                                  ["export", "--format", "json", "--output"]],
                         ids=["history-export", "inventory-save", "export-json"])
def test_a_managed_file_is_not_an_output(project: Path, args):
    assert run_cli("config", "set", "ttl", "61", "--trait", "Cacheable", cwd=project).exit_code == 0
    for target in MANAGED:
        path = project / target
        before = path.read_bytes() if path.exists() else None
        result = run_cli(*args, target, cwd=project)
        assert result.exit_code == 2, (target, result)
        assert "which traitctl manages" in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert (path.read_bytes() if path.exists() else None) == before, target
    assert run_cli("config", "get", "ttl", "--trait", "Cacheable", cwd=project).stdout.strip() == "61"


def test_a_configured_export_path_onto_the_configuration_is_refused(project: Path):
    config = project / "config" / "traits.toml"
    config.write_text(config.read_text() + '\n[export]\njson = "traits.toml"\n')
    before = config.read_bytes()
    result = run_cli("export", "--format", "json", cwd=project)
    assert result.exit_code == 2 and "which traitctl manages" in result.stderr, result
    assert config.read_bytes() == before


def test_other_files_beside_the_configuration_are_outputs(project: Path):
    assert run_cli("config", "set", "ttl", "61", "--trait", "Cacheable", cwd=project).exit_code == 0
    result = run_cli("history", "export", "--format", "csv", "-o", "config/history.csv", cwd=project)
    assert result.exit_code == 0, result
    assert (project / "config" / "history.csv").read_text().startswith("id,")
    result = run_cli("export", "--format", "json", "--output", "config/.traitctl/snapshot.json", cwd=project)
    assert result.exit_code == 0, result


def test_a_store_named_by_url_is_guarded(project: Path, tmp_path: Path):
    store = tmp_path / "elsewhere.db"
    env = {"TRAITCTL_STORE": f"sqlite:///{store}"}
    assert run_cli("config", "set", "ttl", "61", "--trait", "Cacheable", cwd=project, env=env).exit_code == 0
    before = store.read_bytes()
    result = run_cli("history", "export", "--format", "csv", "-o", str(store), cwd=project, env=env)
    assert result.exit_code == 2 and "a database of traitctl's" in result.stderr, result
    assert store.read_bytes() == before


def test_a_configuration_file_that_is_a_link_is_not_replaced(project: Path, tmp_path: Path):
    """A write used to replace the link with a regular file, silently leaving the shared file it led to old."""
    config = project / "config" / "traits.toml"
    shared = tmp_path / "shared-traits.toml"
    shared.write_bytes(config.read_bytes())
    config.unlink()
    config.symlink_to(shared)
    before = shared.read_bytes()
    result = run_cli("config", "set", "ttl", "61", "--trait", "Cacheable", cwd=project)
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr and "-c" in result.stderr, result
    assert config.is_symlink() and shared.read_bytes() == before
    # reads follow the link; naming the file itself writes it
    assert run_cli("config", "get", "ttl", "--trait", "Cacheable", cwd=project).exit_code == 0
    result = run_cli("-c", str(shared), "config", "set", "ttl", "61", "--trait", "Cacheable", cwd=project)
    assert result.exit_code == 0, result
    assert config.is_symlink() and b"61" in shared.read_bytes()
