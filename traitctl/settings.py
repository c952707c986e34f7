"""Where traitctl finds its configuration and backends. The only module that reads ``os.environ``.

Precedence for every setting: command-line option > ``TRAITCTL_*`` environment variable >
``[traitctl]`` table of the configuration file > built-in default.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from traitctl.engine.errors import ConfigFileError

CONFIG_RELATIVE = Path("config") / "traits.toml"
STATE_DIRNAME = ".traitctl"


def environ() -> Mapping[str, str]:
    """The process environment (the one place it is read)."""
    return os.environ


def config_limits(env: Mapping[str, str] | None = None):
    """How large and how deep a configuration file may be: ``$TRAITCTL_MAX_CONFIG_BYTES`` and
    ``$TRAITCTL_MAX_CONFIG_DEPTH`` (see :mod:`traitctl.engine.limits`), else the defaults.

    :raises InputError: when a variable is not a positive whole number.
    """
    from traitctl.engine import limits

    env = os.environ if env is None else env
    return limits.limits_from(env.get(limits.BYTES_VAR), env.get(limits.DEPTH_VAR))


def find_config(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Path:
    """Return the configuration file: ``--config``, else ``$TRAITCTL_CONFIG``, else the nearest
    ``config/traits.toml`` walking up from ``cwd`` (as git finds ``.git``).

    :raises ConfigFileError: when none is found.
    """
    chosen = explicit or env.get("TRAITCTL_CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        return path if path.is_absolute() else (cwd / path)
    for folder in (cwd, *cwd.parents):
        candidate = folder / CONFIG_RELATIVE
        if candidate.is_file():
            return candidate
    raise ConfigFileError(
        f"No {CONFIG_RELATIVE} found in {cwd} or any parent folder. "
        "Pass --config PATH or set TRAITCTL_CONFIG."
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass
class Settings:
    """Resolved settings of one invocation.

    :param config_path: the main configuration file.
    :param store_url: peewee database URL of the store.
    :param queue_url: URL of the job queue (``sqlite:///…`` or ``redis://…``).
    :param actor: who is recorded in history.
    """

    config_path: Path
    store_url: str
    queue_url: str
    actor: str
    lock_timeout: float = 10.0
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def config_dir(self) -> Path:
        return self.config_path.parent

    @property
    def state_dir(self) -> Path:
        """``.traitctl/`` beside the configuration: the embedded store and queue live here."""
        return self.config_dir / STATE_DIRNAME

    @property
    def tenants_dir(self) -> Path:
        """``tenants/`` beside the configuration: one ``<id>.toml`` per tenant."""
        return self.config_dir / "tenants"


def actor(env: Mapping[str, str]) -> str:
    """``$TRAITCTL_ACTOR``, else the operating-system user."""
    if env.get("TRAITCTL_ACTOR"):
        return env["TRAITCTL_ACTOR"]
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers): still record something honest
        return f"uid:{os.getuid()}"


def resolve(config_path: Path, file_section: Mapping, env: Mapping[str, str], *,
            store: str | None = None, queue: str | None = None, lock_timeout: float | None = None) -> Settings:
    """Combine options, environment and the ``[traitctl]`` table into :class:`Settings`."""
    state = config_path.parent / STATE_DIRNAME
    store_url = store or env.get("TRAITCTL_STORE") or file_section.get("store") or sqlite_url(state / "traitctl.db")
    queue_url = queue or env.get("TRAITCTL_QUEUE") or file_section.get("queue") or sqlite_url(state / "queue.db")
    timeout = lock_timeout
    if timeout is None:
        from traitctl.engine.validation import lock_timeout as parse_lock_timeout

        from_env = env.get("TRAITCTL_LOCK_TIMEOUT")
        raw = from_env or file_section.get("lock_timeout", 10.0)
        timeout = parse_lock_timeout(raw, "TRAITCTL_LOCK_TIMEOUT" if from_env else "[traitctl] lock_timeout")
    else:
        from traitctl.engine.validation import lock_timeout as parse_lock_timeout

        timeout = parse_lock_timeout(timeout, "--lock-timeout")
    return Settings(config_path=config_path, store_url=str(_relative_sqlite(store_url, config_path.parent)),
                    queue_url=str(_relative_sqlite(queue_url, config_path.parent)),
                    actor=actor(env), lock_timeout=timeout, env=env)


def _relative_sqlite(url: str, base: Path) -> str:
    """``sqlite:///relative/path.db`` in the file is relative to the configuration's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix):].startswith("/") and url[len(prefix):] != ":memory:":
        return prefix + str((base / url[len(prefix):]).resolve())
    return url


def redact_url(url: str) -> str:
    """Hide the password of a URL (``postgresql://u:secret@h/db`` → ``postgresql://u:***@h/db``)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
