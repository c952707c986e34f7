"""The bundled example shows every trait, model, override and configuration mismatch it contains."""

from __future__ import annotations

from traitctl.engine.inventory.audit import audit
from traitctl.store.toml_file import load_config, read

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

TRAITS = {"Auditable", "BelongsToTenant", "Cacheable", "HasSlug", "HasStatus", "HasUserTracking", "HasUuid",
          "Searchable"}


def test_laravel_traits_models_and_vendor_traits(example):
    php_traits = {t.name for t in example.traits if t.language == "php"}
    assert php_traits == TRAITS
    assert example.trait("Auditable").uses == ("App\\Models\\Traits\\HasUserTracking",)
    php_models = {m.name for m in example.models if m.language == "php"}
    assert php_models == {"Audit", "BaseModel", "Category", "Comment", "Invoice", "Order", "OrderLine", "Post",
                          "PostTag", "Product", "Setting", "Tag", "Tenant", "User"}
    assert example.model("BaseModel").abstract
    assert example.model("App\\Models\\User").base == "Illuminate\\Foundation\\Auth\\User"
    assert example.model("PostTag").base == "Illuminate\\Database\\Eloquent\\Relations\\Pivot"
    assert {t.name for t in example.vendor_traits} == {"SoftDeletes", "Notifiable"}
    assert example.warnings == ()


def test_invoice_insteadof_block_and_custom_override(example):
    invoice = example.model("App\\Models\\Invoice")
    assert [(a.kind, a.trait.rsplit("\\", 1)[1], a.method, a.alias) for a in invoice.adaptations] == [
        ("insteadof", "HasStatus", "label", None), ("as", "Auditable", "label", "auditLabel")]
    assert [(o.method, o.trait) for o in invoice.overrides] == [("statusTransitions", "App\\Models\\Traits\\HasStatus")]
    assert invoice.traits_via_traits == ("App\\Models\\Traits\\HasUserTracking",)
    assert invoice.traits_inherited == ("App\\Models\\Traits\\HasUuid",)


def test_tenant_aware_trait(example):
    tenant = example.trait("BelongsToTenant")
    assert tenant.boot == "bootBelongsToTenant" and tenant.scopes == ("forTenant",)
    assert tenant.properties[0].name == "tenantColumn"
    assert len(tenant.models) == 6


def test_python_shop_mixins(example):
    assert {t.name for t in example.traits if t.language == "python"} == {
        "AuditMixin", "SoftDeleteMixin", "TenantMixin", "TimestampMixin"}
    order = example.model("shop.models.orders.Order")
    assert [(o.method, o.trait) for o in order.overrides] == [("soft_delete", "shop.mixins.SoftDeleteMixin")]
    customer = example.model("shop.models.customers.Customer")
    assert customer.traits_via_traits == ("shop.mixins.TimestampMixin",)


def test_configuration_audit(example):
    path = ROOT / "config" / "traits.toml"
    cfg = load_config(path, read(path), None)
    result = audit(example, cfg)
    assert result.configured_only == ("Versionable",)
    assert "Illuminate\\Database\\Eloquent\\SoftDeletes" in result.code_only
    assert result.unknown_models == ()
    pair = next(p for p in result.pairs if p.model == "App\\Models\\Invoice" and p.trait.endswith("Auditable"))
    settings = {s.key: (s.value, s.source) for s in pair.settings}
    assert settings["retention_days"] == (2555, "model") and settings["enabled"] == (True, "global")
