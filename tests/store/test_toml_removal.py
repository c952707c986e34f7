"""Removals take out only their own lines; a rollback of a removal gives back the same bytes.

The exhaustive loop runs in-process over the bundled configuration (``config/traits.toml`` and
``config/tenants/``): every table and every key is removed and rolled back through
:func:`toml_file.edit` with the hunks going through JSON as history stores them. The CLI cases
are in ``tests/cli/test_removals_cli.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from traitctl.store import toml_file as tf

ROOT = Path(__file__).resolve().parents[2]


def _paths(data: dict, prefix: tuple[str, ...] = ()):
    for key, value in data.items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _paths(value, prefix + (key,))


def _remove(path: Path, key: tuple[str, ...]) -> tf.Change:
    edit = tf.edit(path, [tf.Change(key, tf.ABSENT)])
    assert edit.written
    return edit.changes[0]


def _roll_back(path: Path, change: tf.Change) -> None:
    stored = json.loads(json.dumps(change.removed or [], default=str))  # as the event's data keeps it
    tf.edit(path, [tf.Change(change.path, change.old, restore=stored)])


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
    return tmp_path / "config"


@pytest.mark.parametrize("name", ["traits.toml", *sorted(f"tenants/{p.name}" for p in (ROOT / "config" / "tenants").glob("*.toml"))])
def test_every_removal_of_the_bundled_configuration_rolls_back_byte_identical(bundled: Path, name: str):
    path = bundled / name
    original = path.read_text()
    keys = list(_paths(tf.parse(original, path)))
    assert len(keys) > (100 if name == "traits.toml" else 3)
    failures = []
    for key in keys:
        change = _remove(path, key)
        removed_text = path.read_text()
        assert tf._get(tf.parse(removed_text, path), key) is tf.ABSENT, key
        _roll_back(path, change)
        if path.read_text() != original:
            failures.append(key)
            path.write_text(original)
    assert failures == []


def _removed_lines(before: str, after: str) -> list[str]:
    import difflib

    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    assert not [d for d in diff if d.startswith("+ ")], "a removal added or rewrote lines"
    return [d[2:] for d in difflib.ndiff(before.splitlines(), after.splitlines()) if d.startswith("- ") and d[2:].strip()]


def test_tenant_table_removal_keeps_the_next_sections_banner(bundled: Path):
    path = bundled / "traits.toml"
    original = path.read_text()
    removed = _removed_lines(original, (_remove(path, ("tenants", "acme")), path.read_text())[1])
    assert removed[0] == "[tenants.acme]" and removed[-1] == "retention_days = 3650"
    assert not any(line.startswith("#") for line in removed)
    text = path.read_text()
    assert "# Background jobs (docs/jobs.md)." in text and "# Tenants: [tenants.<id>]" in text


def test_flag_removal_takes_its_own_comment_and_keeps_the_next_flags(bundled: Path):
    path = bundled / "traits.toml"
    original = path.read_text()
    _remove(path, ("flags", "traits_management_system"))
    removed = _removed_lines(original, path.read_text())
    assert removed[0].startswith("# The Traits Management System itself")  # its attached comment goes
    assert "# Checked before every step: more than 50 trait errors in 15 minutes rolls back to the previous" in removed
    text = path.read_text()
    assert "# One flag per trait rollout." in text  # the next flag's comment stays
    assert "# Feature flags: [flags.<name>]" in text  # the section banner stays
    _remove(path, ("flags", "trait_caching"))
    assert "# `traitctl migrate-plan` (docs/migrate-plan.md)" in path.read_text()


def test_added_then_removed_table_leaves_the_file_as_it_was(bundled: Path):
    path = bundled / "traits.toml"
    original = path.read_text()
    tf.edit(path, [tf.Change(("tenants", "zed", "name"), "zed")])
    assert "[tenants.zed]" in path.read_text()
    _remove(path, ("tenants", "zed"))
    assert path.read_text() == original


def test_removing_the_last_key_removes_the_empty_table_header(bundled: Path):
    path = bundled / "traits.toml"
    change = _remove(path, ("models", "App\\Models\\Post", "HasSlug", "max_length"))
    text = path.read_text()
    assert "[models.'App\\Models\\Post'.HasSlug]" not in text
    assert "App\\Models\\Post" not in tf.parse(text, path)["models"]
    _roll_back(path, change)
    assert "[models.'App\\Models\\Post'.HasSlug]\nmax_length = 120\n" in path.read_text()


def test_a_table_with_sub_tables_keeps_its_header(bundled: Path):
    path = bundled / "traits.toml"
    _remove(path, ("traits", "Versionable", "keep_versions"))
    text = path.read_text()
    assert "[traits.Versionable]\n\n[traits.Versionable.schema]" in text
    assert tf.parse(text, path)["traits"]["Versionable"] == {"schema": {"keep_versions": {
        "type": "integer", "default": 10, "min": 1, "max": 1000}}}


def test_rollback_after_other_edits_puts_back_a_normal_table_where_it_was(bundled: Path):
    path = bundled / "traits.toml"
    change = _remove(path, ("tenants", "acme"))
    # the lines around the removed run change: the exact text cannot go back
    text = path.read_text().replace("# Tenants: [tenants.<id>] with", "# Tenants ([tenants.<id>]) with")
    text = text.replace("# Background jobs (docs/jobs.md).", "# Jobs (docs/jobs.md).")
    path.write_text(text)
    _roll_back(path, change)
    after = path.read_text()
    data = tf.parse(after, path)
    assert data["tenants"]["acme"] == {"name": "Acme Corporation", "traits": {"Cacheable": {"ttl": 60}},
                                       "models": {"App\\Models\\Invoice": {"Auditable": {"retention_days": 3650}}}}
    assert "[tenants.acme]\nname = \"Acme Corporation\"" in after  # a normal table, not an inline one
    assert "[tenants.acme.traits.Cacheable]\nttl = 60" in after
    assert after.index("[tenants.acme]") < after.index("[jobs]")  # back in the tenants section
    assert after.index("[tenants.acme]") > after.index("# Tenants ([tenants.<id>]) with")


def test_rollback_of_an_old_event_without_hunks_writes_a_normal_table(bundled: Path):
    path = bundled / "traits.toml"
    change = _remove(path, ("flags", "trait_caching"))
    tf.edit(path, [tf.Change(change.path, change.old, restore=[])])
    after = path.read_text()
    assert "[flags.trait_caching]\n" in after and "[flags.trait_caching.tenants.acme]\npercentage = 100" in after
    assert tf.parse(after, path)["flags"]["trait_caching"] == change.old


def test_removal_hunks_survive_json_and_name_their_context(bundled: Path):
    path = bundled / "traits.toml"
    change = _remove(path, ("schedule", "cleanup"))
    assert change.removed and json.loads(json.dumps(change.removed)) == change.removed
    hunk = change.removed[0]
    assert hunk["lines"][0] == "[schedule.cleanup]" and hunk["new"] == []
    assert len(hunk["before"]) == tf.CONTEXT and len(hunk["after"]) == tf.CONTEXT


def test_key_in_a_tenant_file_root(bundled: Path):
    path = bundled / "tenants" / "globex.toml"
    original = path.read_text()
    change = _remove(path, ("name",))
    assert path.read_text() == original.replace('name = "Globex"\n', "")
    _roll_back(path, change)
    assert path.read_text() == original
