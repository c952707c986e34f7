"""Where traitctl finds its configuration and backends. The only module that reads ``os.environ``.

Precedence for every setting: command-line option > ``TRAITCTL_*`` environment variable >
``[traitctl]`` table of the configuration file > built-in default.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

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


def managed_file(path: Path, config_path: Path, databases: tuple[str, ...] = ()) -> str | None:
    """What ``path`` is among the files traitctl manages (``"the configuration file …"``): the
    configuration file, a tenant file, an SQLite store or queue among ``databases`` (URLs) with its
    journal files, or a lock file beside them; else ``None``. Outputs must not replace them (an
    export there would lose the configuration or the history)."""
    config = config_path.resolve()
    target = path.resolve()
    if target == config:
        return f"the configuration file {config}"
    if target.parent == config.parent / "tenants" and target.suffix == ".toml":
        return f"a tenant file ({target})"
    for url in databases:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            db = Path(url[len("sqlite:///"):]).resolve()
            if target in (db, *(db.with_name(db.name + end) for end in ("-wal", "-shm", "-journal"))):
                return f"a database of traitctl's ({target})"
    if target.name.endswith(".lock") and target.parent in (config.parent, config.parent / "tenants",
                                                            config.parent / STATE_DIRNAME):
        return f"a lock file ({target})"
    return None


def refuse_managed(path: Path, app: Any, what: str) -> None:
    """Raise when the output ``path`` (named ``what``, e.g. ``"--output x"``) is a managed file of
    ``app`` (:func:`managed_file`); without a configuration nothing is managed.

    :raises InputError: naming the option and the file.
    """
    from traitctl.engine.errors import InputError

    try:
        config = app.config_path
    except InputError:
        return
    try:
        found = app.settings
        databases: tuple[str, ...] = (found.store_url, found.queue_url)
    except Exception:  # a configuration the command itself will refuse: still guard its files
        databases = (sqlite_url(config.parent / STATE_DIRNAME / "traitctl.db"),
                     sqlite_url(config.parent / STATE_DIRNAME / "queue.db"))
    managed = managed_file(path, config, databases)
    if managed:
        raise InputError(f"{what} is {managed}, which traitctl manages; write the output to another file.")


#: Longest actor name the store records (its history and override tables).
MAX_ACTOR = 200


def actor(env: Mapping[str, str]) -> str:
    """``$TRAITCTL_ACTOR``, else the operating-system user.

    :raises InputError: when ``$TRAITCTL_ACTOR`` is longer than :data:`MAX_ACTOR` characters (a
        PostgreSQL store refuses it half-way through a write).
    """
    if env.get("TRAITCTL_ACTOR"):
        name = env["TRAITCTL_ACTOR"]
        if len(name) > MAX_ACTOR:
            from traitctl.engine.errors import InputError

            raise InputError(f"TRAITCTL_ACTOR is {len(name)} characters long; history records at most {MAX_ACTOR}: "
                             "use a shorter name.")
        return name
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


# -- secrets ---------------------------------------------------------------------------------------
#: ``scheme://user:SECRET@`` (libpq and redis-py URLs, multi-host ones included); the password runs
#: to the last ``@`` before the path, as Python's URL parser reads it.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*):(?P<secret>[^\s/]*)@")
#: ``?password=SECRET`` / ``&sslpassword=SECRET`` in a URL's query.
_QUERY = re.compile(r"(?P<head>[?&;](?P<key>[^\s=&#;?]+)=)(?P<secret>[^\s&#;]*)")
#: ``password=SECRET`` or ``password = 'SE CRET'`` in a libpq key=value connection string.
_KEYWORD = re.compile(r"(?P<head>(?:^|(?<=[\s'\"]))(?P<key>[A-Za-z_]+)\s*=\s*)"
                      r"(?P<secret>'(?:[^'\\]|\\.)*'?|(?:[^\s'\\]|\\.)(?:[^\s\\]|\\.)*\\?)")
#: names of connection parameters that hold a secret (libpq's password and sslpassword, redis-py's
#: password, and the usual spellings of tokens and keys)
_SECRET_KEY = re.compile(r"password|passwd|passphrase|secret|token|api_?key|^(ssl)?pass$|(^|_)pwd$")
MASK = "***"


def _secret_key(key: str) -> bool:
    """Whether a connection parameter holds a secret: password, sslpassword, passwd … (``passfile``
    names a file, whose contents traitctl never reads)."""
    from urllib.parse import unquote

    return _SECRET_KEY.search(unquote(key).lower()) is not None


def secrets_in(text: str) -> set[str]:
    """The passwords written in ``text`` (URLs, their query parameters, key=value connection
    strings), each as written and percent-decoded, so that an error quoting either can be cleaned."""
    from urllib.parse import quote, unquote

    found: set[str] = set()
    for match in _USERINFO.finditer(text):
        found.add(match.group("secret"))
    for pattern in (_QUERY, _KEYWORD):
        for match in pattern.finditer(text):
            if _secret_key(match.group("key")):
                found.add(match.group("secret"))
    out: set[str] = set()
    for secret in found:
        dsn = _unquote_dsn(secret)  # a key=value value, or a URL's percent-encoded one
        forms = (secret, dsn, unquote(secret), unquote(dsn), quote(dsn, safe=""), quote(unquote(dsn), safe=""))
        for form in forms:
            if len(form) >= 3 and form != MASK:  # shorter ones would blank out ordinary words
                out.add(form)
    return out


def _unquote_dsn(value: str) -> str:
    """A libpq key=value value as the server sees it: ``'a b\\'c'`` -> ``a b'c``, ``a\\ b`` -> ``a b``."""
    if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


def redact(text: str, *sources: str | None) -> str:
    """``text`` with every password hidden: those of the URLs and connection strings it contains
    (``postgresql://u:***@h/db``, ``redis://h?password=***``, ``host=h password=***``) and, as plain
    words anywhere, those of ``sources`` (say the store URL whose driver quoted a part of it).

    The one redaction of traitctl: errors, ``health --json``, the worker's banner and logs, and the
    command line kept in history all go through it.
    """
    if not text:
        return text
    known = set()
    for source in sources:
        if source:
            known |= secrets_in(source)
    out = _USERINFO.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    out = _QUERY.sub(_mask_parameter, out)
    out = _KEYWORD.sub(_mask_parameter, out)
    for secret in sorted(known, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out


def _mask_parameter(match: re.Match) -> str:
    secret = match.group("secret")
    if not _secret_key(match.group("key")) or (secret.startswith(MASK) and not secret[len(MASK):].strip(":.,;)'\"]")):
        return match.group(0)  # not a secret, or hidden already (text redacted twice)
    return match.group("head") + MASK


def redact_url(url: str) -> str:
    """Hide the passwords of a URL or connection string (``postgresql://u:secret@h/db`` →
    ``postgresql://u:***@h/db``); see :func:`redact`."""
    return redact(url, url)


def redact_logs(*sources: str | None) -> None:
    """Hide passwords in every log record the root logger's handlers write (message and traceback),
    those of ``sources`` (the store and queue URLs) included."""
    import logging

    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg, record.args = redact(record.getMessage(), *sources), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text, *sources)
            return True

    for handler in logging.getLogger().handlers:
        if not any(type(f).__name__ == "Redact" for f in handler.filters):
            handler.addFilter(Redact())
