"""Walking, the parse cache in the store (SQLite and PostgreSQL) and parallel parsing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from traitctl.engine.errors import InputError
from traitctl.scan import collect, module_name, scan
from traitctl.store.filecache import CachedFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"


def test_vendor_node_modules_skipped_blade_read(tmp_path):
    files = [f.rel for f in collect([FIXTURES / "tricky"])]
    assert not [f for f in files if "/vendor/" in f or "/node_modules/" in f]
    assert "tricky/resources/views/page.blade.php" in files and "tricky/app/legacy/Old.php" in files
    assert len(files) == 18
    inv = scan([FIXTURES / "tricky"])
    assert inv.trait("HiddenTrait") is None and inv.trait("NodeTrait") is None
    assert inv.trait("ExcludedTrait") is not None


def test_overlapping_roots_count_each_file_once():
    app = FIXTURES / "tricky" / "app"
    both = scan([app, app / "Concerns"])
    assert both.files == 17 and both.class_("App\\Models\\Loggable").duplicates == ()


def test_exclude_globs_match_paths_below_the_root():
    rels = [f.rel for f in collect([FIXTURES / "tricky" / "app"], ["Shared/*", "*.blade.php"])]
    assert not [r for r in rels if "/Shared/" in r or r.endswith(".blade.php")]
    assert "app/Traits.php" in rels


def test_symlinks_are_not_followed(tmp_path):
    real = tmp_path / "outside"
    real.mkdir()
    (real / "T.php").write_text("<?php trait Outside {}")
    root = tmp_path / "src"
    root.mkdir()
    (root / "A.php").write_text("<?php trait Inside {}")
    os.symlink(real, root / "linked")
    os.symlink(real / "T.php", root / "T.php")
    inv = scan([root])
    assert [t.fqn for t in inv.traits] == ["Inside"] and inv.files == 1


def test_missing_root_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        scan([tmp_path / "nope"])


def test_module_names_follow_packages(tmp_path):
    pkg = tmp_path / "top" / "pkg" / "sub"
    pkg.mkdir(parents=True)
    for folder in (tmp_path / "top" / "pkg", pkg):
        (folder / "__init__.py").write_text("")
    (pkg / "m.py").write_text("")
    assert module_name(str(pkg / "m.py")) == "pkg.sub.m"
    assert module_name(str(pkg / "__init__.py")) == "pkg.sub"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "tricky" / "app", root)
    return root


def test_unchanged_tree_reparses_nothing_and_a_change_reparses_one_file(tmp_path):
    from traitctl.store.db import Store

    root = _copy(tmp_path)
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    cold_stats, warm_stats = {}, {}
    cold = scan([root], store=store, stats=cold_stats)
    warm = scan([root], store=store, stats=warm_stats)
    assert cold_stats == {"files": 17, "cached": 0, "same_content": 0, "parsed": 17, "unreadable": 0, "reused": 0,
                           "library_files": 0}
    assert warm_stats == {"files": 17, "cached": 17, "same_content": 0, "parsed": 0, "unreadable": 0, "reused": 1,
                           "library_files": 0}
    assert warm == cold and warm.to_dict() == scan([root]).to_dict()

    with open(root / "Traits.php", "a") as fh:
        fh.write("\ntrait AddedLater {}\n")
    changed_stats = {}
    changed = scan([root], store=store, stats=changed_stats)
    assert changed_stats["parsed"] == 1 and changed_stats["cached"] == 16 and changed_stats["reused"] == 0
    assert changed.trait("AddedLater") is not None

    st = (root / "Multi.php").stat()
    os.utime(root / "Multi.php", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    touched_stats = {}
    assert scan([root], store=store, stats=touched_stats) == changed
    assert touched_stats["same_content"] == 1 and touched_stats["parsed"] == 0 and touched_stats["reused"] == 0
    store.close()


def test_no_cache_parses_everything_and_refreshes(tmp_path):
    from traitctl.store.db import Store

    root = _copy(tmp_path)
    store = Store.open("sqlite:///:memory:")
    scan([root], store=store)
    stats = {}
    scan([root], store=store, use_cache=False, stats=stats)
    assert stats["parsed"] == 17 and store.filecache.count() == 17


def test_filecache_contract(store):
    """The repository on every backend: put, get by path, find by digest, replace, clear."""
    entry = CachedFile(path="/x/a.php", size=10, mtime_ns=123456789012345678, digest="d1", version="1:", data="{}")
    assert store.filecache.empty() and store.filecache.put_many([]) == 0
    assert store.filecache.put_many([entry, CachedFile("/x/b.php", 5, 1, "d2", "1:", '{"a": 1}')]) == 2
    assert not store.filecache.empty()
    assert store.filecache.get_many(["/x/a.php", "/x/missing.php"]) == {"/x/a.php": entry}
    assert store.filecache.by_digest(["d2"]) == {("d2", "1:"): '{"a": 1}'}
    store.filecache.put_many([CachedFile("/x/a.php", 11, 2, "d3", "1:", "[]")])
    assert store.filecache.get_many(["/x/a.php"])["/x/a.php"].digest == "d3"
    assert store.filecache.clear() == 2 and store.filecache.count() == 0 and store.filecache.empty()


def test_filecache_many_rows_a_statement(store):
    """Several rows a statement (the scan's writing thread): full and partial statements, a replace."""
    store.filecache.put_many([CachedFile("/x/a.php", 1, 1, "d0", "1:", "{}")])
    entries = [CachedFile(f"/x/{name}.php", i, i, f"d{i}", "1:", f'{{"n": {i}}}') for i, name in enumerate("abcde")]
    assert store.filecache.put_many(entries, rows_per_statement=2) == 5
    assert store.filecache.get_many([e.path for e in entries]) == {e.path: e for e in entries}
    assert store.filecache.count() == 5
    assert store.filecache.rows_per_statement() >= 999 // 6


def test_cache_write_error_is_raised_by_the_scan(tmp_path, monkeypatch):
    """The thread writing the cache entries of a file-backed store hands its error to the scan."""
    from traitctl.store.db import Store
    from traitctl.store.filecache import FileCacheRepo

    def refuse(self, entries, *, rows_per_statement=1):
        raise OSError("disk full")

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setattr(FileCacheRepo, "put_many", refuse)
    with pytest.raises(OSError, match="disk full"):
        scan([FIXTURES / "tricky" / "app"], store=store)
    monkeypatch.undo()
    assert store.filecache.empty() and store.filecache.get_result("any", "any") is None
    stats = {}
    scan([FIXTURES / "tricky" / "app"], store=store, stats=stats)
    assert stats["parsed"] == 17 and store.filecache.count() == 17
    store.close()


def test_parallel_scan_equals_serial(tmp_path):
    roots = [FIXTURES / "tricky" / "app", FIXTURES / "pyapp"]
    assert scan(roots, jobs=2) == scan(roots, jobs=1)
    assert scan(roots, jobs=3) == scan(roots, jobs=1)


def test_shares_of_the_row_cover_it_once_and_shrink():
    import multiprocessing

    from traitctl.scan import MAX_SHARES_PER_PROCESS, MIN_SHARE, SourceFile, _claim, _weights

    files = [SourceFile(f"/x/{i}.php", f"{i}.php", "php", "", (i * 7919) % 50_000, 0) for i in range(400)]
    weights = _weights(files)
    row = multiprocessing.get_context().Array("q", [0, len(files)])
    taken, sizes, front = [], [], True
    while (share := _claim(row, weights, 2, front=front)) is not None:
        start, end = share
        assert start < end
        taken += range(start, end)
        sizes.append(weights[end] - weights[start])
        front = not front
    assert sorted(taken) == list(range(len(files)))  # every file once, none twice
    cap = weights[-1] // (MAX_SHARES_PER_PROCESS * 2)
    assert cap <= sizes[0] < cap + 60_000 and sizes[-1] < sizes[0] // 4  # a file weighs < 60 KB here
    assert all(size >= MIN_SHARE for size in sizes[:-2])  # only what is left at the very end is smaller
