"""The inventory's data model: what a static scan of PHP and Python sources found.

Everything is a frozen dataclass holding only str/int/bool/tuples, sorted deterministically, so an
:class:`Inventory` compares equal for equal code and serialises to the same JSON every time
(``--save``/``--check`` rely on that). Names are fully-qualified: PHP ``App\\Models\\User`` (no
leading backslash), Python ``shop.models.Order``.

Example usage::

    inv = scan([Path("app")])
    for trait in inv.traits:
        print(trait.fqn, trait.models)
    inv.model("Invoice").overrides
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

#: Version of the JSON shape produced by :meth:`Inventory.to_dict` (documented in docs/inventory.md).
#: 2 renamed the summary and audit counts that said "overrides" for code and configuration alike.
SCHEMA_VERSION = 2
#: Baselines ``--check`` reads: the compared parts (traits, models, pairs) are the same in 1 and 2.
BASELINE_SCHEMAS = (1, 2)


@dataclass(frozen=True)
class MethodInfo:
    """A method declared in a class-like.

    :param name: as declared (PHP method names are case-insensitive; compare with ``.lower()``).
    :param line: 1-based line of the declaration.
    :param visibility: ``public``, ``protected`` or ``private`` (Python: ``private`` for ``__x``,
        ``protected`` for ``_x``, else ``public``).
    :param static: declared ``static`` (Python: ``@staticmethod``/``@classmethod``).
    :param abstract: declared ``abstract`` (Python: ``@abstractmethod``); has no body.
    """

    name: str
    line: int
    visibility: str = "public"
    static: bool = False
    abstract: bool = False


@dataclass(frozen=True)
class PropertyInfo:
    """A property declared in a class-like (PHP ``$x`` without the dollar; Python class attribute)."""

    name: str
    line: int
    visibility: str = "public"
    static: bool = False


@dataclass(frozen=True)
class Adaptation:
    """One rule of a trait-use block ``use A, B { A::m insteadof B; B::m as protected n; }``.

    :param kind: ``insteadof`` or ``as``.
    :param trait: FQN of the trait named before ``::`` (``None`` for ``m as n`` without a trait).
    :param method: the method name.
    :param insteadof: FQNs of the excluded traits (``insteadof`` only).
    :param alias: the new name (``as`` only; ``None`` when only the visibility changes).
    :param visibility: the new visibility (``as`` only), else ``None``.
    """

    kind: str
    trait: str | None
    method: str
    insteadof: tuple[str, ...] = ()
    alias: str | None = None
    visibility: str | None = None


@dataclass(frozen=True)
class ClassInfo:
    """Any class-like found in the scanned code.

    :param fqn: fully-qualified name; anonymous classes get ``class@anonymous <file>:<line>``.
    :param kind: ``class``, ``interface``, ``trait``, ``enum`` or ``anonymous``.
    :param language: ``php`` or ``python``.
    :param file: path relative to the scan root's parent as given (posix separators).
    :param line: 1-based line of the declaration (of the name, after attributes).
    :param parent: FQN of the parent class (PHP ``extends``; Python: first base), else ``None``.
    :param bases: every base (PHP: the parent, or the parents of an interface; Python: all bases).
    :param interfaces: FQNs of implemented interfaces (PHP).
    :param traits: FQNs of the traits used directly by this class-like, in source order.
    :param adaptations: the ``insteadof``/``as`` rules of its trait-use blocks.
    :param methods: declared methods, in source order.
    :param properties: declared properties, in source order.
    :param abstract: ``abstract class`` (Python: has an abstract method or ``abstract = True`` Meta).
    :param final: ``final`` (PHP).
    :param duplicates: other ``file:line`` places declaring the same FQN (e.g. ``if``/``else``).
    """

    fqn: str
    kind: str
    language: str
    file: str
    line: int
    parent: str | None = None
    bases: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()
    adaptations: tuple[Adaptation, ...] = ()
    methods: tuple[MethodInfo, ...] = ()
    properties: tuple[PropertyInfo, ...] = ()
    abstract: bool = False
    final: bool = False
    duplicates: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The short name (last segment of the FQN)."""
        return short(self.fqn)


@dataclass(frozen=True)
class Override:
    """A model method that meets a method of one of its traits.

    :param method: the method name as the model declares it.
    :param trait: FQN of the trait whose method it meets.
    :param line: line of the model's method.
    :param trait_line: line of the trait's method.
    :param declared_in: FQN of the class declaring the method (the model or an in-tree ancestor).
    """

    method: str
    trait: str
    line: int
    trait_line: int
    declared_in: str


@dataclass(frozen=True)
class TraitInfo:
    """A trait (PHP) or mixin (Python) declared in the scanned code.

    :param uses: traits this trait uses directly.
    :param uses_all: transitive closure of ``uses`` (trait-uses-trait), sorted.
    :param boot: ``boot<Trait>`` static method when present (Laravel boots it per model).
    :param initialize: ``initialize<Trait>`` method when present (run per model instance).
    :param scopes: local query scopes it provides (``scopeForTenant`` -> ``forTenant``).
    :param abstract_methods: names of its abstract methods (each user must implement them).
    :param users: class-likes using it directly, sorted.
    :param classes: every class-like using it directly, via another trait or through an in-tree
        ancestor, sorted.
    :param models: the models among ``classes``, sorted.
    """

    fqn: str
    language: str
    file: str
    line: int
    methods: tuple[MethodInfo, ...] = ()
    properties: tuple[PropertyInfo, ...] = ()
    uses: tuple[str, ...] = ()
    uses_all: tuple[str, ...] = ()
    boot: str | None = None
    initialize: str | None = None
    scopes: tuple[str, ...] = ()
    abstract_methods: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return short(self.fqn)


@dataclass(frozen=True)
class ModelInfo:
    """A model: a class whose parent chain reaches a known model base.

    :param parents: the parent chain, nearest first, ending with the first class outside the
        scanned code (usually the framework base, e.g. ``Illuminate\\Database\\Eloquent\\Model``).
    :param base: the model base the chain reached.
    :param traits_direct: traits the class itself uses.
    :param traits_via_traits: traits reached only through its traits' own ``use``.
    :param traits_inherited: traits that come only from in-tree ancestors (and their traits).
    :param traits: all of the above, sorted (what ``class_uses_recursive()`` returns).
    :param overrides: methods of the model (or an in-tree ancestor below the trait's user) that
        replace a trait's concrete method: the custom implementations a migration must review.
    :param implements: methods that implement a trait's abstract method.
    :param kind: the model family: ``eloquent``, ``django``, ``sqlalchemy``, ``peewee``,
        ``pydantic`` or ``custom`` (an ``[inventory] model_bases`` entry).
    :param proxy: a Django proxy model (``Meta.proxy``).
    :param swappable: a Django swappable model (``Meta.swappable``, e.g. ``auth.User``).
    """

    fqn: str
    language: str
    file: str
    line: int
    abstract: bool = False
    parents: tuple[str, ...] = ()
    base: str = ""
    traits_direct: tuple[str, ...] = ()
    traits_via_traits: tuple[str, ...] = ()
    traits_inherited: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()
    adaptations: tuple[Adaptation, ...] = ()
    methods: tuple[MethodInfo, ...] = ()
    overrides: tuple[Override, ...] = ()
    implements: tuple[Override, ...] = ()
    kind: str = ""
    proxy: bool = False
    swappable: bool = False

    @property
    def name(self) -> str:
        return short(self.fqn)


@dataclass(frozen=True)
class VendorTrait:
    """A trait used in the scanned code but not declared there (e.g. ``SoftDeletes`` without vendor/).

    :param users: class-likes using it directly, sorted.
    :param models: models having it (directly, via traits or inherited), sorted.
    """

    fqn: str
    language: str
    users: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return short(self.fqn)


@dataclass(frozen=True)
class ScanWarning:
    """Something the scan could not read fully (a syntax error, an unreadable file)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Inventory:
    """The result of a scan: every trait, model and class-like, sorted by FQN.

    :param roots: the scanned roots as given.
    :param files: number of source files read (PHP and Python, Blade templates included).
    :param traits: traits/mixins declared in the code.
    :param models: models found.
    :param classes: every class-like (traits and models included).
    :param vendor_traits: traits used but not declared in the code.
    :param warnings: files that could not be read or parsed fully.
    """

    roots: tuple[str, ...] = ()
    files: int = 0
    traits: tuple[TraitInfo, ...] = ()
    models: tuple[ModelInfo, ...] = ()
    classes: tuple[ClassInfo, ...] = ()
    vendor_traits: tuple[VendorTrait, ...] = ()
    warnings: tuple[ScanWarning, ...] = ()
    _index: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def trait(self, name: str) -> TraitInfo | VendorTrait | None:
        """The trait with this FQN or (unique) short name, case-insensitively; ``None`` if unknown."""
        return _find(self.traits + self.vendor_traits, name)  # type: ignore[arg-type]

    def model(self, name: str) -> ModelInfo | None:
        """The model with this FQN or (unique) short name, case-insensitively; ``None`` if unknown."""
        return _find(self.models, name)  # type: ignore[arg-type]

    def class_(self, name: str) -> ClassInfo | None:
        """The class-like with this FQN, case-insensitively."""
        return _find(self.classes, name, short_ok=False)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``schema`` = :data:`SCHEMA_VERSION`), deterministic."""
        data: dict[str, Any] = {"schema": SCHEMA_VERSION, "roots": list(self.roots), "files": self.files}
        for name in ("traits", "models", "vendor_traits", "classes", "warnings"):
            data[name] = [plain(item) for item in getattr(self, name)]
        return data


def short(fqn: str) -> str:
    """Last segment of a PHP (``\\``) or Python (``.``) name."""
    return fqn.rsplit("\\", 1)[-1].rsplit(".", 1)[-1]


def _find(items: tuple, name: str, short_ok: bool = True) -> Any:
    wanted = name.lstrip("\\").lower()
    exact = [item for item in items if item.fqn.lower() == wanted]
    if exact:
        return exact[0]
    if not short_ok:
        return None
    by_short = [item for item in items if short(item.fqn).lower() == wanted]
    return by_short[0] if len(by_short) == 1 else None


_FIELDS: dict[type, tuple[str, ...]] = {}
_SCALARS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become dicts (private fields left out), tuples
    become lists (as a saved baseline read back has them). Much faster than ``asdict``, which
    deep-copies every leaf: it matters on inventories of thousands of classes."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    names = _FIELDS.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in fields(value) if not f.name.startswith("_"))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if kind is tuple or kind is list:
        return [plain(v) for v in value]
    if kind is dict:
        return {k: plain(v) for k, v in value.items()}
    return value
