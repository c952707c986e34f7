"""Options and helpers shared by command modules (kept free of heavy imports)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.context import App, current

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", "-n", help="Show the diff; write nothing.")]
TraitOpt = Annotated[str, typer.Option("--trait", "-t", help="Trait name (as in [traits.<Trait>]).")]
OptTraitOpt = Annotated[Optional[str], typer.Option("--trait", "-t", help="Only this trait.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model FQN (or unique short name).")]
TenantOpt = Annotated[Optional[str], typer.Option("--tenant", help="Tenant id.")]


def app_for(json_flag: bool = False) -> App:
    """The running :class:`App`; a command's own ``--json`` turns JSON mode on as the root's does."""
    state = current()
    if json_flag:
        state.out.json_mode = True
        state.options.json = True
    return state
