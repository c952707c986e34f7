"""Python facts with :mod:`ast`: every class of one file (nested ones too), its bases resolved
through the imports in scope, and what the module exports (for re-exports).

The scanned module is parsed, never imported. Resolution at parse time: ``import a.b`` binds ``a``;
``import a.b as c`` binds ``c`` to ``a.b``; ``from a import b as c`` binds ``c`` to ``a.b``;
relative imports of any depth are resolved against the module's package; a name defined in the
module is ``module.Name``; a name bound nowhere (``object``, a builtin, a name a star import
brings) keeps its written name. What a name like ``pkg.models.Model`` finally is (a re-export
through ``__init__.py``, ``from .base import *``, an alias chain) is settled by the builder
(:mod:`traitctl.engine.inventory.resolve`), which sees every module: for that each module's facts
carry ``names`` (its module-level bindings), ``stars`` (modules it star-imports) and ``all``
(its literal ``__all__``, else ``None``).

Nested classes are found in class bodies, functions and every compound statement; their FQN
follows ``__qualname__``: ``mod.Outer.Inner``, ``mod.factory.<locals>.Model``.
"""

from __future__ import annotations

import ast
from typing import Any

#: Calls whose result is a SQLAlchemy declarative base (``Base = declarative_base()``).
DECLARATIVE_FACTORIES = {"declarative_base": "", "generate_base": "", "as_declarative": "",
                         # Flask-SQLAlchemy: `db = SQLAlchemy(app)`; models derive from `db.Model`.
                         "SQLAlchemy": ".Model"}
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def parse_python(source: bytes, module: str, is_package: bool = False) -> dict[str, Any]:
    """The facts of one Python module (same shape as :func:`traitctl.engine.inventory.php.parse_php`,
    plus ``declarative``: names bound to ``declarative_base()``-like calls, ``names``, ``stars``
    and ``all``; each class also has ``meta``: its Django ``Meta`` options ``abstract``, ``proxy``,
    ``swappable`` and SQLAlchemy's ``__abstract__``).

    :param source: the file's bytes.
    :param module: its dotted module name (``shop.models``).
    :param is_package: the file is a package's ``__init__.py`` (relative imports start there).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        return {"classes": [], "declarative": [], "names": {}, "stars": [], "all": None,
                "warnings": [[line, f"syntax error: {getattr(exc, 'msg', exc)}"]]}
    package = module if is_package else module.rpartition(".")[0]
    walker = _Walker(module, package)
    names = _Names(walker, module)
    walker.body(tree.body, names, module, top=True)
    exported = {k: v for k, v in names.bound.items()}
    return {"classes": walker.classes, "declarative": walker.declarative, "names": exported,
            "stars": walker.stars, "all": walker.all, "renamed": walker.renamed, "warnings": []}


class _Names:
    """The names bound in one scope (module, class body, function), seeded from the enclosing one."""

    def __init__(self, walker: "_Walker", prefix: str, bound: dict[str, str] | None = None) -> None:
        self.walker = walker
        self.prefix = prefix
        self.bound: dict[str, str] = dict(bound or {})

    def local(self, name: str) -> None:
        self.bound[name] = self.qualify(name)

    def qualify(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def bind_import(self, node: ast.Import | ast.ImportFrom, top: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bound[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.bound[head] = head
            return
        base = self.walker.from_base(node)
        for alias in node.names:
            if alias.name == "*":
                if top and base:
                    self.walker.stars.append(base)
            else:
                self.bound[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def resolve(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return self.bound.get(expr.id, expr.id)
        if isinstance(expr, ast.Attribute):
            head = self.resolve(expr.value)
            return f"{head}.{expr.attr}" if head else None
        if isinstance(expr, ast.Subscript):  # Generic[T], Mapped[...] as a base
            return self.resolve(expr.value)
        return None


class _Walker:
    def __init__(self, module: str, package: str) -> None:
        self.module = module
        self.package = package
        self.classes: list[dict] = []
        self.declarative: list[str] = []
        self.stars: list[str] = []
        self.all: list[str] | None = None
        #: `Page.__module__ = "wagtail.models"` at module level: class FQN -> the module it claims.
        self.renamed: dict[str, str] = {}

    def from_base(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = self.package.split(".") if self.package else []
        parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
        return ".".join(p for p in parts + ([node.module] if node.module else []) if p)

    def body(self, statements: list[ast.stmt], names: _Names, prefix: str, top: bool = False) -> None:
        """Walk a block: ``prefix`` is the qualified name of the scope (module, class, function)."""
        for node in statements:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.bind_import(node, top)
            elif isinstance(node, ast.ClassDef):
                info = _class(node, names)  # bases are evaluated before the name is bound
                names.local(node.name)
                self.classes.append(info)
                inner = _Names(self, info["fqn"], names.bound)
                self.body(node.body, inner, info["fqn"])
            elif isinstance(node, _FUNCTIONS):
                names.local(node.name)
                inner = _Names(self, f"{names.qualify(node.name)}.<locals>", names.bound)
                self.body(node.body, inner, inner.prefix)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                self.assign(node, names, top)
            else:
                for block in _blocks(node):
                    self.body(block, names, prefix, top)

    def assign(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign, names: _Names, top: bool) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        for target in targets:
            if (top and isinstance(target, ast.Attribute) and target.attr == "__module__"
                    and isinstance(target.value, ast.Name) and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)):
                self.renamed[names.qualify(target.value.id)] = value.value
        suffix = _declarative_suffix(value) if value is not None else None
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if top and target.id == "__all__":
                self.all_names(node, value)
                continue
            names.local(target.id)
            if suffix is not None:
                self.declarative.append(names.qualify(target.id) + suffix)
            elif isinstance(value, (ast.Name, ast.Attribute)) and not isinstance(node, ast.AugAssign):
                # `Alias = Model` / `Base = models.Model`: the name stands for what it is bound to.
                resolved = names.resolve(value)
                if resolved and resolved != names.qualify(target.id):
                    names.bound[target.id] = resolved

    def all_names(self, node: ast.stmt, value: ast.expr | None) -> None:
        literal = _strings(value)
        if literal is None:
            self.all = None if not isinstance(node, ast.AugAssign) else self.all
            return
        if isinstance(node, ast.AugAssign):
            self.all = (self.all or []) + literal if self.all is not None else None
        else:
            self.all = literal


def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists of a compound statement (if/for/while/with/try/match)."""
    out = []
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            out.append(block)
    for handler in getattr(node, "handlers", ()) or ():
        out.append(handler.body)
    for case in getattr(node, "cases", ()) or ():
        out.append(case.body)
    return out


def _strings(value: ast.expr | None) -> list[str] | None:
    if isinstance(value, (ast.List, ast.Tuple)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
        return [e.value for e in value.elts]  # type: ignore[union-attr]
    return None


def _declarative_suffix(value: ast.expr) -> str | None:
    """For ``name = factory(...)``: what to append to ``name`` to get the model base, else ``None``."""
    if not isinstance(value, ast.Call):
        return None
    func = value.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return DECLARATIVE_FACTORIES.get(name)


def _class(node: ast.ClassDef, names: _Names) -> dict[str, Any]:
    bases = [b for b in (names.resolve(e) for e in node.bases) if b]
    methods, properties = [], []
    abstract = False
    meta = {"abstract": False, "proxy": False, "swappable": False, "sqlalchemy_abstract": False}
    for item in node.body:
        if isinstance(item, _FUNCTIONS):
            decorators = {_decorator_name(d) for d in item.decorator_list}
            is_abstract = "abstractmethod" in decorators
            abstract = abstract or is_abstract
            methods.append([item.name, item.lineno, _visibility(item.name),
                            bool(decorators & {"staticmethod", "classmethod"}), is_abstract])
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            for target in item.targets if isinstance(item, ast.Assign) else [item.target]:
                if isinstance(target, ast.Name):
                    properties.append([target.id, item.lineno, _visibility(target.id), False])
                    if target.id == "__abstract__" and _true(item.value):
                        meta["sqlalchemy_abstract"] = True
        elif isinstance(item, ast.ClassDef) and item.name == "Meta":
            options = _meta_options(item)
            meta["abstract"] = options.get("abstract") is True
            meta["proxy"] = options.get("proxy") is True
            meta["swappable"] = bool(options.get("swappable"))
    abstract = abstract or meta["abstract"] or meta["sqlalchemy_abstract"]
    return {"fqn": names.qualify(node.name), "kind": "class", "line": node.lineno,
            "parent": bases[0] if bases else None, "bases": bases, "interfaces": [], "traits": [],
            "adaptations": [], "methods": methods, "properties": properties, "abstract": abstract,
            "final": False, "meta": meta}


def _true(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Constant) and value.value is True


def _decorator_name(expr: ast.expr) -> str:
    if isinstance(expr, ast.Call):
        expr = expr.func
    return expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""


def _visibility(name: str) -> str:
    if name.startswith("__") and not name.endswith("__"):
        return "private"
    return "protected" if name.startswith("_") and not name.startswith("__") else "public"


def _meta_options(meta: ast.ClassDef) -> dict[str, Any]:
    """The options of a Django ``class Meta`` (``abstract = True``, ``proxy = True``, ``swappable =
    "AUTH_USER_MODEL"``); a value that is not a constant is ``...`` (set, so truthy)."""
    out: dict[str, Any] = {}
    for s in meta.body:
        if isinstance(s, ast.Assign):
            # Not a constant (`swappable = swapper.swappable_setting(...)`): set, value unknown (`...`).
            value = s.value.value if isinstance(s.value, ast.Constant) else ...
            for t in s.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = value
    return out
