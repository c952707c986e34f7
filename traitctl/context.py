"""What a command receives: settings, output, and the configuration and store opened on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from traitctl.output import Output

if TYPE_CHECKING:
    from traitctl.engine.config import ConfigData
    from traitctl.settings import Settings
    from traitctl.store.db import Store

#: Click context settings of every command group: ``-h`` is ``--help`` everywhere.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@dataclass
class GlobalOptions:
    """The root command's options."""

    config: str | None = None
    store: str | None = None
    queue: str | None = None
    json: bool = False
    quiet: int = 0
    verbose: int = 0
    no_color: bool = False
    lock_timeout: float | None = None


@dataclass
class App:
    """One invocation's state. Commands get it with :func:`current`.

    Example usage::

        app = current()
        cfg = app.config(tenants={"acme"})
        app.out.line(str(value))
    """

    options: GlobalOptions
    env: Mapping[str, str]
    cwd: Path
    out: Output
    _settings: Any = None
    _main_doc: Any = None
    _store: Any = None
    _configs: dict = field(default_factory=dict)
    _wrote: bool = False

    @property
    def config_path(self) -> Path:
        from traitctl.settings import find_config

        return find_config(self.options.config, self.env, self.cwd)

    def main_doc(self) -> dict:
        """The parsed main configuration file (read once per invocation)."""
        if self._main_doc is None:
            from traitctl.store import toml_file

            self._main_doc = toml_file.read(self.config_path)
        return self._main_doc

    @property
    def settings(self) -> "Settings":
        if self._settings is None:
            from traitctl import settings

            path = self.config_path
            section = self.main_doc().get("traitctl", {})
            self._settings = settings.resolve(path, section if isinstance(section, dict) else {}, self.env,
                                              store=self.options.store, queue=self.options.queue,
                                              lock_timeout=self.options.lock_timeout)
        return self._settings

    def config(self, tenants: str | set[str] | None = None) -> "ConfigData":
        """The configuration with the main file and the tenants asked for.

        :param tenants: ``"all"`` to load every tenant file, a set of ids, or ``None`` for none
            (tenants of the main file are always there).
        """
        key = tenants if isinstance(tenants, str) or tenants is None else frozenset(tenants)
        if key not in self._configs:
            from traitctl.store import toml_file

            self._configs[key] = toml_file.load_config(self.config_path, self.main_doc(), tenants)
        return self._configs[key]

    def store(self) -> "Store":
        """The store, opened (and its schema upgraded) on first use."""
        if self._store is None:
            from traitctl.store.driver import import_peewee

            import_peewee(self.settings.store_url)
            from traitctl.store.db import Store

            self._store = Store.open(self.settings.store_url)
            self._store.events.subscribe(self._note_event)
        return self._store

    def _note_event(self, event: Any) -> None:
        from traitctl.export_service import is_write

        if is_write(event.kind):
            self._wrote = True

    def mark_written(self) -> None:
        """Run the ``[export]`` formats when the command ends (also done for every recorded write)."""
        self._wrote = True

    def finish(self) -> None:
        """After the command: run the ``[export]`` formats when it recorded a configuration, tenant,
        flag or override write (failures are warnings naming the file; the write itself stands)."""
        if not self._wrote:
            return
        self._wrote = False
        from traitctl.export_service import auto_export

        self.reset_config()
        for warning in auto_export(self):
            self.out.warn(warning)

    def reset_config(self) -> None:
        """Forget parsed files after a write, so later reads see the new contents."""
        self._main_doc = None
        self._configs.clear()

    def close(self) -> None:
        self.finish()
        if self._store is not None:
            self._store.close()


def current() -> App:
    """The :class:`App` of the running command."""
    from typer._click.globals import get_current_context  # typer 0.27 vendors click

    return get_current_context().find_root().obj
