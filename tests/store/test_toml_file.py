"""Safe TOML edits: minimal diffs, comments kept, locks, atomic replace, clear parse errors."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traitctl.engine.errors import ConfigFileError
from traitctl.store import toml_file as tf

SAMPLE = '''# top comment
[traitctl]
store = "" # inline comment

# before the trait
[traits.HasUuid]  # header comment
version = 4 # why four
column = "uuid"

[traits.HasUuid.schema]
version = { type = "integer", allowed = [4, 7] }

# model overrides
[models.'App\\Models\\User'.HasUuid]
version = 7

text = """
[not.a.header]
"""
arr = [
  ["inside", "array"],
]

[multi_tenancy]
enabled = true
'''


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "traits.toml"
    path.write_text(SAMPLE)
    return path


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    import difflib

    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def test_set_changes_exactly_one_line_and_keeps_comments(sample):
    edit = tf.edit(sample, [tf.Change(("traits", "HasUuid", "version"), 7)])
    removed, added = changed_lines(SAMPLE, sample.read_text())
    assert removed == ["version = 4 # why four"]
    assert added == ["version = 7 # why four"]
    assert edit.changes[0].old == 4 and edit.written


def test_new_key_lands_in_its_table_before_the_next_tables_comment(sample):
    tf.edit(sample, [tf.Change(("traits", "HasUuid", "schema", "column"), {"type": "string"})])
    text = sample.read_text()
    removed, added = changed_lines(SAMPLE, text)
    assert removed == [] and added == ['column = {type = "string"}']
    assert text.index("column = {type") < text.index("# model overrides")


def test_new_table_is_added_beside_its_siblings(sample):
    tf.edit(sample, [tf.Change(("models", "App\\Models\\Post", "HasUuid", "version"), 1)])
    text = sample.read_text()
    assert "[models.'App\\Models\\Post'.HasUuid]\nversion = 1\n" in text
    assert text.index("Post'.HasUuid") < text.index("[multi_tenancy]")
    assert tomllib.loads(text)["models"]["App\\Models\\Post"]["HasUuid"] == {"version": 1}


def test_unset_removes_only_the_key(sample):
    tf.edit(sample, [tf.Change(("traits", "HasUuid", "column"), tf.ABSENT)])
    removed, added = changed_lines(SAMPLE, sample.read_text())
    assert removed == ['column = "uuid"'] and added == []


def test_look_alike_headers_in_strings_and_arrays_are_ignored(sample):
    headers = [h.path for h in tf.scan_headers(SAMPLE)]
    assert ("not", "a", "header") not in headers
    assert ("inside",) not in headers and ("multi_tenancy",) in headers
    tf.edit(sample, [tf.Change(("models", "App\\Models\\User", "HasUuid", "version"), 8)])
    assert tomllib.loads(sample.read_text())["models"]["App\\Models\\User"]["HasUuid"]["text"] == "[not.a.header]\n"


def test_locate_finds_lines(sample):
    assert tf.locate(SAMPLE, ("traits", "HasUuid", "version")) == 7
    assert tf.locate(SAMPLE, ("models", "App\\Models\\User", "HasUuid", "version")) == 15
    assert tf.locate(SAMPLE, ("traits", "HasUuid", "schema", "version")) == 11
    assert tf.locate(SAMPLE, ("multi_tenancy",)) == 24


def test_dry_run_writes_nothing_and_shows_a_diff(sample):
    edit = tf.edit(sample, [tf.Change(("multi_tenancy", "enabled"), False)], dry_run=True)
    assert sample.read_text() == SAMPLE and not edit.written
    assert "-enabled = true\n+enabled = false\n" in edit.diff()


def test_mode_is_kept(sample):
    os.chmod(sample, 0o640)
    tf.edit(sample, [tf.Change(("multi_tenancy", "enabled"), False)])
    assert stat.S_IMODE(sample.stat().st_mode) == 0o640
    assert not [p for p in sample.parent.iterdir() if p.name.endswith(".tmp")]


def test_bad_toml_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[a]\nx = 1\ny = = 2\n")
    with pytest.raises(ConfigFileError, match=r"bad\.toml: invalid TOML: .*line 3, column 5"):
        tf.read(path)
    with pytest.raises(ConfigFileError):
        tf.edit(path, [tf.Change(("a", "x"), 2)])
    assert path.read_text() == "[a]\nx = 1\ny = = 2\n"


KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
VALUES = st.one_of(st.integers(-10**6, 10**6), st.booleans(), st.text(max_size=20),
                   st.lists(st.integers(0, 9), max_size=4), st.floats(allow_nan=False, allow_infinity=False, width=32))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(table=st.sampled_from([("traits", "HasUuid"), ("models", "App\\Models\\User", "HasUuid"), ("multi_tenancy",),
                              ("flags", "new-flag"), ("tenants", "acme", "traits", "HasUuid")]),
       key=KEYS, value=VALUES)
def test_set_then_read_returns_the_value_and_keeps_every_comment(tmp_path, table, key, value):
    path = tmp_path / "prop.toml"
    path.write_text(SAMPLE)
    tf.edit(path, [tf.Change(table + (key,), value)])
    text = path.read_text()
    data = tomllib.loads(text)
    node = data
    for part in table + (key,):
        node = node[part]
    assert node == value
    comments = [line.split("#", 1)[1] for line in SAMPLE.splitlines() if "#" in line]
    for comment in comments:
        assert comment in text


def test_a_crlf_file_keeps_its_line_endings_through_edits(tmp_path):
    """A file written with \\r\\n (an editor on Windows) gets \\r\\n back on every line: the edit's
    diff in version control is the edited line only."""
    path = tmp_path / "traits.toml"
    path.write_bytes(SAMPLE.replace("\n", "\r\n").encode())
    tf.edit(path, [tf.Change(("traits", "HasUuid", "version"), 7)])
    tf.edit(path, [tf.Change(("traits", "HasUuid", "column"), tf.ABSENT)])
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") == SAMPLE.count("\n") - 1
    expected = SAMPLE.replace("version = 4 # why four", "version = 7 # why four").replace('column = "uuid"\n', "")
    assert raw.decode() == expected.replace("\n", "\r\n")
    lf = tmp_path / "lf.toml"
    lf.write_text(SAMPLE)
    tf.edit(lf, [tf.Change(("traits", "HasUuid", "version"), 7)])
    assert b"\r" not in lf.read_bytes()
