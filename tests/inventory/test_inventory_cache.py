"""The whole-inventory cache: a warm scan, a scan with one file changed and a cold scan agree exactly;
the packed form reads back equal; a damaged or foreign cached document is a miss, never a result."""

from __future__ import annotations

import json
import os
import shutil
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine.inventory.codec import pack, unpack
from traitctl.engine.inventory.model import Inventory
from traitctl.scan import scan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"


def _tree(tmp_path: Path) -> list[Path]:
    shutil.copytree(FIXTURES / "tricky" / "app", tmp_path / "app")
    shutil.copytree(FIXTURES / "pyapp", tmp_path / "pyapp")
    return [tmp_path / "app", tmp_path / "pyapp"]


def _round_trip(inv: Inventory) -> Inventory:
    return unpack(orjson.loads(orjson.dumps(pack(inv))))


def test_warm_one_file_changed_and_cold_scans_agree(tmp_path):
    from traitctl.store.db import Store

    roots = _tree(tmp_path)
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    options = {"model_bases": ["Vendor\\Package\\BaseRecord"], "extra_traits": ["Helper"]}
    cold = scan(roots, store=store, **options)
    stats: dict[str, int] = {}
    warm = scan(roots, store=store, stats=stats, **options)
    assert stats["reused"] == 1 and stats["parsed"] == 0
    assert warm == cold and warm.to_dict() == scan(roots, **options).to_dict()

    with open(roots[0] / "Multi.php", "a") as fh:
        fh.write("\nnamespace Late;\ntrait AddedLater { public function later() {} }\n"
                 "class UsesLater extends \\Illuminate\\Database\\Eloquent\\Model { use AddedLater; }\n")
    stats = {}
    changed = scan(roots, store=store, stats=stats, **options)
    assert stats["reused"] == 0 and stats["parsed"] == 1
    no_cache = scan(roots, store=store, use_cache=False, **options)
    assert changed == no_cache and changed.to_dict() == scan(roots, **options).to_dict()
    assert changed.trait("AddedLater").models == ("Late\\UsesLater",)
    stats = {}
    assert scan(roots, store=store, stats=stats, **options) == changed and stats["reused"] == 1
    store.close()


def test_cli_warm_changed_and_no_cache_print_the_same_json(cli, project):
    app = project / "examples" / "laravel-app" / "app"
    first = cli("inventory", "--json")
    warm = cli("-v", "inventory", "--json")
    assert first.exit_code == warm.exit_code == 0 and warm.stdout == first.stdout
    assert "Parsed 0 of 31 files (31 unchanged" in warm.stderr
    model = app / "Models" / "Invoice.php"
    model.write_text(model.read_text().replace("class Invoice", "abstract class Invoice", 1))
    changed = cli("-v", "inventory", "--json")
    assert "Parsed 1 of 31 files (30 unchanged" in changed.stderr
    cold = cli("inventory", "--json", "--no-cache")
    assert changed.exit_code == cold.exit_code == 0 and changed.stdout == cold.stdout
    invoice = next(m for m in json.loads(changed.stdout)["models"] if m["fqn"] == "App\\Models\\Invoice")
    assert invoice["abstract"] is True


def test_options_and_roots_are_part_of_the_key(tmp_path):
    from traitctl.store.db import Store

    roots = _tree(tmp_path)
    store = Store.open("sqlite:///:memory:")
    plain = scan(roots[:1], store=store)
    with_base = scan(roots[:1], store=store, model_bases=["Vendor\\Package\\BaseRecord"])
    assert with_base == scan(roots[:1], model_bases=["Vendor\\Package\\BaseRecord"])
    assert {m.fqn for m in with_base.models} > {m.fqn for m in plain.models}
    assert scan(roots[:1], store=store) == plain
    both = scan(roots, store=store)
    assert both.files > plain.files and both.roots == tuple(str(r) for r in roots)
    # One kept inventory per roots and options, replaced as the tree changes: the store does not grow.
    assert store.filecache.Result.select().count() == 3
    (roots[0] / "Late.php").write_text("<?php trait Late {}\n")
    assert scan(roots, store=store).trait("Late") is not None
    assert store.filecache.Result.select().count() == 3


def test_touched_file_misses_and_moved_tree_is_not_reused(tmp_path):
    from traitctl.store.db import Store

    roots = _tree(tmp_path)
    store = Store.open("sqlite:///:memory:")
    before = scan(roots, store=store)
    st_ = (roots[0] / "Traits.php").stat()
    os.utime(roots[0] / "Traits.php", ns=(st_.st_atime_ns, st_.st_mtime_ns + 1))
    stats: dict[str, int] = {}
    assert scan(roots, store=store, stats=stats) == before and stats["reused"] == 0
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(str(roots[0]), moved / "app")
    stats = {}
    after = scan([moved / "app", roots[1]], store=store, stats=stats)
    assert stats["reused"] == 0 and after.to_dict() == scan([moved / "app", roots[1]]).to_dict()


def test_damaged_cached_inventory_is_a_miss(tmp_path):
    from traitctl.store.db import Store

    roots = _tree(tmp_path)
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    good = scan(roots, store=store)
    R = store.filecache.Result
    for damage in ("not json", "[]", '[["a"], {}]', json.dumps([["x"], {"Inventory": [[1]]}])):
        R.update(data=damage).execute()
        stats: dict[str, int] = {}
        assert scan(roots, store=store, stats=stats) == good and stats["reused"] == 0
    store.close()


def test_unreadable_file_keeps_no_inventory(tmp_path):
    """A file gone between the walk and its read is a warning; that inventory is not kept, so the
    same tree (same sizes and mtimes) once readable is scanned again, not answered with the warning."""
    from traitctl.store.db import Store

    roots = _tree(tmp_path)
    victim = roots[0] / "Traits.php"
    content, st_ = victim.read_bytes(), victim.stat()

    def vanish(done: int, total: int | None = None) -> None:
        if total is not None:
            victim.unlink()

    store = Store.open("sqlite:///:memory:")
    first = scan(roots, store=store, progress=vanish)
    assert any("cannot read" in w.message for w in first.warnings)
    victim.write_bytes(content)
    os.utime(victim, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    stats: dict[str, int] = {}
    second = scan(roots, store=store, stats=stats)
    assert stats["reused"] == 0 and second.warnings != first.warnings
    assert second == scan(roots)


def test_fixture_inventories_round_trip(tricky, pyapp, example):
    for inv in (tricky, pyapp, example):
        back = _round_trip(inv)
        assert back == inv and back.to_dict() == inv.to_dict()
        # Tuples the inventory shares (a trait's methods are its class's) come back as equal values.
        trait = back.traits[0]
        assert trait.methods == back.class_(trait.fqn).methods


@pytest.mark.parametrize("document", [None, [], [[], []], [[1], {}], [["a"], {"Inventory": [[1], [2]]}],
                                      [[None], {"Inventory": "x"}]])
def test_foreign_documents_are_refused(document):
    with pytest.raises(ValueError):
        unpack(document)


# -- property: any inventory reads back equal ----------------------------------------------------
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)


def _strategy(hint: typing.Any) -> st.SearchStrategy:
    if hint is str:
        return TEXT
    if hint == (str | None):
        return st.none() | TEXT
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(2**40), 2**40)
    item = typing.get_args(hint)[0]
    return st.lists(_strategy(item), max_size=3).map(tuple)


def _dataclass(cls: type) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: _field(hints[f.name]) for f in fields(cls) if not f.name.startswith("_")})


def _field(hint: typing.Any) -> st.SearchStrategy:
    if typing.get_origin(hint) is tuple and is_dataclass(typing.get_args(hint)[0]):
        return st.lists(_dataclass(typing.get_args(hint)[0]), max_size=3).map(tuple)
    return _strategy(hint)


@settings(max_examples=40, deadline=None)
@given(inv=_dataclass(Inventory))
def test_any_inventory_round_trips(inv):
    assert _round_trip(inv) == inv


def test_annotations_read_without_typing_agree_with_typing():
    from traitctl.engine.inventory.codec import _hint, _kind, _types

    for cls in _types(Inventory):
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            if not f.name.startswith("_"):
                assert _kind(_hint(cls, f.type)) == _kind(hints[f.name]), (cls, f.name)
