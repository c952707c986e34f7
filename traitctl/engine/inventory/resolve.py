"""From per-file facts to an :class:`~traitctl.engine.inventory.model.Inventory` (pure).

Rules (issue 3):

* one class-like per FQN, compared case-insensitively; the first declaration in path order wins,
  the others are listed in ``duplicates`` (``if``/``else`` declarations, stubs);
* a model is a class whose parent chain, followed through the scanned code, reaches a model base;
* a model's traits are what ``class_uses_recursive()`` returns: its own, their traits (trait uses
  trait) and those of its in-tree ancestors;
* Python: a mixin (trait) is a non-model base of a model or of another mixin, a class named
  ``*Mixin``/``*Trait``, or one listed in ``[inventory] traits``;
* a model method meeting a trait's concrete method is an override; meeting an abstract one, an
  implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import starmap
from typing import Any

from traitctl.engine.inventory.model import (Adaptation, ClassInfo, Inventory, MethodInfo, ModelInfo,
                                             Override, PropertyInfo, ScanWarning, TraitInfo, VendorTrait,
                                             short)

PHP_MODEL_BASES = ("Illuminate\\Database\\Eloquent\\Model", "Illuminate\\Foundation\\Auth\\User",
                   "Illuminate\\Database\\Eloquent\\Relations\\Pivot",
                   "Illuminate\\Database\\Eloquent\\Relations\\MorphPivot")
PYTHON_MODEL_BASES = ("django.db.models.Model", "django.db.models.base.Model", "peewee.Model",
                      # Django's abstract models outside the scanned code (subclasses of Model too).
                      "django.contrib.auth.models.AbstractUser", "django.contrib.auth.models.AbstractBaseUser",
                      "django.contrib.auth.base_user.AbstractBaseUser", "django.contrib.auth.models.PermissionsMixin",
                      "sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
                      "pydantic.BaseModel", "pydantic.main.BaseModel")
#: Python bases that are never mixins.
#: A direct subclass of these is a SQLAlchemy declarative base: a model base, flagged abstract.
SQLALCHEMY_ROOTS = frozenset({"sqlalchemy.orm.declarativebase", "sqlalchemy.orm.declarativebasenometa"})
PYTHON_NOT_TRAITS = frozenset({"object", "Generic", "typing.Generic", "ABC", "abc.ABC", "Protocol",
                               "typing.Protocol", "typing_extensions.Protocol"})


def build(files: Sequence[dict[str, Any]], *, roots: tuple[str, ...] = (), model_bases: Iterable[str] = (),
          extra_traits: Iterable[str] = ()) -> Inventory:
    """Assemble the inventory.

    :param files: per-file facts (:func:`traitctl.engine.inventory.facts.parse_file` plus ``file``).
    :param roots: the scanned roots, recorded as given.
    :param model_bases: extra model bases (FQNs).
    :param extra_traits: Python classes (FQN or short name) to treat as mixins.
    """
    b = _Builder(files, tuple(model_bases), tuple(extra_traits))
    return Inventory(roots=roots, files=len(files), traits=b.traits(), models=b.models(),
                     classes=b.sorted_classes(), vendor_traits=b.vendor_traits(), warnings=b.warnings)


@lru_cache(maxsize=1 << 16)
def _key(name: str) -> str:
    # Memoised: build() asks for the same few thousand names over a hundred thousand times.
    return name.lstrip("\\").lower()


class _Builder:
    def __init__(self, files: Sequence[dict[str, Any]], model_bases: tuple[str, ...],
                 extra_traits: tuple[str, ...]) -> None:
        self.index: dict[str, ClassInfo] = {}
        self.warnings = tuple(ScanWarning(f["file"], line, msg) for f in files for line, msg in f["warnings"])
        bases = PHP_MODEL_BASES + PYTHON_MODEL_BASES + model_bases
        bases += tuple(name for f in files for name in f.get("declarative", ()))
        self.model_bases = {_key(b) for b in bases}
        self._collect(files)
        self._python_traits({_key(t) for t in extra_traits})
        self._model_cache: dict[str, tuple[tuple[str, ...], str] | None] = {}
        self._sets: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
        self._method_maps: dict[str, dict[str, list]] = {}
        self._closures: dict[str, tuple[str, ...]] = {}
        self.model_keys = [k for k, c in self.index.items() if c.kind in ("class", "anonymous") and self.chain(k)]

    # -- collecting ---------------------------------------------------------------------------
    def _collect(self, files: Sequence[dict[str, Any]]) -> None:
        duplicates: dict[str, list[str]] = {}
        for f in files:
            anonymous: dict[int, int] = {}
            for raw in f["classes"]:
                info = _class_info(raw, f, anonymous)
                key = _key(info.fqn)
                if key in self.index:
                    duplicates.setdefault(key, []).append(f"{info.file}:{info.line}")
                else:
                    self.index[key] = info
        for key, places in duplicates.items():
            self.index[key] = _replace(self.index[key], duplicates=tuple(places))

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
        if cls.kind == "trait":
            return None
        for base in cls.bases:
            if _key(base) in self.model_bases:
                return (base,), base
            parent = self.index.get(_key(base))
            if parent is not None and parent.kind != "trait":
                found = self.chain(_key(base))
                if found:
                    return (parent.fqn,) + found[0], found[1]
        return None

    def ancestors(self, key: str) -> list[ClassInfo]:
        """In-tree ancestors (classes, not mixins), nearest first."""
        out: list[ClassInfo] = []
        todo = [b for b in self.index[key].bases]
        seen = {key}
        while todo:
            parent = self.index.get(_key(todo.pop(0)))
            if parent is None or _key(parent.fqn) in seen or parent.kind == "trait":
                continue
            seen.add(_key(parent.fqn))
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
        for key, cls in self.index.items():
            for t in cls.traits:
                users.setdefault(_key(t), set()).add(cls.fqn)
            if cls.kind != "trait":
                for t in self.all_traits(key):
                    having.setdefault(_key(t), set()).add(cls.fqn)
        self._users, self._having, self._models = users, having, models
        out = [self._trait_info(c) for k, c in self.index.items() if c.kind == "trait"]
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
        for cls in self.index.values():
            for t in cls.traits:
                found = self.index.get(_key(t))
                if found is None or found.kind != "trait":
                    names.setdefault(_key(t), t)
        return names

    def models(self) -> tuple[ModelInfo, ...]:
        out = [self._model_info(k) for k in self.model_keys]
        return tuple(sorted(out, key=lambda m: m.fqn.lower()))

    def _model_info(self, key: str) -> ModelInfo:
        cls = self.index[key]
        parents, base = self.chain(key)  # type: ignore[misc]
        direct, via, inherited = self.trait_sets(key)
        overrides, implements = self._overrides(cls, direct + via + inherited)
        abstract = cls.abstract or any(_key(b) in SQLALCHEMY_ROOTS for b in cls.bases)
        return ModelInfo(fqn=cls.fqn, language=cls.language, file=cls.file, line=cls.line, abstract=abstract,
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
        return tuple(sorted(self.index.values(), key=lambda c: c.fqn.lower()))


def _class_info(raw: dict[str, Any], f: dict[str, Any], anonymous: dict[int, int]) -> ClassInfo:
    fqn = raw["fqn"]
    if fqn is None:
        count = anonymous.get(raw["line"], 0)
        anonymous[raw["line"]] = count + 1
        fqn = f"class@anonymous {f['file']}:{raw['line']}" + (f"#{count + 1}" if count else "")
    return ClassInfo(fqn=fqn, kind=raw["kind"], language=f["language"], file=f["file"], line=raw["line"],
                     parent=raw["parent"], bases=tuple(raw["bases"]), interfaces=tuple(raw["interfaces"]),
                     traits=tuple(dict.fromkeys(raw["traits"])),
                     adaptations=tuple(Adaptation(a[0], a[1], a[2], tuple(a[3]), a[4], a[5]) for a in raw["adaptations"]),
                     methods=tuple(starmap(MethodInfo, raw["methods"])),
                     properties=tuple(starmap(PropertyInfo, raw["properties"])),
                     abstract=raw["abstract"], final=raw["final"])


def _replace(cls: ClassInfo, **changes: Any) -> ClassInfo:
    from dataclasses import replace

    return replace(cls, **changes)


def _sorted(names: Iterable[str]) -> tuple[str, ...]:
    if not names:  # most classes use no trait: skip building an empty set and sorting it
        return ()
    return tuple(sorted(set(names), key=str.lower))
