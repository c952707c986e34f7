"""Validate the whole configuration of an invocation and place each problem at its file and line.

One use case, shared by ``traitctl config validate``, the ``configuration`` check of ``traitctl
health`` and ``traitctl worker`` (which refuses to start on a finding). The rules are
:func:`traitctl.engine.validation.problems`; this module only reads the files to find the lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One problem, located.

    :param line: 1-based line of the key or table in ``file``, ``None`` when it cannot be found.
    :param path: the key path (``("jobs", "heartbeat")``).
    :param message: one sentence naming the key path and the rule.
    """

    file: str
    line: int | None
    path: tuple[str, ...]
    message: str

    def text(self) -> str:
        """``file:line: message`` as the commands print it."""
        return f"{self.file}:{self.line or '?'}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": list(self.path), "message": self.message}


def check(app: Any, known_models: Iterable[str] | None = None) -> list[Finding]:
    """Every problem of the configuration of ``app`` (all tenant files loaded).

    :param known_models: model FQNs of the source, or ``None`` to skip the "unknown model" check.
    :raises ConfigFileError: when a file does not parse.
    """
    from traitctl.engine import validation
    from traitctl.store import toml_file

    cfg = app.config(tenants="all")
    texts: dict[str, str] = {}
    found = []
    for problem in validation.problems(cfg, known_models=known_models):
        if problem.file not in texts:
            texts[problem.file] = toml_file.read_text(Path(problem.file))
        line = _locate(texts[problem.file], problem.path, toml_file)
        found.append(Finding(problem.file, line, problem.path, validation.describe(problem)))
    return found


def refusal(findings: list[Finding]) -> str:
    """The sentence of a command that cannot run on an invalid configuration: its first finding."""
    more = f" (and {len(findings) - 1} more problem(s))" if len(findings) > 1 else ""
    return (f"{findings[0].text()}{more}: the configuration is invalid, so this command cannot run "
            "(`traitctl config validate --no-source` lists every problem).")


def require_tenant_shapes(cfg: Any, tenants: Iterable[str | None] | None = None) -> None:
    """Refuse tenants whose tables are of the wrong shape (``[tenants.acme] traits = 3``, a tenant
    file whose ``models`` is a string …), which resolution would read as empty: the sentence
    ``config validate`` prints, with file and line.

    :param tenants: the ids a command reads (``None`` among them: no tenant); ``None``: every loaded tenant.
    :raises ValidationError: (exit 2) naming the first such table.
    """
    from traitctl.engine import config as engine

    ids = sorted(cfg.tenants) if tenants is None else [t for t in tenants if t is not None]
    _refuse([p for t in ids if (source := cfg.tenants.get(t)) is not None and source.doc is not None
             for p in engine.tenant_shape_problems(cfg, source)])


def require_tenant(cfg: Any, tenant: str | None) -> None:
    """Refuse ``tenant`` (when given) if the configuration does not name it or its tables are of the
    wrong shape (:func:`require_tenant_shapes`): what every command reading one tenant checks.

    :raises NotFound: naming the tenant (near ids suggested).
    :raises ValidationError: (exit 2) naming the first table of the wrong shape.
    """
    from traitctl.engine.errors import NotFound

    if not tenant:
        return
    if tenant not in cfg.tenants:
        raise NotFound("tenant", tenant, cfg.tenants)
    require_tenant_shapes(cfg, [tenant])


def require_shapes(cfg: Any) -> None:
    """Refuse a configuration whose ``[traits]``, ``[models]`` or ``[tenants]`` tables (or the
    loaded tenants' tables) are of the wrong shape, before a reader of all of it (an export) takes
    them as empty: the sentence ``config validate`` prints, with file and line.

    :raises ValidationError: (exit 2) naming the first such table.
    """
    from traitctl.engine import validation

    _refuse(validation.shape_problems(cfg))


def _refuse(problems: list) -> None:
    from traitctl.engine import validation
    from traitctl.engine.errors import ValidationError
    from traitctl.store import toml_file

    if not problems:
        return
    texts: dict[str, str] = {}
    found = []
    for problem in sorted(problems, key=lambda p: (p.file, p.path, p.message)):
        if problem.file not in texts:
            texts[problem.file] = toml_file.read_text(Path(problem.file))
        found.append(Finding(problem.file, _locate(texts[problem.file], problem.path, toml_file), problem.path,
                             validation.describe(problem)))
    raise ValidationError(refusal(found))


def _locate(text: str, path: tuple[str, ...], toml_file: Any) -> int | None:
    """:func:`toml_file.locate` of the path or its nearest enclosing key, and for a path into an array of tables (``events -> subscribers ->
    1 -> command``) the line of that key under the index-th ``[[events.subscribers]]`` header."""
    index = next((i for i, part in enumerate(path) if part.isascii() and part.isdigit()), None)
    if index is None:
        # a key inside an inline table (env = { ttl = … }) is found as the line of its table
        found = next((line for depth in range(len(path), 0, -1)
                      if (line := toml_file.locate(text, path[:depth])) is not None), None)
        return found if found is not None else _root_key(text, path[0], toml_file)
    line = toml_file.locate(text, path)
    if line is not None:
        return line
    headers = toml_file.scan_headers(text)
    arrays = [h for h in headers if h.array and h.path == path[:index]]
    if int(path[index]) >= len(arrays):
        return toml_file.locate(text, path[:index])
    start = arrays[int(path[index])].line
    end = min((h.line for h in headers if h.line > start), default=len(text.split("\n")))
    key = path[index + 1] if len(path) > index + 1 else None
    lines = text.split("\n")
    for number in range(start + 1, end):
        if key is not None and lines[number].split("=", 1)[0].strip().strip("\"'") == key:
            return number + 1
    return start + 1


def _root_key(text: str, key: str, toml_file: Any) -> int | None:
    """The line of ``key = …`` above the first table header (a top-level scalar)."""
    headers = toml_file.scan_headers(text)
    lines = text.split("\n")
    for number in range(headers[0].line if headers else len(lines)):
        if lines[number].split("=", 1)[0].strip().strip("\"'") == key and "=" in lines[number]:
            return number + 1
    return None
