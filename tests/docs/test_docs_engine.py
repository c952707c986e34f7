"""The pure documentation generator: doc comments, slugs, pages, drift."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traitctl.engine import docs
from traitctl.engine.config import ConfigData, TenantSource
from traitctl.engine.inventory.model import Inventory, MethodInfo, ModelInfo, Override, TraitInfo

PHP = """<?php
namespace App\\Traits;

/**
 * Keeps a slug in step with the title.
 * Second line of the summary.
 *
 * Details that are not the summary.
 * @see Str::slug
 */
#[Attribute]
trait HasSlug
{
}
"""

PY = '''
class TimestampMixin:
    """created_at / updated_at maintained on write.

    More detail.
    """
'''


def test_php_doc_comment_first_paragraph_skipping_attributes():
    assert docs.doc_comment(PHP, 12, "php") == "Keeps a slug in step with the title. Second line of the summary."


def test_php_without_doc_comment():
    assert docs.doc_comment("<?php\n// a line comment\ntrait T {}\n", 3, "php") == ""


def test_python_docstring():
    assert docs.doc_comment(PY, 2, "python") == "created_at / updated_at maintained on write."
    assert docs.doc_comment("class X(:\n", 1, "python") == ""


@given(st.lists(st.text(alphabet="Aa\\._-/ :é", min_size=1, max_size=12), max_size=20))
def test_slugs_are_safe_and_unique(names):
    out = docs.slugs(names)
    assert set(out) == set(names)
    assert len({s.lower() for s in out.values()}) == len(out)
    for slug in out.values():
        assert "/" not in slug and "\\" not in slug and slug not in (".", "..") and not slug.startswith(".")


def test_values_as_toml_writes_them():
    assert docs.value(True) == "true"
    assert docs.value(["a", 1]) == '["a", 1]'
    assert docs.value({"a": 1}) == "{ a = 1 }"


def _inventory() -> Inventory:
    trait = TraitInfo(fqn="App\\Traits\\Cacheable", language="php", file="app/Traits/Cacheable.php", line=5,
                      methods=(MethodInfo("bootCacheable", 7, static=True), MethodInfo("ttl", 9)),
                      boot="bootCacheable", scopes=("cached",), models=("App\\Models\\Post",))
    over = Override("ttl", "App\\Traits\\Cacheable", 20, 9, "App\\Models\\Post")
    model = ModelInfo(fqn="App\\Models\\Post", language="php", file="app/Models/Post.php", line=8,
                      parents=("Illuminate\\Database\\Eloquent\\Model",), traits_direct=("App\\Traits\\Cacheable",),
                      traits=("App\\Traits\\Cacheable",), overrides=(over,))
    return Inventory(roots=("app",), traits=(trait,), models=(model,))


def _config() -> ConfigData:
    main = {"traits": {"Cacheable": {"ttl": 60, "schema": {"ttl": {"type": "integer", "default": 3600, "min": 0,
                                                                    "description": "Seconds"}},
                                     "operations": {"warm": {"command": ["php", "artisan", "cache:warm"]}}}},
            "models": {"App\\Models\\Post": {"Cacheable": {"ttl": 5}}},
            "flags": {"trait_cacheable": {"enabled": True, "percentage": 25, "description": "x"},
                      "other": {"enabled": False}}}
    tenant = TenantSource("acme", "tenants/acme.toml", (), {"traits": {"Cacheable": {"ttl": 1}}})
    return ConfigData(main=main, main_file="traits.toml", tenants={"acme": tenant})


def test_pages_content():
    pages = {p.path: p.text for p in docs.pages(_inventory(), _config(), {"App\\Traits\\Cacheable": "Caches."})}
    assert sorted(pages) == ["index.md", "models/App.Models.Post.md", "traits/App.Traits.Cacheable.md"]
    trait = pages["traits/App.Traits.Cacheable.md"]
    assert trait.startswith("# Cacheable\n")
    assert "Caches." in trait
    assert "- `bootCacheable()`: booted once per model class that uses it" in trait
    assert "- query scope `cached()`" in trait
    assert "| `ttl` | integer | 3600 | >= 0 | 60 | Seconds |" in trait
    assert "| model | `App\\Models\\Post` |  | `ttl` | 5 |" in trait
    assert "| tenant |  | acme | `ttl` | 1 |" in trait
    assert "| `trait_cacheable` | on | 25 % | x |" in trait and "`other`" not in trait
    assert "| `warm` | configured | `php artisan cache:warm` |" in trait
    assert "| [Post](../models/App.Models.Post.md) | direct |" in trait
    model = pages["models/App.Models.Post.md"]
    assert "| [Cacheable](../traits/App.Traits.Cacheable.md) | used directly |" in model
    assert "| `ttl()` | 20 | [Cacheable](../traits/App.Traits.Cacheable.md)::ttl() | 9 | `App\\Models\\Post` |" in model
    assert "| [Cacheable](../traits/App.Traits.Cacheable.md) | `ttl` | 5 | model |" in model
    assert "| [Cacheable](traits/App.Traits.Cacheable.md) | php | 1 | Caches. |" in pages["index.md"]


def test_pages_are_deterministic():
    one = docs.pages(_inventory(), _config(), {})
    two = docs.pages(_inventory(), _config(), {})
    assert one == two


def test_compare():
    pages = [docs.Page("index.md", "a\n"), docs.Page("traits/X.md", "x\n"), docs.Page("models/Y.md", "y\n")]
    drift = docs.compare(pages, {"index.md": "a\n", "traits/X.md": "old\n", "traits/Gone.md": "g\n"})
    assert drift == docs.Drift(missing=("models/Y.md",), changed=("traits/X.md",), stale=("traits/Gone.md",))
    assert not drift.clean
    assert docs.compare(pages, {p.path: p.text for p in pages}).clean


@pytest.mark.parametrize("name, snake", [("HasUserTracking", "has_user_tracking"), ("HTTPCache", "http_cache")])
def test_snake(name, snake):
    assert docs.snake(name) == snake
