"""Python facts with :mod:`ast`: the module-level classes of one file, bases resolved through imports.

The scanned module is parsed, never imported. Resolution: ``import a.b`` binds ``a``; ``import a.b as
c`` binds ``c`` to ``a.b``; ``from a import b as c`` binds ``c`` to ``a.b``; relative imports are
resolved against the module's package; a name defined in the module is ``module.Name``; anything
else (``object``, a builtin, a star import) keeps its written name.
"""

from __future__ import annotations

import ast
from typing import Any

#: Calls whose result is a SQLAlchemy declarative base (``Base = declarative_base()``).
DECLARATIVE_FACTORIES = {"declarative_base": "", "generate_base": "", "as_declarative": "",
                         # Flask-SQLAlchemy: `db = SQLAlchemy(app)`; models derive from `db.Model`.
                         "SQLAlchemy": ".Model"}


def parse_python(source: bytes, module: str, is_package: bool = False) -> dict[str, Any]:
    """The facts of one Python module (same shape as :func:`traitctl.engine.inventory.php.parse_php`,
    plus ``declarative``: module-level names bound to ``declarative_base()``-like calls).

    :param source: the file's bytes.
    :param module: its dotted module name (``shop.models``).
    :param is_package: the file is a package's ``__init__.py`` (relative imports start there).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        return {"classes": [], "declarative": [], "warnings": [[line, f"syntax error: {getattr(exc, 'msg', exc)}"]]}
    package = module if is_package else module.rpartition(".")[0]
    names = _Names(module, package)
    classes: list[dict] = []
    declarative: list[str] = []
    for node in _module_statements(tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.bind_import(node)
        elif isinstance(node, ast.ClassDef):
            names.local(node.name)
            classes.append(_class(node, names))
        elif isinstance(node, ast.Assign) and _declarative_suffix(node.value) is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.local(target.id)
                    declarative.append(names.qualify(target.id) + _declarative_suffix(node.value))
    return {"classes": classes, "declarative": declarative, "warnings": []}


def _module_statements(body: list[ast.stmt]):
    # Classes and imports under `if TYPE_CHECKING:` / `try:` at module level still count.
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _module_statements(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            yield from _module_statements(node.body + node.orelse + node.finalbody
                                          + [s for h in node.handlers for s in h.body])


class _Names:
    def __init__(self, module: str, package: str) -> None:
        self.module = module
        self.package = package
        self.bound: dict[str, str] = {}

    def local(self, name: str) -> None:
        self.bound[name] = self.qualify(name)

    def qualify(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name

    def bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bound[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.bound[head] = head
            return
        base = self._from_base(node)
        for alias in node.names:
            if alias.name != "*":
                self.bound[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def _from_base(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = self.package.split(".") if self.package else []
        parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
        return ".".join(p for p in parts + ([node.module] if node.module else []) if p)

    def resolve(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return self.bound.get(expr.id, expr.id)
        if isinstance(expr, ast.Attribute):
            head = self.resolve(expr.value)
            return f"{head}.{expr.attr}" if head else None
        if isinstance(expr, ast.Subscript):  # Generic[T], Mapped[...] as a base
            return self.resolve(expr.value)
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
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorators = {_decorator_name(d) for d in item.decorator_list}
            is_abstract = "abstractmethod" in decorators
            abstract = abstract or is_abstract
            methods.append([item.name, item.lineno, _visibility(item.name),
                            bool(decorators & {"staticmethod", "classmethod"}), is_abstract])
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            for target in item.targets if isinstance(item, ast.Assign) else [item.target]:
                if isinstance(target, ast.Name):
                    properties.append([target.id, item.lineno, _visibility(target.id), False])
        elif isinstance(item, ast.ClassDef) and item.name == "Meta":
            abstract = abstract or _meta_abstract(item)
    abstract = abstract or _dunder_abstract(node)
    return {"fqn": names.qualify(node.name), "kind": "class", "line": node.lineno,
            "parent": bases[0] if bases else None, "bases": bases, "interfaces": [], "traits": [],
            "adaptations": [], "methods": methods, "properties": properties, "abstract": abstract,
            "final": False}


def _decorator_name(expr: ast.expr) -> str:
    if isinstance(expr, ast.Call):
        expr = expr.func
    return expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""


def _visibility(name: str) -> str:
    if name.startswith("__") and not name.endswith("__"):
        return "private"
    return "protected" if name.startswith("_") and not name.startswith("__") else "public"


def _meta_abstract(meta: ast.ClassDef) -> bool:
    # Django: class Meta: abstract = True
    return any(isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "abstract" for t in s.targets)
               and isinstance(s.value, ast.Constant) and s.value.value is True for s in meta.body)


def _dunder_abstract(node: ast.ClassDef) -> bool:
    # SQLAlchemy: __abstract__ = True
    return any(isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__abstract__" for t in s.targets)
               and isinstance(s.value, ast.Constant) and s.value.value is True for s in node.body)
