"""PHP rules of issue 3, each checked on a fixture of tests/fixtures/inventory/tricky/app."""

from __future__ import annotations

from traitctl.engine.inventory.php import parse_php


def fqns(items) -> set[str]:
    return {item.fqn for item in items}


def test_declarations_in_strings_and_heredocs_are_not_classes(tricky):
    names = {c.name for c in tricky.classes}
    assert not {n for n in names if n.startswith("Fake")}
    assert "FakeTrait" not in {t.name for t in tricky.vendor_traits}


def test_commented_out_imports_do_not_resolve(tricky):
    counter = tricky.model("App\\Strings\\Counter")
    assert counter.traits_direct == ("App\\Traits\\Tracked",)


def test_braces_in_interpolated_strings_and_reference_functions_keep_the_class_whole(tricky):
    counter = tricky.class_("App\\Strings\\Counter")
    assert [m.name for m in counter.methods] == ["describe", "reference", "after"]
    assert counter.methods[2].line == 42


def test_same_fqn_in_if_else_is_one_class_with_a_duplicate(tricky):
    compat = [c for c in tricky.classes if c.fqn == "App\\Multi\\Compat"]
    assert len(compat) == 1
    assert compat[0].line == 10 and compat[0].duplicates == ("app/Multi.php:15",)
    assert [m.fqn for m in tricky.models].count("App\\Multi\\Compat") == 1


def test_several_classes_per_file_and_closure_use_is_not_a_trait(tricky):
    assert {"App\\Multi\\First", "App\\Multi\\Second", "App\\Multi\\Third"} <= fqns(tricky.classes)
    assert tricky.class_("App\\Multi\\First").traits == ()
    assert tricky.class_("App\\Multi\\Third").kind == "interface"
    assert tricky.model("App\\Multi\\Second").parents == ("App\\Multi\\First", "Illuminate\\Database\\Eloquent\\Model")


def test_app_trait_and_framework_trait_with_the_same_short_name(tricky):
    assert tricky.model("App\\Models\\Archive").traits_direct == ("App\\Models\\Concerns\\SoftDeletes",)
    ledger = tricky.model("App\\Models\\Ledger")
    assert "Illuminate\\Database\\Eloquent\\SoftDeletes" in ledger.traits_direct
    framework = tricky.trait("Illuminate\\Database\\Eloquent\\SoftDeletes")
    assert framework.models == ("App\\Models\\Ledger",)
    app = tricky.trait("App\\Models\\Concerns\\SoftDeletes")
    assert app.models == ("App\\Models\\Archive", "App\\Models\\Membership")


def test_use_function_and_const_do_not_shadow_class_names(tricky):
    ledger = tricky.model("App\\Models\\Ledger")
    # Loggable falls to the current namespace (a trait declared there); Auditable likewise (undeclared).
    assert set(ledger.traits_direct) == {"Illuminate\\Database\\Eloquent\\SoftDeletes", "App\\Models\\Loggable",
                                         "App\\Models\\Auditable"}


def test_grouped_import_alias_and_qualified_relative_names(tricky):
    membership = tricky.model("App\\Models\\Membership")
    assert membership.base == "Illuminate\\Database\\Eloquent\\Relations\\Pivot"
    assert set(membership.traits_direct) == {"App\\Models\\framework\\Timestamps", "App\\Models\\Concerns\\SoftDeletes"}


def test_trait_interface_and_class_sharing_a_short_name(tricky):
    kinds = {c.fqn: c.kind for c in tricky.classes if c.name == "Sluggable"}
    assert kinds == {"App\\Traits\\Sluggable": "trait", "App\\Contracts\\Sluggable": "interface",
                     "App\\Services\\Sluggable": "class"}
    page = tricky.class_("App\\Models\\Page")
    assert page.traits == ("App\\Traits\\Sluggable",) and page.interfaces == ("App\\Contracts\\Sluggable",)


def test_same_namespace_trait_without_import(tricky):
    assert tricky.model("App\\Inherit\\GrandChild").traits_direct == ("App\\Traits\\Stamped",)
    assert tricky.trait("App\\Traits\\Tracked").uses == ("App\\Traits\\Stamped",)


def test_modern_syntax_attributes_and_enums(tricky):
    gadget = tricky.model("App\\Modern\\Gadget")
    assert gadget.line == 18  # the name's line, after the attributes
    assert [m.name for m in gadget.methods] == ["trackingKey", "track"]
    assert {p.name for p in tricky.class_("App\\Modern\\Gadget").properties} == {"name", "label"}
    assert tricky.class_("App\\Modern\\Status").kind == "enum"
    assert tricky.trait("App\\Modern\\Labels").classes == ("App\\Modern\\Status",)
    assert tricky.class_("App\\Modern\\Point").properties[0].name == "x"


def test_anonymous_classes_including_nested_ones(tricky):
    anonymous = [c for c in tricky.classes if c.kind == "anonymous"]
    assert [(c.line, c.traits) for c in anonymous] == [(9, ("App\\Traits\\Tracked",)), (9, ("App\\Traits\\Stamped",))]
    assert anonymous[0].parent == "Illuminate\\Database\\Eloquent\\Model"
    # An anonymous class extending Model is a model too (its parent chain reaches the base).
    assert [m.traits_via_traits for m in tricky.models if m.fqn == "class@anonymous app/Anonymous.php:9"] == [
        ("App\\Traits\\Stamped",)]
    assert tricky.model("class@anonymous app/Anonymous.php:9#2") is None


def test_block_namespaces_reset_imports(tricky):
    assert tricky.model("App\\One\\UsesAlias").traits_direct == ("App\\Traits\\Tracked",)
    assert tricky.model("App\\Two\\NoImport").traits_direct == ("App\\Two\\T",)
    assert tricky.model("GlobalModel").traits_direct == ("App\\Traits\\Stamped",)


def test_trait_conventions_and_transitive_users(tricky):
    tracked = tricky.trait("Tracked")
    assert (tracked.boot, tracked.initialize, tracked.scopes) == ("bootTracked", "initializeTracked", ("recent",))
    assert tracked.abstract_methods == ("trackingKey",)
    stamped = tricky.trait("Stamped")
    assert "App\\Strings\\Counter" in stamped.models  # through Tracked
    assert "App\\Inherit\\NotAModel" in stamped.classes and "App\\Inherit\\NotAModel" not in stamped.models
    assert stamped.properties[0].name == "stampColumn" and stamped.properties[0].visibility == "protected"


def test_inheritance_abstract_models_and_configured_bases(tricky):
    base = tricky.model("App\\Inherit\\Base")
    assert base.abstract
    child = tricky.model("App\\Inherit\\Child")
    assert child.traits_direct == () and child.traits_inherited == ("App\\Traits\\Stamped", "App\\Traits\\Tracked")
    grand = tricky.model("App\\Inherit\\GrandChild")
    assert grand.traits_direct == ("App\\Traits\\Stamped",) and grand.traits_inherited == ("App\\Traits\\Tracked",)
    assert tricky.model("App\\Inherit\\Record").base == "Vendor\\Package\\BaseRecord"
    assert tricky.model("App\\Inherit\\MorphLink") is not None
    assert tricky.model("App\\Inherit\\NotAModel") is None


def test_overrides_versus_implementations(tricky):
    gadget = tricky.model("App\\Modern\\Gadget")
    assert [(o.method, o.trait) for o in gadget.overrides] == [("track", "App\\Traits\\Tracked")]
    assert [(o.method, o.trait) for o in gadget.implements] == [("trackingKey", "App\\Traits\\Tracked")]
    child = tricky.model("App\\Inherit\\Child")  # overrides a method of an inherited trait's trait
    assert [(o.method, o.trait, o.line) for o in child.overrides] == [("stamp", "App\\Traits\\Stamped", 22)]


def test_syntax_error_is_a_warning_and_the_rest_is_scanned(tricky):
    assert [(w.file, w.line) for w in tricky.warnings] == [("app/Broken.php", 12)]
    assert tricky.model("App\\Broken\\BeforeError") is not None


def test_blade_templates_and_excluded_folders(tricky):
    assert "NotDeclaredInBlade" not in {c.name for c in tricky.classes}
    assert tricky.trait("ExcludedTrait") is None
    assert tricky.files == 16


def test_class_names_are_case_insensitive():
    facts = parse_php(b"<?php namespace A; use X\\Traits\\HasThing; class M extends \\illuminate\\database\\eloquent\\MODEL "
                      b"{ use hasthing; }")
    assert facts["classes"][0]["traits"] == ["X\\Traits\\HasThing"]
    from traitctl.engine.inventory.resolve import build

    inv = build([{**facts, "file": "m.php", "language": "php", "module": ""}])
    assert [m.fqn for m in inv.models] == ["A\\M"]


def test_adaptations_are_recorded():
    src = (b"<?php namespace N; class C { use A, B { A::m insteadof B; B::m as protected n; m as private; } }")
    adaptations = parse_php(src)["classes"][0]["adaptations"]
    assert adaptations == [["insteadof", "N\\A", "m", ["N\\B"], None, None],
                           ["as", "N\\B", "m", [], "n", "protected"], ["as", None, "m", [], None, "private"]]


def test_trait_uses_trait_closure_is_transitive_and_cycle_safe():
    from traitctl.engine.inventory.resolve import build

    src = (b"<?php namespace N; trait A { use B; } trait B { use C; } trait C { use A; public function c() {} }"
           b" class M extends \\Illuminate\\Database\\Eloquent\\Model { use A; public function c() {} }")
    inv = build([{**parse_php(src), "file": "n.php", "language": "php", "module": ""}])
    assert inv.trait("N\\A").uses_all == ("N\\A", "N\\B", "N\\C")
    model = inv.model("N\\M")
    assert model.traits_direct == ("N\\A",) and model.traits_via_traits == ("N\\B", "N\\C")
    assert [(o.method, o.trait) for o in model.overrides] == [("c", "N\\C")]


def test_every_import_form_resolves_as_php_does():
    """Plain imports are read from their text, the other forms from the tree: both as PHP binds them."""
    src = (b"<?php\nnamespace N;\nUSE Lib\\Base AS Root;\nuse \\Lib\\Other;\nuse  Lib\\Spaced  as  Sp ;\n"
           b"use function Lib\\helper;\nuse const Lib\\LIMIT;\nuse Lib\\{Group, Grouped as G, function f};\n"
           b"use Lib\\One, Lib\\Two as Deux;\nuse /* a comment */ Lib\\Commented as Cm;\n"
           b"class A extends Root implements Other, Sp, G, Group, Deux, One, Cm, helper, LIMIT, f {}\n")
    cls = parse_php(src)["classes"][0]
    assert cls["parent"] == "Lib\\Base"
    assert cls["interfaces"] == ["Lib\\Other", "Lib\\Spaced", "Lib\\Grouped", "Lib\\Group", "Lib\\Two", "Lib\\One",
                                 "Lib\\Commented", "N\\helper", "N\\LIMIT", "N\\f"]
