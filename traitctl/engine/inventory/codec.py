"""A compact JSON form of an :class:`~traitctl.engine.inventory.model.Inventory`, and back (pure).

The scan keeps the whole inventory of a tree in the store, so a warm scan of an unchanged tree
reads one document instead of rebuilding the inventory from every file's facts. The form follows
the dataclasses' type hints and nothing else:

* every dataclass type has one table, stored column by column (a column per public field);
* a tuple of dataclasses is ``[start, count]``, a run of rows of its type's table; a tuple the
  inventory holds twice (a trait's ``methods`` are its class's) is written once;
* strings (``str``, ``str | None``, ``tuple[str, ...]``) are numbers into one table of strings, so
  a name repeated in thousands of places is stored once;
* an empty tuple is ``0`` (no list to allocate when reading back: most classes have no traits);
* ints and bools are written as they are.

Reading it back builds only the declared dataclasses, from str/int/bool/None values: nothing in the
document is imported or executed. A document of another shape raises :class:`ValueError`.

Example usage::

    data = orjson.dumps(pack(inv))
    assert unpack(orjson.loads(data)) == inv
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

from traitctl.engine.inventory.model import Inventory

#: Changes whenever the packed form does (part of the scan's cache key).
CODEC_VERSION = 2

_RAW, _STR, _STRS, _OBJS = 0, 1, 2, 3
_new = object.__new__
_first, _second = itemgetter(0), itemgetter(1)


class _Spec:
    """How a dataclass is packed: its public fields' names, kinds and item dataclasses."""

    def __init__(self, cls: type) -> None:
        public = [f for f in fields(cls) if not f.name.startswith("_")]
        self.names = tuple(f.name for f in public)
        kinds = [_kind(_hint(cls, f.type)) for f in public]
        self.kinds = tuple(kind for kind, _ in kinds)
        self.items = tuple(item for _, item in kinds)
        # Private fields (Inventory's look-up index) start empty, as __init__ would make them.
        self.private = tuple((f.name, f.default_factory) for f in fields(cls) if f.name.startswith("_"))


_SPECS: dict[type, _Spec] = {}


def _spec(cls: type) -> _Spec:
    spec = _SPECS.get(cls)
    if spec is None:
        spec = _SPECS[cls] = _Spec(cls)
    return spec


def _hint(cls: type, annotation: Any) -> Any:
    """The type an annotation names. The model's annotations are strings (postponed evaluation) of a
    few plain forms, read here without ``typing.get_type_hints`` (which compiles each one: a warm
    scan would pay milliseconds for it)."""
    if not isinstance(annotation, str):
        return annotation
    plain = {"str": str, "int": int, "bool": bool, "str | None": str | None}
    if annotation in plain:
        return plain[annotation]
    if annotation.startswith("tuple[") and annotation.endswith(", ...]"):
        inner = annotation[6:-6]
        item = str if inner == "str" else vars(sys.modules[cls.__module__]).get(inner)
        if item is str or is_dataclass(item):
            return tuple[item, ...]  # type: ignore[valid-type]
    return typing.get_type_hints(cls)[_field_named(cls, annotation)]


def _field_named(cls: type, annotation: str) -> str:
    return next(f.name for f in fields(cls) if f.type == annotation)


def _kind(hint: Any) -> tuple[int, Any]:
    if hint is str or hint == (str | None):
        return _STR, None
    if hint in (int, bool):
        return _RAW, None
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[1:] == (Ellipsis,):
        item = typing.get_args(hint)[0]
        if item is str:
            return _STRS, None
        if is_dataclass(item):
            return _OBJS, item
    raise TypeError(f"no packed form for {hint!r}")


def _types(root: type) -> list[type]:
    """Every dataclass type reachable from ``root``, each after the types its fields hold."""
    out: list[type] = []

    def visit(cls: type) -> None:
        if cls not in out:
            for item in _spec(cls).items:
                if item is not None and item is not cls:
                    visit(item)
            out.append(cls)

    visit(root)
    return out


# -- writing ------------------------------------------------------------------------------------
def pack(inv: Inventory) -> list:
    """``inv`` as JSON-ready data (see the module's description): ``[strings, {type: columns}]``.

    :param inv: the inventory to write.
    """
    packer = _Packer()
    objects: dict[type, list] = {Inventory: [inv]}
    tables = {}
    # Holders before what they hold: every run of a type's rows is known before its table is written.
    for cls in reversed(_types(Inventory)):
        tables[cls.__name__] = packer.table(cls, objects.get(cls, []), objects)
    return [list(packer.strings), tables]


class _Packer:
    def __init__(self) -> None:
        self.strings: dict[str | None, int] = {}
        self.shared: dict[int, list[int]] = {}

    def table(self, cls: type, rows: list, objects: dict[type, list]) -> list:
        """The columns of ``cls``'s table; the objects its rows hold are queued in ``objects``."""
        spec = _spec(cls)
        if not rows:
            return []
        columns = []
        for name, kind, item in zip(spec.names, spec.kinds, spec.items):
            column = list(map(attrgetter(name), rows))
            if kind == _STR:
                column = self.numbers(column)
            elif kind == _STRS:
                self.register(chain.from_iterable(column))
                number = self.strings.__getitem__
                column = [list(map(number, names)) if names else 0 for names in column]
            elif kind == _OBJS:
                if item is cls:
                    raise TypeError(f"{cls.__name__} holds itself: no packed form")
                column = [self.run(value, objects.setdefault(item, [])) if value else 0 for value in column]
            columns.append(column)
        return columns

    def numbers(self, values: list) -> list[int]:
        self.register(values)
        return list(map(self.strings.__getitem__, values))

    def register(self, values: Iterable) -> None:
        """Number the strings of ``values`` not numbered yet, in order of first appearance."""
        strings = self.strings
        for value in dict.fromkeys(values):
            if value not in strings:
                strings[value] = len(strings)

    def run(self, value: tuple, arena: list) -> list[int]:
        """``[start, count]`` of ``value``'s items in their table (written once when shared)."""
        found = self.shared.get(id(value))
        if found is None:
            found = self.shared[id(value)] = [len(arena), len(value)]
            arena.extend(value)
        return found


# -- reading ------------------------------------------------------------------------------------
def unpack(data: Any) -> Inventory:
    """The inventory that :func:`pack` wrote.

    :param data: the decoded JSON document.
    :raises ValueError: when the document does not have the packed form (a miss for the cache).
    """
    try:
        strings, tables = data
        if type(strings) is not list or type(tables) is not dict:
            raise ValueError("expected [strings, tables]")
        if not set(map(type, strings)) <= {str, type(None)}:
            raise ValueError("the string table holds something else than strings")
        built: dict[type, list] = {}
        for cls in _types(Inventory):
            built[cls] = _table(cls, tables[cls.__name__], strings, built)
        if len(built[Inventory]) != 1:
            raise ValueError("expected one inventory")
        return built[Inventory][0]
    except (TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"not a packed inventory: {exc!r}") from None


def _table(cls: type, columns: Any, strings: list, built: dict[type, list]) -> list:
    """Every object of ``cls``'s table, built column by column (tight loops: an inventory of a
    large code base holds tens of thousands of methods)."""
    spec = _spec(cls)
    if type(columns) is not list or len(columns) not in (0, len(spec.names)):
        raise ValueError(f"{cls.__name__}: expected {len(spec.names)} columns")
    if not columns:
        return []
    rows = len(columns[0])
    if not all(type(column) is list and len(column) == rows for column in columns):
        raise ValueError(f"{cls.__name__}: columns of different lengths")
    string = strings.__getitem__
    values = [_column(kind, column, string, built.get(item)) for kind, item, column
              in zip(spec.kinds, spec.items, columns)]
    names = spec.names
    # Frozen dataclasses refuse setattr; filling __dict__ sets the same fields __init__ would, at a
    # fraction of the cost, inline (no call per object: an inventory holds tens of thousands).
    objects = [(obj := _new(cls)).__dict__.update(zip(names, row)) or obj for row in zip(*values)]
    for name, factory in spec.private:
        for obj in objects:
            obj.__dict__[name] = factory()
    return objects


def _column(kind: int, column: list, string: Any, arena: list | None) -> list:
    if kind == _STR:
        return list(map(string, column))
    if kind == _STRS:
        return [tuple(map(string, names)) if names else () for names in column]
    if kind == _OBJS:
        arena = arena or []
        out = [tuple(arena[run[0]:run[0] + run[1]]) if run else () for run in column]
        # A run reaching past its table would come back short: count what came back.
        runs = list(filter(None, column))
        if sum(map(len, out)) != sum(map(_second, runs)) or min(map(_first, runs), default=0) < 0:
            raise ValueError("a run of rows outside its table")
        return out
    if not set(map(type, column)) <= {int, bool}:
        raise ValueError("expected ints")
    return column
