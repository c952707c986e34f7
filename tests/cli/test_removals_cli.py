"""Removals through the real CLI: only the removed lines go, `rollback` gives back the same bytes,
reserved keys cannot be unset, and symbolic links are not written through."""

from __future__ import annotations

import json
import os
from pathlib import Path


def _last_event(cli) -> dict:
    result = cli("history", "--json", "--limit", "1")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)["events"][0]


def _roll_back_last(cli) -> dict:
    event = _last_event(cli)
    result = cli("rollback", str(event["id"]))
    assert result.exit_code == 0, result
    return event


def test_tenant_add_remove_and_remove_force_roll_back_exactly(cli, config_file: Path):
    original = config_file.read_text()
    assert cli("tenants", "add", "zed").exit_code == 0
    result = cli("tenants", "remove", "zed", "--yes")
    assert result.exit_code == 0, result
    assert config_file.read_text() == original  # the next section's banner is still there

    result = cli("tenants", "remove", "acme", "--force", "--yes")
    assert result.exit_code == 0, result
    text = config_file.read_text()
    assert "[tenants.acme" not in text and "# Background jobs (docs/jobs.md)." in text
    event = _roll_back_last(cli)
    assert event["kind"] == "tenant.remove" and event["data"]["patch"]
    assert config_file.read_text() == original


def test_flag_delete_keeps_the_next_flag_and_rolls_back_exactly(cli, config_file: Path):
    original = config_file.read_text()
    result = cli("flags", "delete", "trait_caching", "--force", "-y")
    assert result.exit_code == 0, result
    text = config_file.read_text()
    assert "# `traitctl migrate-plan` (docs/migrate-plan.md)" in text and "[flags.trait_caching" not in text
    _roll_back_last(cli)
    assert config_file.read_text() == original


def test_unset_of_the_last_key_drops_the_header_and_rolls_back(cli, config_file: Path):
    original = config_file.read_text()
    result = cli("config", "unset", "max_length", "--trait", "HasSlug", "--model", "App\\Models\\Post")
    assert result.exit_code == 0, result
    assert "[models.'App\\Models\\Post'.HasSlug]" not in config_file.read_text()
    _roll_back_last(cli)
    assert config_file.read_text() == original


def test_unset_refuses_the_schema_and_operations_tables(cli, config_file: Path):
    original = config_file.read_text()
    for key, trait in (("schema", "HasUuid"), ("operations", "HasUserTracking"), ("schema.version", "HasUuid")):
        result = cli("config", "unset", key, "--trait", trait)
        assert result.exit_code == 2, result
        assert "is reserved" in result.stderr and "Traceback" not in result.stderr
    assert config_file.read_text() == original


def test_symlinked_lock_file_is_refused(cli, project: Path, config_file: Path):
    target = project / "precious.txt"
    target.write_text("keep me\n")
    (config_file.parent / ".traits.toml.lock").symlink_to(target)
    original = config_file.read_text()
    result = cli("config", "set", "version", "7", "--trait", "HasUuid")
    assert result.exit_code == 2, result
    assert "symbolic link" in result.stderr and ".traits.toml.lock" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert target.read_text() == "keep me\n" and config_file.read_text() == original


def test_tenants_folder_linked_out_of_the_config_folder_is_not_written(cli, project: Path, config_file: Path):
    folder = config_file.parent / "tenants"
    outside = project / "elsewhere"
    folder.rename(outside)
    folder.symlink_to(outside)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    for args in (("tenants", "add", "newco", "--file"),
                 ("config", "set", "separator", '"-"', "--trait", "HasSlug", "--tenant", "globex"),
                 ("tenants", "remove", "globex", "--force", "--yes")):
        result = cli(*args)
        assert result.exit_code == 2, (args, result)
        assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    # reads still work, and a link inside the configuration's folder is fine for writes
    assert cli("config", "get", "separator", "--trait", "HasSlug", "--tenant", "globex").stdout.strip() == "_"
    os.unlink(folder)
    inside = config_file.parent / "tenant-files"
    outside.rename(inside)
    folder.symlink_to("tenant-files")
    result = cli("config", "set", "separator", '"-"', "--trait", "HasSlug", "--tenant", "globex")
    assert result.exit_code == 0, result


def test_rollback_of_a_tenant_file_keeps_what_was_written_into_it_since(cli, config_file: Path):
    """Undoing `tenants add --file` deletes the file only while it holds what the add wrote: a file
    edited by hand since is refused (exit 1, unchanged) unless --force, whose own rollback brings
    the edited text back."""
    assert cli("tenants", "add", "newco", "--file").exit_code == 0
    added = _last_event(cli)
    path = config_file.parent / "tenants" / "newco.toml"
    assert added["data"]["text"] == path.read_text()
    edited = path.read_text() + "\n[traits.Cacheable]\nttl = 42  # by hand\n"
    path.write_text(edited)

    result = cli("rollback", str(added["id"]))
    assert result.exit_code == 1, result
    assert "changed since event" in result.stderr and "--force" in result.stderr
    assert path.read_text() == edited

    result = cli("rollback", str(added["id"]), "--force")
    assert result.exit_code == 0, result
    assert not path.exists()
    _roll_back_last(cli)  # the forced rollback, undone
    assert path.read_text() == edited


def test_rollback_of_an_unchanged_tenant_file_deletes_it(cli, config_file: Path):
    assert cli("tenants", "add", "newco", "--file").exit_code == 0
    path = config_file.parent / "tenants" / "newco.toml"
    assert path.exists()
    _roll_back_last(cli)
    assert not path.exists()
