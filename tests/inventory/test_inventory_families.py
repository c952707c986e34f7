"""Python exactness (models that are mixins, re-exports, nested classes, model families) and
libraries (``--lib``, ``[inventory] libraries``/``python_env``, PHP ``vendor/``), on the fixtures
djapp, families and phpvendor under tests/fixtures/inventory (parsed, never imported)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from traitctl.engine.inventory.facts import parse_file
from traitctl.engine.inventory.resolve import build
from traitctl.scan import scan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
FAMILIES = FIXTURES / "families"


def test_django_rules_without_the_runtime():
    inv = scan([FIXTURES / "djapp" / "djshop"])
    models = {m.fqn: m for m in inv.models}
    # An abstract model named *Mixin: a model (abstract) and the trait of its users.
    draft = models["djshop.core.base.DraftMixin"]
    assert draft.abstract and draft.kind == "django"
    assert inv.trait("djshop.core.base.DraftMixin").models == (
        "djshop.models.extra.make_model.<locals>.Generated", "djshop.models.shop.CheapProduct",
        "djshop.models.shop.Product")
    product = models["djshop.models.shop.Product"]
    # `core.TimeStamped` through the package's `from .base import TimeStamped as TimeStamped`.
    assert product.parents == ("djshop.core.base.DraftMixin", "django.db.models.Model")
    assert product.traits == ("djshop.core.base.DraftMixin", "djshop.core.plain.ChangedMixin")
    assert [(o.method, o.trait) for o in product.overrides] == [("publish", "djshop.core.base.DraftMixin")]
    # `Audited` is `AuditMixin` re-exported; its own base Loggable is a mixin too.
    assert models["djshop.models.shop.Order"].traits == ("djshop.core.plain.AuditMixin", "djshop.core.plain.Loggable")
    # Nested: in a class, in a function; reached through a three-level relative import.
    assert "djshop.models.extra.Registry.Entry" in models
    assert models["djshop.models.extra.Box"].parents[:2] == ("djshop.catalog.sub.deep.Shelf",
                                                             "djshop.core.base.TimeStamped")
    assert models["djshop.models.shop.CheapProduct"].proxy and models["djshop.models.people.Account"].swappable
    assert not models["djshop.models.extra.Box"].abstract and models["djshop.catalog.sub.deep.Shelf"].abstract
    assert "djshop" not in sys.modules


def _module(source: str, module: str, package: bool = False) -> dict:
    return {**parse_file(source.encode(), module.replace(".", "/") + ("/__init__.py" if package else ".py"),
                         "python", module), "file": module}


def test_star_imports_all_aliases_and_cycles():
    files = [
        _module("from django.db import models\n__all__ = ['Shown']\n"
                "class Shown(models.Model): pass\nclass Unlisted(models.Model): pass\n", "a"),
        _module("from django.db import models\nclass Public(models.Model): pass\nclass _Private(models.Model): pass\n",
                "b"),
        _module("from a import *\nfrom b import *\n", "c"),
        _module("from c import Shown, Unlisted, Public, _Private\nimport c as alias\n"
                "class M1(Shown): pass\nclass M2(Unlisted): pass\nclass M3(Public): pass\nclass M4(_Private): pass\n"
                "class M5(alias.Public): pass\n", "d"),
        # Bare names from a star import resolve too; a cycle of re-exports ends.
        _module("from c import *\nclass M6(Public): pass\nfrom e2 import Loop\nclass M7(Loop): pass\n", "e"),
        _module("from e import Loop\n", "e2"),
    ]
    inv = build(files)
    parents = {m.fqn: m.parents[0] for m in inv.models}
    assert parents["d.M1"] == "a.Shown" and parents["d.M3"] == "b.Public" and parents["d.M5"] == "b.Public"
    assert parents["e.M6"] == "b.Public"
    assert "d.M2" not in parents and "d.M4" not in parents and "e.M7" not in parents  # not exported


def test_sqlalchemy_flask_pydantic_and_kinds():
    inv = scan([FAMILIES / "fam"])
    kinds = {m.fqn: (m.kind, m.abstract) for m in inv.models}
    assert kinds == {
        "fam.api.schemas.Item": ("pydantic", False),
        "fam.db.base.Base": ("sqlalchemy", True),  # a DeclarativeBase subclass
        "fam.db.base.Abstract": ("sqlalchemy", True),  # __abstract__
        "fam.db.base.Invoice": ("sqlalchemy", False),
        "fam.db.legacy.Ledger": ("sqlalchemy", False),  # declarative_base()
        "fam.db.users.Entry": ("sqlalchemy", False),  # its result re-exported under another name
        "fam.db.users.Account": ("sqlalchemy", False),  # db.Model, db re-exported by the package
    }
    assert inv.model("fam.db.users.Account").base == "fam.db.flask.db.Model"
    without = scan([FAMILIES / "fam"], kinds=["eloquent", "django", "sqlalchemy", "peewee", "custom"])
    assert {m.fqn for m in without.models} == set(kinds) - {"fam.api.schemas.Item"}
    only = scan([FAMILIES / "fam"], kinds=["pydantic"])
    assert [m.fqn for m in only.models] == ["fam.api.schemas.Item"]


def test_python_library_resolves_bases_and_trait_methods_lazily():
    stats: dict = {}
    inv = scan([FAMILIES / "fam"], libraries=[FAMILIES / "lib"], stats=stats)
    category = inv.model("fam.api.schemas.Category")
    assert category.kind == "django" and category.parents == ("extlib.tree.Node", "django.db.models.Model")
    assert category.traits == ("extlib.tree.Sortable",)
    assert [(o.method, o.trait) for o in category.overrides] == [("sort_key", "extlib.tree.Sortable")]
    assert [(t.fqn, t.models) for t in inv.vendor_traits] == [("extlib.tree.Sortable", ("fam.api.schemas.Category",))]
    # Only extlib/__init__.py and extlib/tree.py were read; nothing of the library is the app's.
    assert stats["library_files"] == 2
    assert not [c for c in inv.classes if c.fqn.startswith("extlib.")]
    assert "extlib.tree.Sortable" not in {t.fqn for t in inv.traits} and not [m for m in inv.models if "extlib" in m.fqn]
    assert inv.files == len(list((FAMILIES / "fam").rglob("*.py")))


def test_php_vendor_is_a_library_by_default():
    root = FIXTURES / "phpvendor" / "app"
    stats: dict = {}
    inv = scan([root], stats=stats)
    token = inv.model("App\\Models\\Token")
    assert token.parents == ("Laravel\\Sanctum\\PersonalAccessToken", "Illuminate\\Database\\Eloquent\\Model")
    assert token.traits_inherited == ("Laravel\\Sanctum\\HasAbilities",)
    assert [(o.method, o.trait) for o in token.overrides] == [("can", "Laravel\\Sanctum\\HasAbilities")]
    post = inv.model("App\\Models\\Post")
    assert [(o.method, o.trait) for o in post.overrides] == [("tagNames", "Acme\\Tags\\Concerns\\HasTags")]
    assert {t.fqn: t.models for t in inv.vendor_traits} == {"Acme\\Tags\\Concerns\\HasTags": ("App\\Models\\Post",),
                                                           "Laravel\\Sanctum\\HasAbilities": ("App\\Models\\Token",)}
    assert stats["library_files"] == 3 and inv.files == 2 and len(inv.classes) == 2  # acme/other never read
    off = scan([root], vendor=False)
    assert [m.fqn for m in off.models] == ["App\\Models\\Post"] and not off.model("App\\Models\\Post").overrides


def test_library_cache_and_a_changed_library_file(tmp_path):
    from traitctl.store.db import Store

    shutil.copytree(FAMILIES, tmp_path / "families")
    roots, lib = [tmp_path / "families" / "fam"], [tmp_path / "families" / "lib"]
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    cold = scan(roots, libraries=lib, store=store)
    stats: dict = {}
    assert scan(roots, libraries=lib, store=store, stats=stats) == cold and stats["reused"] == 1
    tree = tmp_path / "families" / "lib" / "extlib" / "tree.py"
    tree.write_text(tree.read_text().replace("    def sort_key(self):", "    def renamed(self):"))
    os.utime(tree, ns=(1, 1))
    changed = scan(roots, libraries=lib, store=store, stats=stats)
    assert stats["reused"] == 0 and stats["parsed"] == 0 and not changed.model("fam.api.schemas.Category").overrides


def _cli(cwd: Path, *args: str):
    import subprocess

    return subprocess.run([sys.executable, "-m", "traitctl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def _config(project: Path, inventory: str) -> None:
    (project / "config").mkdir(exist_ok=True)
    (project / "config" / "traits.toml").write_text(
        f'[traitctl]\nsource = ["../app/fam"]\n\n[inventory]\n{inventory}\n')


def test_cli_lib_kind_python_env_and_bad_values(tmp_path):
    project = tmp_path
    shutil.copytree(FAMILIES, project / "app")
    shutil.copytree(FAMILIES / "lib", project / "env" / "lib" / "python3.11" / "site-packages")
    _config(project, "")
    out = _cli(project, "inventory", "--json", "--lib", "app/lib", "--kind", "no-pydantic")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert "fam.api.schemas.Category" in {m["fqn"] for m in doc["models"]}
    assert doc["models"] and not [m for m in doc["models"] if m["kind"] == "pydantic"]
    _config(project, 'python_env = "../env"')
    out = _cli(project, "inventory", "--models", "--json", "--kind", "django")
    assert out.returncode == 0, out.stderr
    assert [m["fqn"] for m in json.loads(out.stdout)["models"]] == ["fam.api.schemas.Category"]
    _config(project, 'libraries = ["../app/lib"]\nvendor = false')
    out = _cli(project, "inventory", "--model", "Category", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["model"]["traits"] == ["extlib.tree.Sortable"], out.stderr
    bad = _cli(project, "inventory", "--kind", "orm")
    assert bad.returncode == 2 and "--kind 'orm' is not one of" in bad.stderr
    bad = _cli(project, "inventory", "--lib", "missing")
    assert bad.returncode == 2 and "Library path" in bad.stderr and "is not a folder" in bad.stderr
    _config(project, 'python_env = "../nope"')
    bad = _cli(project, "inventory")
    assert bad.returncode == 2 and "no lib/python3*/site-packages" in bad.stderr and "Traceback" not in bad.stderr
    _config(project, 'vendor = "yes"')
    bad = _cli(project, "inventory")
    assert bad.returncode == 2 and "inventory -> vendor must be true or false" in bad.stderr


def test_a_class_renamed_by_module_assignment_and_namespace_packages(tmp_path):
    """`Page.__module__ = "cms.models"` names the class as Python does (its runtime FQN); a folder
    without __init__.py inside a package is a namespace package (its modules keep the package name)."""
    from traitctl.scan import module_name

    cms = tmp_path / "cms"
    (cms / "models").mkdir(parents=True)
    (cms / "__init__.py").write_text("")
    (cms / "models" / "__init__.py").write_text("from .pages import Page\n")
    (cms / "models" / "pages.py").write_text(
        "from django.db import models\n\nclass LockMixin:\n    pass\n\n"
        "class Page(LockMixin, models.Model):\n    pass\n\nPage.__module__ = 'cms.models'\n")
    (cms / "templates" / "home").mkdir(parents=True)
    (cms / "templates" / "home" / "__init__.py").write_text("")
    (cms / "templates" / "home" / "models.py").write_text(
        "from cms.models.pages import Page\n\nclass HomePage(Page):\n    pass\n")
    assert module_name(str(cms / "templates" / "home" / "models.py")) == "cms.templates.home.models"
    inv = scan([cms])
    assert {m.fqn: m.parents[0] for m in inv.models} == {"cms.models.Page": "django.db.models.Model",
                                                        "cms.templates.home.models.HomePage": "cms.models.Page"}
    assert inv.model("cms.templates.home.models.HomePage").traits == ("cms.models.pages.LockMixin",)
