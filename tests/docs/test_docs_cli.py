"""``traitctl docs generate|check`` on the bundled example, end to end."""

from __future__ import annotations

import json
from pathlib import Path


def test_generate_then_check_clean(cli, project: Path):
    result = cli("docs", "generate")
    assert result.exit_code == 0, result
    out = project / "docs" / "traits"
    assert "Wrote 32 page(s)" in result.stderr and "32 new" in result.stderr
    assert (out / "index.md").is_file()
    trait = (out / "traits" / "App.Models.Traits.Auditable.md").read_text()
    assert trait.startswith("# Auditable\n")
    assert "An audit trail of model events." in trait  # summary from the doc comment
    assert "| used by |" not in trait and "| uses | [HasUserTracking](../traits/App.Models.Traits.HasUserTracking.md) |" in trait
    assert "| model | `App\\Models\\Invoice` |  | `retention_days` | 2555 |" in trait
    assert "| tenant+model | `App\\Models\\Invoice` | acme | `retention_days` | 3650 |" in trait
    model = (out / "models" / "App.Models.Invoice.md").read_text()
    assert "| [HasUserTracking](../traits/App.Models.Traits.HasUserTracking.md) | via Auditable |" in model
    assert "| [HasUuid](../traits/App.Models.Traits.HasUuid.md) | inherited from `App\\Models\\BaseModel` |" in model
    assert "`statusTransitions()`" in model
    python_trait = (out / "traits" / "shop.mixins.TimestampMixin.md").read_text()
    assert "created_at / updated_at maintained on write." in python_trait
    check = cli("docs", "check")
    assert check.exit_code == 0, check
    assert "is up to date" in check.stderr
    again = cli("docs", "generate")
    assert "0 new, 0 changed, 0 removed" in again.stderr


def test_check_finds_drift_and_generate_repairs_it(cli, project: Path, config_file: Path):
    assert cli("docs", "generate").exit_code == 0
    out = project / "docs" / "traits"
    (out / "traits" / "Old.md").write_text("stale\n")
    (out / "models" / "App.Models.User.md").unlink()
    config_file.write_text(config_file.read_text().replace("[traits.HasSlug]\nsource = \"title\"",
                                                           "[traits.HasSlug]\nsource = \"name\""))
    result = cli("docs", "check", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["up_to_date"] is False
    assert doc["missing"] == ["models/App.Models.User.md"]
    assert doc["stale"] == ["traits/Old.md"]
    assert "traits/App.Models.Traits.HasSlug.md" in doc["changed"]
    text = cli("docs", "check")
    assert text.exit_code == 1 and "out of date" in text.stderr
    assert "stale: " in text.stdout and "Old.md" in text.stdout
    dry = cli("docs", "generate", "--dry-run")
    assert dry.exit_code == 0 and "Would write" in dry.stderr
    assert (out / "traits" / "Old.md").exists()
    assert cli("docs", "generate").exit_code == 0
    assert not (out / "traits" / "Old.md").exists()
    assert cli("docs", "check").exit_code == 0


def test_other_files_in_the_folder_are_left_alone(cli, project: Path):
    out = project / "site"
    out.mkdir()
    (out / "notes.md").write_text("mine\n")
    assert cli("docs", "generate", "--output", "site").exit_code == 0
    assert (out / "notes.md").read_text() == "mine\n"
    assert cli("docs", "check", "--output", "site").exit_code == 0


def test_out_that_is_a_file_is_bad_input(cli, project: Path):
    (project / "pages").write_text("not a folder\n")
    result = cli("docs", "generate", "--output", "pages")
    assert result.exit_code == 2
    assert result.stderr == "error: --output pages is a file, not a folder; choose a folder for the pages.\n"
    assert cli("docs", "check", "--output", "pages").exit_code == 2


def test_check_without_pages_exits_1(cli):
    result = cli("docs", "check", "--output", "nowhere")
    assert result.exit_code == 1
    assert "missing: " in result.stdout
