"""Python rules of issue 3 on tests/fixtures/inventory/pyapp (parsed with ast, never imported)."""

from __future__ import annotations

import sys

from traitctl.engine.inventory.python import parse_python


def test_fixture_package_is_never_imported(pyapp):
    assert pyapp.models and "pkg" not in sys.modules and "pkg.models.sa" not in sys.modules


def test_model_kinds_django_peewee_sqlalchemy_pydantic(pyapp):
    bases = {m.fqn: m.base for m in pyapp.models}
    assert bases["pkg.models.django_models.Article"] == "django.db.models.Model"
    assert bases["pkg.models.peewee_models.Tag"] == "peewee.Model"
    assert bases["pkg.models.peewee_models.Label"] == "peewee.Model"  # from peewee import Model as …
    assert bases["pkg.models.schemas.Schema"] == "pydantic.BaseModel"
    assert bases["pkg.models.sa.Invoice"] == "sqlalchemy.orm.DeclarativeBase"
    assert bases["pkg.legacy.Old"] == "pkg.legacy.Legacy"  # Legacy = declarative_base()


def test_relative_imports_and_aliases(pyapp):
    invoice = pyapp.model("pkg.models.sa.Invoice")
    assert invoice.parents == ("pkg.base.Base", "sqlalchemy.orm.DeclarativeBase")
    assert invoice.traits_direct == ("pkg.mixins.Auditing", "pkg.mixins.Repository")
    assert invoice.traits_via_traits == ("pkg.mixins.TimestampMixin",)


def test_abstract_models(pyapp):
    assert pyapp.model("pkg.models.django_models.Common").abstract  # Meta.abstract
    assert pyapp.model("pkg.models.sa.Conditional").abstract  # __abstract__, declared under `if`
    assert pyapp.model("pkg.base.Base").abstract  # a DeclarativeBase subclass
    assert not pyapp.model("pkg.models.sa.Invoice").abstract


def test_mixin_rules(pyapp):
    traits = {t.fqn for t in pyapp.traits}
    assert "pkg.mixins.Auditing" in traits  # a non-model base of a model
    assert "pkg.mixins.TimestampMixin" in traits  # named *Mixin and a base of a mixin
    assert "pkg.mixins.Helper" in traits  # [inventory] traits
    assert "pkg.plain.CacheMixin" in traits  # named *Mixin, used by no model
    assert "pkg.models.schemas.Exportable" in traits  # an ABC subclass used as a base of a model
    assert not {"typing.Generic", "abc.ABC", "pkg.models.schemas.Schema", "pkg.plain.Service"} & traits
    assert [t.fqn for t in pyapp.vendor_traits] == ["flask_login.UserMixin"]


def test_inherited_mixins_and_overrides_via_mro(pyapp):
    note = pyapp.model("pkg.models.django_models.Note")
    assert note.traits_direct == ("pkg.mixins.Helper",)
    article = pyapp.model("pkg.models.django_models.Article")
    assert [(o.method, o.trait) for o in article.overrides] == [("touch", "pkg.mixins.TimestampMixin")]
    invoice = pyapp.model("pkg.models.sa.Invoice")
    assert [(o.method, o.trait) for o in invoice.overrides] == [("audit", "pkg.mixins.Auditing")]
    report = pyapp.model("pkg.models.schemas.Report")
    assert [(o.method, o.trait) for o in report.implements] == [("export", "pkg.models.schemas.Exportable")]


def test_syntax_error_is_a_warning(pyapp):
    assert [(w.file, w.line) for w in pyapp.warnings] == [("pyapp/pkg/broken.py", 5)]


def test_visibility_and_static_methods():
    facts = parse_python(b"class A:\n    @staticmethod\n    def s(): ...\n    def _p(self): ...\n    def __q(self): ...\n"
                         b"    def __init__(self): ...\n", "m")
    methods = {m[0]: (m[2], m[3]) for m in facts["classes"][0]["methods"]}
    assert methods == {"s": ("public", True), "_p": ("protected", False), "__q": ("private", False),
                       "__init__": ("public", False)}


def test_relative_import_from_a_package_init():
    facts = parse_python(b"from .base import Base\nfrom .. import mixins\nclass M(mixins.X, Base): pass\n",
                         "app.models", is_package=True)
    assert facts["classes"][0]["bases"] == ["app.mixins.X", "app.models.base.Base"]


def test_flask_sqlalchemy_and_django_auth_bases(pyapp):
    assert pyapp.model("pkg.web.accounts.Account").base == "pkg.web.extensions.db.Model"
    assert pyapp.model("pkg.web.accounts.Account").traits_direct == ("pkg.mixins.TimestampMixin",)
    staff = pyapp.model("pkg.web.accounts.Staff")
    assert staff.base == "django.contrib.auth.models.AbstractBaseUser" and staff.traits == ()
