"""From per-file facts to an :class:`~traitctl.engine.inventory.model.Inventory` (pure).

Rules:

* one class-like per FQN, compared case-insensitively; the first declaration in path order wins,
  the others are listed in ``duplicates`` (``if``/``else`` declarations, stubs); the scanned code
  comes before the libraries, whose classes only resolve names and are never listed;
* a model is a class whose parent chain, followed through the scanned code and the libraries,
  reaches a model base; its ``kind`` is the family of that base;
* a model's traits are what ``class_uses_recursive()`` returns: its own, their traits (trait uses
  trait) and those of its ancestors below the model base;
* Python: a mixin (trait) is a non-model base of a model or of another mixin, a class named
  ``*Mixin``/``*Trait``, or one listed in ``[inventory] traits``; a mixin that reaches a model base
  is a model too; names resolve across modules (re-exports, star imports, aliases: :class:`_PyNames`);
* a model method meeting a trait's concrete method is an override; meeting an abstract one, an
  implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from functools import lru_cache
from itertools import starmap
from typing import Any

from traitctl.engine.inventory.model import (Adaptation, ClassInfo, Inventory, MethodInfo, ModelInfo,
                                             Override, PropertyInfo, ScanWarning, TraitInfo, VendorTrait,
                                             short)

#: The model families and their bases (FQNs; Python names as written and where they are defined).
MODEL_KINDS = ("eloquent", "django", "sqlalchemy", "peewee", "pydantic", "custom")
PHP_MODEL_BASES = ("Illuminate\\Database\\Eloquent\\Model", "Illuminate\\Foundation\\Auth\\User",
                   "Illuminate\\Database\\Eloquent\\Relations\\Pivot",
                   "Illuminate\\Database\\Eloquent\\Relations\\MorphPivot")
DJANGO_MODEL_BASES = ("django.db.models.Model", "django.db.models.base.Model",
                      # Django's abstract models when django.contrib is neither scanned nor a library.
                      "django.contrib.auth.models.AbstractUser", "django.contrib.auth.models.AbstractBaseUser",
                      "django.contrib.auth.base_user.AbstractBaseUser", "django.contrib.auth.models.PermissionsMixin",
                      "django.contrib.sessions.base_session.AbstractBaseSession",
                      "django.contrib.gis.db.models.Model")
SQLALCHEMY_MODEL_BASES = ("sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
                          "sqlalchemy.orm.decl_api.DeclarativeBase", "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta")
PYTHON_MODEL_BASES = (DJANGO_MODEL_BASES + SQLALCHEMY_MODEL_BASES
                      + ("peewee.Model", "pydantic.BaseModel", "pydantic.main.BaseModel"))
#: Python bases that are never mixins.
#: A direct subclass of these is a SQLAlchemy declarative base: a model base, flagged abstract.
SQLALCHEMY_ROOTS = frozenset(name.lower() for name in SQLALCHEMY_MODEL_BASES)
PYTHON_NOT_TRAITS = frozenset({"object", "Generic", "typing.Generic", "ABC", "abc.ABC", "Protocol",
                               "typing.Protocol", "typing_extensions.Protocol"})


def build(files: Sequence[dict[str, Any]], *, roots: tuple[str, ...] = (), model_bases: Iterable[str] = (),
          extra_traits: Iterable[str] = (), kinds: Iterable[str] | None = None) -> Inventory:
    """Assemble the inventory.

    :param files: per-file facts (:func:`traitctl.engine.inventory.facts.parse_file` plus ``file``;
        ``library: True`` for a library's file: used to resolve bases, traits and methods only).
    :param roots: the scanned roots, recorded as given.
    :param model_bases: extra model bases (FQNs).
    :param extra_traits: Python classes (FQN or short name) to treat as mixins.
    :param kinds: the model families to list (:data:`MODEL_KINDS`); ``None``: all. A class whose
        only model base is of another family is a plain class.
    """
    b = _Builder(files, tuple(model_bases), tuple(extra_traits), None if kinds is None else frozenset(kinds))
    own = [f for f in files if not f.get("library")]
    return Inventory(roots=roots, files=len(own), traits=b.traits(), models=b.models(),
                     classes=b.sorted_classes(), vendor_traits=b.vendor_traits(), warnings=b.warnings)


def missing(files: Sequence[dict[str, Any]], model_bases: Iterable[str] = ()) -> tuple[set[str], set[str]]:
    """What resolving the scanned code's classes needs that no given file declares: ``(Python
    modules, PHP class FQNs)``. Starts at the non-library classes and follows only the bases,
    parents and traits reached from them (a library is read as far as the app needs it).

    :param files: per-file facts, as for :func:`build`.
    :param model_bases: extra model bases (FQNs): never looked up.
    """
    b = _Builder(files, tuple(model_bases), (), None, missing=True)
    return b.py.missing, b.php_missing


@lru_cache(maxsize=1 << 16)
def _key(name: str) -> str:
    # Memoised: build() asks for the same few thousand names over a hundred thousand times.
    return name.lstrip("\\").lower()


def _base_kind(name: str) -> str:
    if "\\" in name:
        return "eloquent" if name in PHP_MODEL_BASES else "custom"
    if name in DJANGO_MODEL_BASES:
        return "django"
    if name in SQLALCHEMY_MODEL_BASES:
        return "sqlalchemy"
    return {"peewee.Model": "peewee", "pydantic.BaseModel": "pydantic", "pydantic.main.BaseModel": "pydantic"
            }.get(name, "custom")


class _PyNames:
    """Python name resolution across modules, as the import system binds names: a dotted name
    ``a.b.X`` is looked up in the longest known module prefix (``a.b``), through that module's
    bindings (imports, aliases, ``X = Y``), its submodules and its star imports (``__all__`` when
    literal, else every public name), until it names a class or nothing more is known."""

    def __init__(self, modules: dict[str, dict[str, Any]], classes: dict[str, Any]) -> None:
        self.modules = modules
        self.classes = classes
        self.missing: set[str] = set()
        self._memo: dict[str, str] = {}

    def resolve(self, name: str, module: str = "") -> str:
        """The defining name of ``name`` (written in ``module``: a bare name may come from one of
        its star imports)."""
        if "." not in name and module in self.modules and _key(name) not in self.classes:
            found = self._attr(module, name, set())
            if found is not None and found != f"{module}.{name}":
                return self.dotted(found)
            return name
        return self.dotted(name)

    def dotted(self, name: str) -> str:
        if name not in self._memo:
            self._memo[name] = name  # a cycle ends where it started
            self._memo[name] = self._dotted(name, 0)
        return self._memo[name]

    def _dotted(self, name: str, depth: int) -> str:
        if _key(name) in self.classes or depth > 40:
            return name
        parts = name.split(".")
        for i in range(len(parts) - 1, 0, -1):
            mod = ".".join(parts[:i])
            if mod not in self.modules:
                self.missing.add(mod)
                continue
            target = self._attr(mod, parts[i], set())
            if target is None or target == f"{mod}.{parts[i]}":
                return name  # a local object (`db = SQLAlchemy()`), or not bound there
            return self._dotted(".".join([target, *parts[i + 1:]]), depth + 1)
        return name

    def _attr(self, mod: str, attr: str, seen: set[tuple[str, str]]) -> str | None:
        facts = self.modules[mod]
        target = facts.get("names", {}).get(attr)
        if target is not None:
            return target
        if _key(f"{mod}.{attr}") in self.classes:
            return f"{mod}.{attr}"
        if f"{mod}.{attr}" in self.modules:
            return f"{mod}.{attr}"
        for star in facts.get("stars", ()):
            if star not in self.modules:
                self.missing.add(star)
                continue
            exported = self.modules[star].get("all")
            if (exported is None and attr.startswith("_")) or (exported is not None and attr not in exported):
                continue
            if (star, attr) in seen:
                continue
            seen.add((star, attr))
            found = self._attr(star, attr, seen)
            if found is not None:
                return found
        return None


class _Builder:
    def __init__(self, files: Sequence[dict[str, Any]], model_bases: tuple[str, ...],
                 extra_traits: tuple[str, ...], kinds: frozenset[str] | None, missing: bool = False) -> None:
        self.index: dict[str, ClassInfo] = {}
        self.library: set[str] = set()
        self._meta: dict[str, dict[str, Any]] = {}
        self.warnings = tuple(ScanWarning(f["file"], line, msg) for f in files if not f.get("library")
                              for line, msg in f["warnings"])
        self._collect(files)
        modules: dict[str, dict[str, Any]] = {}
        for f in files:
            if f["language"] == "python":
                modules.setdefault(f["module"], f)
        self.py = _PyNames(modules, self.index)
        bases = PHP_MODEL_BASES + PYTHON_MODEL_BASES + model_bases
        declarative = tuple(name for f in files for name in f.get("declarative", ()))
        kind_of = {_key(b): _base_kind(b) for b in bases}
        kind_of.update({_key(b): "sqlalchemy" for b in declarative})
        kind_of.update({_key(b): "custom" for b in model_bases})
        if missing:
            self._find_missing(files, set(kind_of))
            return
        self._resolve_python()
        # A base named through a re-export (`sqlalchemy.orm.DeclarativeBase`) is its defining class too.
        for name in bases + declarative:
            if "\\" not in name:
                kind_of.setdefault(_key(self.py.dotted(name)), kind_of[_key(name)])
        if kinds is not None:
            kind_of = {k: v for k, v in kind_of.items() if v in kinds}
        self.kind_of = kind_of
        self.model_bases = set(kind_of)
        self._python_traits({_key(t) for t in extra_traits})
        self._model_cache: dict[str, tuple[tuple[str, ...], str] | None] = {}
        self._sets: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
        self._method_maps: dict[str, dict[str, list]] = {}
        self._closures: dict[str, tuple[str, ...]] = {}
        self.model_keys = [k for k, c in self.index.items() if k not in self.library and self.chain(k)
                           and (c.kind in ("class", "anonymous") or c.language == "python")]

    # -- collecting ---------------------------------------------------------------------------
    def _collect(self, files: Sequence[dict[str, Any]]) -> None:
        duplicates: dict[str, list[str]] = {}
        # The scanned code first: a library class never hides one of the app's own.
        ordered = [f for f in files if not f.get("library")] + [f for f in files if f.get("library")]
        self.renamed: dict[str, str] = {}  # key of the FQN where a class is defined -> its runtime FQN
        for f in ordered:
            library = bool(f.get("library"))
            renamed = f.get("renamed") or {}
            infos = f.get("class_infos")
            for raw, info in zip(f["classes"], infos if infos is not None else class_infos(f)):
                if info.fqn in renamed and f["module"]:
                    # `Page.__module__ = "wagtail.models"`: Python names it so (its __module__/__qualname__).
                    runtime = renamed[info.fqn] + info.fqn[len(f["module"]):]
                    self.renamed[_key(info.fqn)] = runtime
                    info = _replace(info, fqn=runtime)
                key = _key(info.fqn)
                if key in self.index:
                    if not library:
                        duplicates.setdefault(key, []).append(f"{info.file}:{info.line}")
                    continue
                self.index[key] = info
                if library:
                    self.library.add(key)
                if "meta" in raw:
                    self._meta[key] = {**raw["meta"], "module": f["module"]}
        for key, places in duplicates.items():
            self.index[key] = _replace(self.index[key], duplicates=tuple(places))

    def _resolve_python(self) -> None:
        """Every Python base named through a re-export, alias or star import becomes the FQN of the
        class it is (as far as the scanned code and the libraries tell)."""
        for key, cls in list(self.index.items()):
            if cls.language != "python" or not cls.bases:
                continue
            module = self._meta.get(key, {}).get("module", "")
            bases = tuple(self._runtime_name(self.py.resolve(b, module)) for b in cls.bases)
            if bases != cls.bases:
                self.index[key] = _replace(cls, bases=bases, parent=bases[0])

    def _runtime_name(self, name: str) -> str:
        return self.renamed.get(_key(name), name) if self.renamed else name

    def _find_missing(self, files: Sequence[dict[str, Any]], model_bases: set[str]) -> None:
        """Walk from the scanned code's classes through what they name; record what is unknown."""
        self.php_missing: set[str] = set()
        todo = [k for k in self.index if k not in self.library]
        seen = set(todo)
        while todo:
            cls = self.index[todo.pop()]
            if cls.language == "python":
                module = self._meta.get(_key(cls.fqn), {}).get("module", "")
                names = [self._runtime_name(self.py.resolve(b, module)) for b in cls.bases]
            else:
                names = ([cls.parent] if cls.parent else []) + list(cls.traits)
            for name in names:
                key = _key(name)
                if key in model_bases or key in seen:
                    continue
                seen.add(key)
                if key in self.index:
                    todo.append(key)
                elif cls.language == "php":
                    self.php_missing.add(name)
        self.py.missing -= set(self.py.modules)

    def _python_traits(self, extra: set[str]) -> None:
        """Mark Python mixins as traits and record each class's direct mixins in ``traits``."""
        python = {k: c for k, c in self.index.items() if c.language == "python"}
        self._py_model: dict[str, bool] = {}
        mixins = {k for k, c in python.items()
                  if c.name.endswith(("Mixin", "Trait")) or k in extra or _key(c.name) in extra}
        for key in python:
            if self._py_is_model(key, set()):
                mixins.update(self._py_trait_bases(key))
        todo = list(mixins)
        while todo:  # a mixin's own non-model bases are mixins too (trait uses trait)
            for base in self._py_trait_bases(todo.pop()):
                if base not in mixins:
                    mixins.add(base)
                    todo.append(base)
        self.py_mixins = mixins
        for key, cls in python.items():
            traits = tuple(b for b in cls.bases if _key(b) in mixins or self._py_vendor_mixin(key, b, mixins))
            kind = "trait" if key in mixins else cls.kind
            self.index[key] = _replace(cls, kind=kind, traits=traits)

    def _py_trait_bases(self, key: str) -> list[str]:
        cls = self.index.get(key)
        if cls is None:
            return []
        return [_key(b) for b in cls.bases if b not in PYTHON_NOT_TRAITS and not self._py_is_model(_key(b), set())
                and _key(b) not in self.model_bases and _key(b) in self.index]

    def _py_vendor_mixin(self, key: str, base: str, mixins: set[str]) -> bool:
        # A base outside the scanned code counts as a (vendor) mixin when its name says so.
        return _key(base) not in self.index and _key(base) not in self.model_bases and short(base).endswith(
            ("Mixin", "Trait")) and (
            key in mixins or self._py_is_model(key, set()))

    def _py_is_model(self, key: str, seen: set[str]) -> bool:
        if key in self._py_model:
            return self._py_model[key]
        cls = self.index.get(key)
        if cls is None or key in seen:
            return False
        seen.add(key)
        result = any(_key(b) in self.model_bases or self._py_is_model(_key(b), seen) for b in cls.bases)
        self._py_model[key] = result
        return result

    # -- models -------------------------------------------------------------------------------
    def chain(self, key: str) -> tuple[tuple[str, ...], str] | None:
        """``(parents, base)`` when the class is a model, else ``None``."""
        if key not in self._model_cache:
            self._model_cache[key] = self._walk_chain(key)
        return self._model_cache[key]

    def _walk_chain(self, key: str) -> tuple[tuple[str, ...], str] | None:
        cls = self.index[key]
        if cls.language == "python":
            return self._python_chain(cls)
        parents: list[str] = []
        seen = {key}
        current = cls.parent
        while current is not None:
            parents.append(current)
            if _key(current) in self.model_bases:
                return tuple(parents), current
            parent = self.index.get(_key(current))
            if parent is None or _key(current) in seen:
                return None
            parents[-1] = parent.fqn
            seen.add(_key(current))
            current = parent.parent
        return None

    def _python_chain(self, cls: ClassInfo) -> tuple[tuple[str, ...], str] | None:
        # A mixin that reaches a model base is a model too (an abstract Django model named *Mixin).
        self._model_cache[_key(cls.fqn)] = None  # a cycle of bases reaches nothing
        # A known base declared in the code or a library (`AbstractUser`) is followed to its root.
        for base in cls.bases:
            parent = self.index.get(_key(base))
            found = self.chain(_key(base)) if parent is not None else None
            if found:
                return (parent.fqn,) + found[0], found[1]  # type: ignore[union-attr]
            if _key(base) in self.model_bases:
                return (base,), base
        return None

    def ancestors(self, key: str) -> list[ClassInfo]:
        """In-tree ancestors (PHP: the parent chain; Python: every class reached through the bases,
        mixins included), nearest first, up to a model base (the framework's own traits are not
        the app's)."""
        out: list[ClassInfo] = []
        todo = [b for b in self.index[key].bases]
        seen = {key}
        python = self.index[key].language == "python"
        while todo:
            name = _key(todo.pop(0))
            parent = self.index.get(name)
            if parent is None or name in seen or (parent.kind == "trait" and not python) or (
                    name in self.model_bases and not (python and self.chain(name))):
                continue
            seen.add(name)
            out.append(parent)
            todo.extend(parent.bases if parent.language == "python" else [parent.parent] if parent.parent else [])
        return out

    # -- traits -------------------------------------------------------------------------------
    def closure(self, traits: Iterable[str]) -> tuple[str, ...]:
        """Every trait reached from ``traits`` through trait-uses-trait (``traits`` included)."""
        out: dict[str, str] = {}
        todo = list(traits)
        while todo:
            name = todo.pop()
            key = _key(name)
            if key in out:
                continue
            trait = self.index.get(key)
            out[key] = trait.fqn if trait is not None and trait.kind == "trait" else name
            if trait is not None and trait.kind == "trait":
                todo.extend(trait.traits)
        return tuple(out.values())

    def trait_sets(self, key: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """``(direct, via traits, inherited)`` for a class-like, each sorted, without repeats."""
        if key not in self._sets:
            self._sets[key] = self._trait_sets(key)
        return self._sets[key]

    def _trait_sets(self, key: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        cls = self.index[key]
        if not cls.traits:  # most classes: what they have, they inherit
            if not any(_key(b) in self.index for b in cls.bases):
                return (), (), ()
            found: dict[str, str] = {}  # the first name each trait is reached by
            for parent in self.ancestors(key):
                for t in self._own_closure(_key(parent.fqn)):
                    found.setdefault(_key(t), t)
            return (), (), _sorted(found.values())
        direct = self._own_traits(key)
        direct_keys = {_key(d) for d in direct}
        via = [t for t in self._own_closure(key) if _key(t) not in direct_keys]
        seen = direct_keys | {_key(t) for t in via}
        inherited: list[str] = []
        for parent in self.ancestors(key):
            for t in self._own_closure(_key(parent.fqn)):
                if _key(t) not in seen:
                    seen.add(_key(t))
                    inherited.append(t)
        return _sorted(direct), _sorted(via), _sorted(inherited)

    def _own_traits(self, key: str) -> tuple[str, ...]:
        traits = self.index[key].traits
        return self._display(traits) if traits else ()

    def _own_closure(self, key: str) -> tuple[str, ...]:
        """``closure`` of a class-like's own traits, once per class-like (ancestors are shared)."""
        if key not in self._closures:
            direct = self._own_traits(key)
            self._closures[key] = self.closure(direct) if direct else ()
        return self._closures[key]

    def _display(self, names: Iterable[str]) -> tuple[str, ...]:
        out: dict[str, str] = {}
        for name in names:
            found = self.index.get(_key(name))
            out.setdefault(_key(name), found.fqn if found is not None and found.kind == "trait" else name)
        return tuple(out.values())

    def all_traits(self, key: str) -> tuple[str, ...]:
        direct, via, inherited = self.trait_sets(key)
        return _sorted(direct + via + inherited)

    def traits(self) -> tuple[TraitInfo, ...]:
        users: dict[str, set[str]] = {}
        having: dict[str, set[str]] = {}
        models = {self.index[k].fqn for k in self.model_keys}
        model_keys = set(self.model_keys)
        for key, cls in self.index.items():
            if key in self.library:
                continue
            for t in cls.traits:
                users.setdefault(_key(t), set()).add(cls.fqn)
            if cls.kind != "trait" or key in model_keys:
                for t in self.all_traits(key):
                    having.setdefault(_key(t), set()).add(cls.fqn)
        self._users, self._having, self._models = users, having, models
        out = [self._trait_info(c) for k, c in self.index.items() if c.kind == "trait" and k not in self.library]
        return tuple(sorted(out, key=lambda t: t.fqn.lower()))

    def _trait_info(self, cls: ClassInfo) -> TraitInfo:
        key = _key(cls.fqn)
        classes = self._having.get(key, set())
        name = cls.name.lower()
        methods = cls.methods
        boot = next((m.name for m in methods if m.name.lower() == f"boot{name}" and m.static), None)
        init = next((m.name for m in methods if m.name.lower() == f"initialize{name}"), None)
        scopes = tuple(m.name[5:6].lower() + m.name[6:] for m in methods
                       if cls.language == "php" and m.name.lower().startswith("scope") and len(m.name) > 5)
        direct_uses = self._display(cls.traits)
        return TraitInfo(fqn=cls.fqn, language=cls.language, file=cls.file, line=cls.line, methods=methods,
                         properties=cls.properties, uses=_sorted(direct_uses),
                         uses_all=_sorted(t for t in self.closure(direct_uses)), boot=boot, initialize=init,
                         scopes=scopes, abstract_methods=tuple(m.name for m in methods if m.abstract),
                         users=_sorted(self._users.get(key, ())), classes=_sorted(classes),
                         models=_sorted(c for c in classes if c in self._models))

    def vendor_traits(self) -> tuple[VendorTrait, ...]:
        out = []
        for key, names in self._vendor_names().items():
            users = self._users.get(key, set())
            having = self._having.get(key, set())
            language = "python" if "." in names and "\\" not in names else "php"
            out.append(VendorTrait(fqn=names, language=language, users=_sorted(users),
                                   models=_sorted(c for c in having if c in self._models)))
        return tuple(sorted(out, key=lambda t: t.fqn.lower()))

    def _vendor_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for key, cls in self.index.items():
            if key in self.library:
                continue
            for t in cls.traits:
                found = self.index.get(_key(t))
                if found is None or found.kind != "trait" or _key(t) in self.library:
                    names.setdefault(_key(t), found.fqn if found is not None and found.kind == "trait" else t)
        for key in self._having:  # a library trait that only a library ancestor uses
            found = self.index.get(key)
            if key in self.library and found is not None and found.kind == "trait":
                names.setdefault(key, found.fqn)
        return names

    def models(self) -> tuple[ModelInfo, ...]:
        out = [self._model_info(k) for k in self.model_keys]
        return tuple(sorted(out, key=lambda m: m.fqn.lower()))

    def _model_info(self, key: str) -> ModelInfo:
        cls = self.index[key]
        parents, base = self.chain(key)  # type: ignore[misc]
        direct, via, inherited = self.trait_sets(key)
        overrides, implements = self._overrides(cls, direct + via + inherited)
        kind = self.kind_of.get(_key(base), "custom")
        meta = self._meta.get(key, {})
        if kind == "django":  # Django: only `class Meta: abstract = True` (not inherited)
            abstract = bool(meta.get("abstract"))
        elif kind == "sqlalchemy":  # `__abstract__ = True`, or a declarative base itself
            abstract = bool(meta.get("sqlalchemy_abstract")) or any(_key(b) in SQLALCHEMY_ROOTS for b in cls.bases)
        else:
            abstract = cls.abstract
        return ModelInfo(fqn=cls.fqn, language=cls.language, file=cls.file, line=cls.line, abstract=abstract,
                         kind=kind, proxy=kind == "django" and bool(meta.get("proxy")),
                         swappable=kind == "django" and bool(meta.get("swappable")),
                         parents=parents, base=base, traits_direct=direct, traits_via_traits=via,
                         traits_inherited=inherited, traits=_sorted(direct + via + inherited),
                         adaptations=cls.adaptations, methods=cls.methods, overrides=overrides,
                         implements=implements)

    def _overrides(self, cls: ClassInfo, traits: tuple[str, ...]) -> tuple[tuple[Override, ...], tuple[Override, ...]]:
        php = cls.language == "php"
        own = {(m.name.lower() if php else m.name): m for m in cls.methods}
        # `T::m as n` makes the trait's m reachable as n: a model method n replaces that copy.
        aliases = {(_key(a.trait or ""), a.method.lower() if php else a.method): a.alias.lower() if php else a.alias
                   for a in cls.adaptations if a.alias}
        overrides, implements = set(), set()
        for name in traits:
            methods = self._methods_of(name, php)
            if not methods:
                continue
            trait_key = _key(name)
            wanted = [(n, n) for n in own if n in methods]
            wanted += [(alias, m) for (t, m), alias in aliases.items() if t == trait_key and alias in own and m in methods]
            for mine_name, trait_name in wanted:
                mine, tm = own[mine_name], methods[trait_name]
                item = Override(method=mine.name, trait=self.index[trait_key].fqn, line=mine.line,
                                trait_line=tm.line, declared_in=cls.fqn)
                (implements if tm.abstract else overrides).add(item)
        order = lambda o: (o.method.lower(), o.trait.lower())  # noqa: E731
        return tuple(sorted(overrides, key=order)), tuple(sorted(implements, key=order))

    def _methods_of(self, name: str, php: bool) -> dict:
        key = _key(name)
        if key not in self._method_maps:
            trait = self.index.get(key)
            methods = trait.methods if trait is not None and trait.kind == "trait" else ()
            self._method_maps[key] = {(m.name.lower() if php else m.name): m for m in methods}
        return self._method_maps[key]

    def sorted_classes(self) -> tuple[ClassInfo, ...]:
        return tuple(sorted((c for k, c in self.index.items() if k not in self.library), key=lambda c: c.fqn.lower()))


def class_infos(f: dict[str, Any]) -> tuple[ClassInfo, ...]:
    """The class-likes of one file's facts (with ``file``) as :func:`build` reads them. A scan makes
    them ahead, as files are parsed, and passes them in the facts as ``class_infos``."""
    anonymous: dict[int, int] = {}
    return tuple([_class_info(raw, f, anonymous) for raw in f["classes"]])


def _class_info(raw: dict[str, Any], f: dict[str, Any], anonymous: dict[int, int]) -> ClassInfo:
    fqn = raw["fqn"]
    if fqn is None:
        count = anonymous.get(raw["line"], 0)
        anonymous[raw["line"]] = count + 1
        fqn = f"class@anonymous {f['file']}:{raw['line']}" + (f"#{count + 1}" if count else "")
    # The frozen dataclasses' __init__ sets each field through object.__setattr__; filling __dict__
    # sets the same fields (every one: a row holds all of them) at a third of the cost, as
    # codec.unpack does. A large code base holds tens of thousands of methods.
    info = _new(ClassInfo)
    info.__dict__.update(
        fqn=fqn, kind=raw["kind"], language=f["language"], file=f["file"], line=raw["line"],
        parent=raw["parent"], bases=tuple(raw["bases"]), interfaces=tuple(raw["interfaces"]),
        traits=tuple(dict.fromkeys(raw["traits"])),
        adaptations=tuple(Adaptation(a[0], a[1], a[2], tuple(a[3]), a[4], a[5]) for a in raw["adaptations"]),
        methods=_rows(MethodInfo, _METHOD_FIELDS, raw["methods"]),
        properties=_rows(PropertyInfo, _PROPERTY_FIELDS, raw["properties"]),
        abstract=raw["abstract"], final=raw["final"], duplicates=())
    return info


_new = object.__new__
_METHOD_FIELDS = tuple(f.name for f in fields(MethodInfo))
_PROPERTY_FIELDS = tuple(f.name for f in fields(PropertyInfo))


def _rows(cls: type, names: tuple[str, ...], rows: list[list]) -> tuple:
    """``tuple(cls(*row) for row in rows)`` for rows holding every field (each of the facts does)."""
    if not rows:
        return ()
    width = len(names)
    if any(len(row) != width for row in rows):
        return tuple(starmap(cls, rows))
    return tuple([(obj := _new(cls)).__dict__.update(zip(names, row)) or obj for row in rows])


def _replace(cls: ClassInfo, **changes: Any) -> ClassInfo:
    from dataclasses import replace

    return replace(cls, **changes)


def _sorted(names: Iterable[str]) -> tuple[str, ...]:
    if not names:  # most classes use no trait: skip building an empty set and sorting it
        return ()
    return tuple(sorted(set(names), key=str.lower))
