"""``traitctl docs generate|check``: Markdown pages per trait and model, kept in step with the code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from traitctl.commands.common import CONTEXT_SETTINGS, DryRunOpt, JsonOpt, app_for, examples, output_option

app = typer.Typer(help="Generate Markdown documentation of traits and models (and check it is current).",
                  no_args_is_help=True, add_completion=False, context_settings=CONTEXT_SETTINGS,
                  epilog=examples("traitctl docs generate --dry-run", "traitctl docs generate --output pages",
                                  "traitctl docs check --output pages"))

OutOpt = Annotated[str, output_option("Output folder (relative to the current folder).")]
DEFAULT_OUT = "docs/traits"
#: The files the generator owns below the output folder; nothing else there is read or removed.
OWNED = ("index.md", "traits/*.md", "models/*.md")


@app.command()
def generate(out: OutOpt = DEFAULT_OUT, dry_run: DryRunOpt = False, json_: JsonOpt = False) -> None:
    """Write index.md, traits/<FQN>.md and models/<FQN>.md (stale pages removed)."""
    from traitctl.store.toml_file import write_atomic

    from traitctl.commands.common import output_folder

    state = app_for(json_)
    if out != DEFAULT_OUT:  # the default docs/traits is made with its parent, as the bundled layout expects
        output_folder(out, "--output", state.cwd)
    folder = _folder(state, out)
    pages = _pages(state)
    drift = _drift(folder, pages)
    if not dry_run:
        for page in pages:
            if page.path in drift.missing or page.path in drift.changed:
                write_atomic(folder / page.path, page.text)
        for path in drift.stale:
            (folder / path).unlink()
    if state.out.json_mode:  # pages are not configuration: no history event
        state.out.json({"dry_run": dry_run, "events": [], "out": str(folder), "pages": len(pages),
                        "new": drift.missing, "changed": drift.changed, "removed": drift.stale})
        return
    verb = "Would write" if dry_run else "Wrote"
    for kind, paths in (("new", drift.missing), ("changed", drift.changed), ("removed", drift.stale)):
        for path in paths:
            state.out.line(f"{kind}: {folder / path}")
    state.out.success(f"{verb} {len(pages)} page(s) to {folder}: {len(drift.missing)} new, "
                      f"{len(drift.changed)} changed, {len(drift.stale)} removed.")


@app.command()
def check(out: OutOpt = DEFAULT_OUT, json_: JsonOpt = False) -> None:
    """Exit 1 when the pages on disk differ from what generate would write (for CI)."""
    state = app_for(json_)
    folder = _folder(state, out)
    drift = _drift(folder, _pages(state))
    if state.out.json_mode:
        state.out.json({"out": str(folder), "up_to_date": drift.clean, "missing": drift.missing,
                        "changed": drift.changed, "stale": drift.stale})
    else:
        for kind, paths in (("missing", drift.missing), ("changed", drift.changed), ("stale", drift.stale)):
            for path in paths:
                state.out.line(f"{kind}: {folder / path}")
        if drift.clean:
            state.out.success(f"Documentation in {folder} is up to date.")
        else:
            state.out.error(f"Documentation in {folder} is out of date: run traitctl docs generate --output {out}.")
    if not drift.clean:
        raise typer.Exit(1)


def _folder(state, out: str) -> Path:
    from traitctl.engine.errors import InputError

    folder = state.cwd / out
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--output {out} is a file, not a folder; choose a folder for the pages.")
    for sub in ("traits", "models"):
        if (folder / sub).exists() and not (folder / sub).is_dir():
            raise InputError(f"{folder / sub} is a file, not a folder; move it or choose another --output.")
    return folder


def _pages(state) -> list:
    from traitctl.engine import docs
    from traitctl.scan import scan_for_app

    inventory = scan_for_app(state)
    return docs.pages(inventory, state.config(tenants="all"), _summaries(inventory))


def _summaries(inventory) -> dict[str, str]:
    """FQN -> first paragraph of its doc comment, read from the scanned files."""
    from traitctl.engine.docs import doc_comment

    texts: dict[str, str] = {}
    out = {}
    for item in list(inventory.traits) + list(inventory.models):
        path = _source_path(inventory.roots, item.file)
        if path is None:
            continue
        if path not in texts:
            texts[path] = Path(path).read_text(encoding="utf-8", errors="replace")
        out[item.fqn] = doc_comment(texts[path], item.line, item.language)
    return out


def _source_path(roots: tuple[str, ...], rel: str) -> str | None:
    # inventory paths are relative to their root's parent (``app/Models/User.php``)
    for root in roots:
        candidate = Path(root).parent / rel
        if candidate.is_file():
            return str(candidate)
    return None


def _drift(folder: Path, pages: list):
    from traitctl.engine.docs import compare

    on_disk = {}
    for pattern in OWNED:
        for path in sorted(folder.glob(pattern)):
            if path.is_file():
                on_disk[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8", errors="replace")
    return compare(pages, on_disk)
