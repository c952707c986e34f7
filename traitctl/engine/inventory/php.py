"""PHP facts with tree-sitter-php: the class-likes of one file, with names resolved as PHP does.

Nothing is executed or included. Strings, heredocs and comments are tokens of the grammar, so a
``class X {}`` inside a string or a commented-out ``use`` never counts.

Name resolution (per namespace; imports reset at each ``namespace``):

* ``\\A\\B`` is fully qualified; ``namespace\\X`` is relative to the current namespace;
* ``A\\B`` resolves its first segment through the class imports (``use A\\B;``, ``use A\\B as C;``,
  grouped ``use A\\{B, C as D};``), else falls to the current namespace; so does an unqualified name;
* ``use function``/``use const`` imports never resolve class names;
* aliases and class names compare case-insensitively.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from typing import Any

CLASS_LIKES = {"class_declaration": "class", "interface_declaration": "interface",
               "trait_declaration": "trait", "enum_declaration": "enum", "anonymous_class": "anonymous"}
NAME_NODES = ("name", "qualified_name", "relative_name")
BODY_NODES = ("declaration_list", "enum_declaration_list")


@lru_cache(maxsize=2)
def _parser(pure: bool = False) -> tuple[Any, Any]:
    """The parser of tree-sitter-php's ``php`` grammar (PHP inside HTML), or with ``pure`` of its
    ``php_only`` one: the same trees for a file that is all PHP, 15% faster (no HTML to look for
    between tokens); and the ``tree_sitter`` module."""
    import tree_sitter
    import tree_sitter_php

    language = tree_sitter.Language(tree_sitter_php.language_php_only() if pure else tree_sitter_php.language_php())
    return tree_sitter.Parser(language), tree_sitter


@lru_cache(maxsize=2)
def _class_query(pure: bool) -> Any:
    """The query of every class-like, made when a file first needs it (few do: compiling it costs
    about what parsing fifty files does, and the start of a scan waits for it)."""
    parser, ts = _parser(pure)
    return ts.Query(parser.language, "[" + " ".join(f"({t})" for t in CLASS_LIKES) + "] @c")


def parse_php(source: bytes) -> dict[str, Any]:
    """The facts of one PHP file: ``{"classes": [...], "warnings": [[line, message], ...]}``.

    Each class is a dict with ``fqn`` (``None`` for anonymous classes), ``kind``, ``line``,
    ``parent``, ``bases``, ``interfaces``, ``traits``, ``adaptations``, ``methods``
    (``[name, line, visibility, static, abstract]``), ``properties`` (``[name, line, visibility,
    static]``), ``abstract`` and ``final``; every name is fully qualified.

    :param source: the file's bytes.
    """
    code = _CUT.sub(_cut, source)
    # Inline HTML (after a `?>`) can hold quotes and `//` a PHP comment would not: such a file is
    # parsed whole, and its keywords are counted in the raw text.
    html = _inline_html(source, code)
    if html:
        code = source
    # All PHP: one `<?php` tag first, no `?>` but in strings, heredocs and block comments.
    pure = source.startswith(b"<?php") and not html
    parser, ts = _parser(pure)
    low = code.lower()
    # `keyword in low` (a fast substring search) first: most files hold no `trait`, `interface` or `enum`.
    declarations = [m.start() for keyword, pattern in _DECLARATION if keyword in low for m in pattern.finditer(low)]
    anonymous = [m.start() for m in _ANONYMOUS.finditer(low)]
    text = _skeleton(source, code, low, sorted(declarations + anonymous))
    skeleton, uses = text, None
    if text is not source:
        text, uses = _blank_uses(text)
    tree = parser.parse(text)
    if tree.root_node.has_error and text is not source:
        # the cut went wrong somewhere: the whole file, as written
        text, tree, uses = source, parser.parse(source), None
    root = tree.root_node
    scopes = _scopes(root)
    if uses is not None:
        if len(scopes) > 1 and scopes[1].start == uses[0]:
            scopes[1].imports[:0] = uses[1]
        else:  # not the namespace the imports were read after (never seen): parse them after all
            text = skeleton
            root = parser.parse(text).root_node
            scopes = _scopes(root)
    nodes = None if anonymous else _top_level(root, _declared(low, declarations))
    if nodes is None:
        nodes = sorted(ts.QueryCursor(_class_query(pure)).captures(root).get("c", []), key=lambda n: n.start_byte)
    parsed = None if root.has_error else text  # the bytes the tree was made of, when it holds no error
    classes = [_class(node, _scope_at(scopes, node.start_byte), parsed) for node in nodes]
    warnings = [_syntax_error(root)] if root.has_error else []
    return {"classes": classes, "warnings": warnings}


def _inline_html(source: bytes, code: bytes) -> bool:
    """Whether PHP code may end in ``source`` (``code``: it cut as :data:`_CUT` cuts it). A ``?>``
    ends it in code and in a one-line comment (``// … ?>``), not in a string, a heredoc or a block
    comment; up to the first that ends it, the file is PHP, so the cut read it as PHP does. Files
    that start with ``<?php`` and hold ``?>`` only in strings (a template compiler's, a test's) are
    all PHP. Any ``//`` or ``#`` before a ``?>`` on its line counts as a comment, and a ``'?>'``
    left in ``code`` (a string of name-like bytes) as code: such a file is parsed whole for nothing."""
    at = source.find(b"?>")
    if at < 0:
        return False
    if not source.startswith(b"<?php") or b"?>" in code:
        return True
    while at >= 0:
        line = source[source.rfind(b"\n", 0, at) + 1:at]
        if b"//" in line or b"#" in line:
            return True
        at = source.find(b"?>", at + 2)
    return False


# Statement containers that may hold declarations outside any function body.
CONTAINERS = frozenset({"namespace_definition", "compound_statement", "if_statement", "else_clause",
                        "else_if_clause", "colon_block", "declare_statement"})
DECLARATIONS = frozenset(CLASS_LIKES) - {"anonymous_class"}
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_$>:\\") | frozenset(range(0x80, 0x100))
_ANONYMOUS = re.compile(rb"new\s+(?:#\[|class\b)")


# -- the skeleton: function bodies left out before parsing ---------------------------------------
#: Strings, comments and heredocs/nowdocs (PHP 7.3 closing rules), whole: nothing in them is code.
#: A block comment is matched unrolled (runs of non-`*` at a time, not one byte per step: 15% faster).
_ATOMS = re.compile(rb"""'(?:[^'\\]++|\\.)*+'|"(?:[^"\\]++|\\.)*+"|`(?:[^`\\]++|\\.)*+`"""
                    rb"""|/(?:\*[^*]*+\*++(?:[^/*][^*]*+\*++)*+/|/[^\r\n]*+)|\#(?!\[)[^\r\n]*+"""  # one branch per first byte: 2x faster
                    rb"""|<<<[ \t]*+(?P<q>["']?)(?P<id>[A-Za-z_\x80-\xff][\w\x80-\xff]*+)(?P=q)\r?\n.*?\r?\n[ \t]*+(?P=id)\b""",
                    re.S)
#: A named function or method up to its body's opening brace (or the `;` of an abstract one). A
#: space or `&` follows the keyword: `function_exists(…)` and `functionName(…)` are calls.
_FUNCTION = re.compile(rb"function(?=[\s&])\s*+&?\s*+([a-z_\x80-\xff][\w\x80-\xff]*+)(\s*+\([^{;]*+)[{;]")
#: `class X` (trait, interface, enum) in the lower-cased code: one pattern per keyword, each starting
#: with its literal, so `re` skips to the candidates (an alternation, or a look-behind, makes it try
#: every position: 15x slower on a framework's code). The byte before is checked in Python.
_DECLARATION = tuple((k, re.compile(k + rb"\s++[a-z_\x80-\xff]")) for k in (b"class", b"trait", b"interface", b"enum"))


#: :data:`_ATOMS` with what runs before each (code, and the single-quoted strings of name-like
#: bytes: ``'key'``, ``'id'``, ``'App.name'``): a match is that run, kept as it is, and the atom
#: after it, cut (:func:`_cut`). Such a string holds no brace, quote, space or parenthesis, so the
#: scans of the code after this (declarations, function heads, braces) read it as they read
#: ``''``; leaving it saves two thirds of the per-atom calls (most atoms are such strings).
_CUT = re.compile(rb"""(?:[^'"`/#<]++|<(?!<<)|/(?![*/])|\#\[|'[\w.:\-@$%,|!?*+=\[\]<>]*+')*+"""
                  rb"(?:(" + _ATOMS.pattern + rb")|\Z|.)", re.S)


def _cut(match: re.Match) -> bytes:
    """The code before an atom as it is, and the atom as :func:`_stub` cuts it."""
    start = match.start(1)
    if start < 0:
        return match[0]  # the end, or a byte no atom starts at (an unclosed quote): code
    text = match[1]
    head = match.string[match.start():start]
    if 10 in text:  # a newline
        return head + (b" " if text[0] in _COMMENT_STARTS else b"''") + b"\n" * text.count(b"\n")
    return head + (b" " if text[0] in _COMMENT_STARTS else b"''")


def _stub(match: re.Match) -> bytes:
    """A string or heredoc becomes ``''``, a comment a space, each followed by its newlines: the
    facts never read one (names are identifiers), and without them nothing but code is left."""
    text = match[0]
    if 10 in text:  # a newline
        return (b" " if text[0] in _COMMENT_STARTS else b"''") + b"\n" * text.count(b"\n")
    return b" " if text[0] in _COMMENT_STARTS else b"''"


_COMMENT_STARTS = b"/#"


def _skeleton(source: bytes, code: bytes, low: bytes, keep: list[int]) -> bytes:
    """``code`` (``source`` with every string and heredoc cut to ``''`` and every comment to a
    space, newlines kept) with every function and method body emptied and every parameter list and
    return type but a constructor's cut to ``()`` (newlines kept, so lines stay right): tree-sitter
    then parses about a third of the bytes, and nothing the inventory reads (declarations, method
    names and modifiers, promoted constructor parameters, trait uses, properties) is in what was
    cut. A body that holds a class-like or an anonymous class is kept. ``low`` is ``code``
    lower-cased, ``keep`` the sorted offsets in it of every possible declaration or anonymous
    class. A file with ``?>`` in its code (inline HTML after it) is kept whole."""
    if b"?>" in code:
        return source
    parts: list[bytes] = []
    pos = 0
    find, count = code.find, code.count
    last = len(keep)
    for match in _FUNCTION.finditer(low):
        start = match.end() - 1
        if start < pos:
            continue  # inside a body already emptied
        at = match.start()
        if at and low[at - 1] in _NAME_BYTES:
            continue  # `$function`/`->function(`
        if match[1] != b"__construct":
            name_end = match.start(2)
            parts += (code[pos:name_end], b"()", b"\n" * count(b"\n", name_end, start))
            pos = start
        if code[start] != 0x7B:
            continue  # abstract (`;`)
        depth, at = 1, start + 1
        while depth:  # the matching `}`: strings and comments hold no braces in `code`
            close = find(b"}", at)
            if close < 0:
                return code
            depth += count(b"{", at, close) - 1
            at = close + 1
        if last:
            i = bisect_left(keep, start)
            if i < last and keep[i] < at:
                body = _anonymous_only(code, low, start, at, keep, i)
                if body is None:
                    continue  # kept whole: the functions in it are emptied one by one
                parts += (code[pos:start], body)
                pos = at
                continue
        parts += (code[pos:start + 1], b"\n" * count(b"\n", start, at))
        pos = at - 1
    if not parts:
        return code
    parts.append(code[pos:])
    return b"".join(parts)


_NEW_CLASS = re.compile(rb"new\s++class\b")
_CLASS_HEAD = re.compile(rb"[^;(){}]*+")  # `extends A implements B, C` up to the class body


def _anonymous_only(code: bytes, low: bytes, start: int, end: int, keep: list[int], first: int) -> bytes | None:
    """The body ``code[start:end]`` (braces included) cut to its anonymous classes: each ``new
    class(…) … {…}`` as a statement of its own, its methods emptied as :func:`_skeleton` empties
    them, and the rest of the body cut to its newlines (a test's body around the class it makes is
    most of the tree-sitter work of such a file). ``keep[first:]`` are the offsets of possible
    declarations from the body's on. ``None`` (the body is kept whole) when the body holds a
    declaration, an anonymous class with attributes, or constructor arguments with braces."""
    spans: list[tuple[int, int]] = []
    classes: set[int] = set()
    j = first
    while j < len(keep) and keep[j] < end:
        at = keep[j]
        j += 1
        if spans and at < spans[-1][1]:
            continue  # inside the last class: its own skeleton deals with it
        head = _NEW_CLASS.match(low, at)
        if head is None:
            if at in classes:
                continue  # the `class` of `new class extends …`, found as a declaration too
            return None
        classes.add(head.end() - 5)
        span = _anonymous_span(code, head.end(), end)
        if span is None:
            return None
        spans.append((at, span))
    out = [b"{"]
    pos = start + 1
    for at, stop in spans:
        inner = [k - at for k in keep[first:j] if at <= k < stop]
        out += (b"\n" * code.count(b"\n", pos, at), _skeleton(code[at:stop], code[at:stop], low[at:stop], inner), b";")
        pos = stop
    out += (b"\n" * code.count(b"\n", pos, end - 1), b"}")
    return b"".join(out)


def _anonymous_span(code: bytes, pos: int, end: int) -> int | None:
    """Where the anonymous class whose ``class`` keyword ends at ``pos`` ends (after its body's
    ``}``), if before ``end`` and its constructor arguments hold no brace; else ``None``."""
    while code[pos:pos + 1].isspace():
        pos += 1
    if code[pos:pos + 1] == b"(":
        at = _balanced(code, pos + 1, end, b"(", b")")
        if at is None or code.find(b"{", pos, at) >= 0 or code.find(b"}", pos, at) >= 0:
            return None
        pos = at
    brace = _CLASS_HEAD.match(code, pos).end()
    if brace >= end or code[brace] != 0x7B:
        return None
    return _balanced(code, brace + 1, end, b"{", b"}")


def _balanced(code: bytes, at: int, end: int, opening: bytes, closing: bytes) -> int | None:
    """Where the ``closing`` that balances an ``opening`` just before ``at`` ends, if before ``end``."""
    depth = 1
    while depth:
        close = code.find(closing, at, end)
        if close < 0:
            return None
        depth += code.count(opening, at, close) - 1
        at = close + 1
    return at


#: The imports block of a PSR-4 file: `<?php`, an optional `declare(strict_types=1);`, `namespace
#: X;`, then only plain `use A\B;` / `use A\B as C;` statements (what almost every class file starts with).
_USE_BLOCK = re.compile(rb"<\?php\s*+(?:declare\s*+\(\s*+strict_types\s*+=\s*+1\s*+\)\s*+;\s*+)?"
                        rb"(namespace\s++[A-Za-z_\x80-\xff][\w\x80-\xff]*+(?:\\[A-Za-z_\x80-\xff][\w\x80-\xff]*+)*+\s*+;\s*+)"
                        rb"((?:use\s++\\?+[A-Za-z_\x80-\xff][\w\x80-\xff]*+(?:\\[A-Za-z_\x80-\xff][\w\x80-\xff]*+)*+"
                        rb"(?:\s++as\s++[A-Za-z_\x80-\xff][\w\x80-\xff]*+)?\s*+;\s*+)+)")
_USE = re.compile(rb"use\s++\\?+([\w\x80-\xff\\]++)(?:\s++as\s++([\w\x80-\xff]++))?\s*+;")
#: Words tree-sitter-php may read as keywords: an import naming one is left to the parser.
_KEYWORDS = frozenset(
    b"abstract and array as break callable case catch class clone const continue declare default do echo else "
    b"elseif empty enddeclare endfor endforeach endif endswitch endwhile enum eval exit extends final finally fn "
    b"for foreach function global goto if implements include include_once instanceof insteadof interface isset "
    b"list match namespace new or print private protected public readonly require require_once return static "
    b"switch throw trait try unset use var while xor yield parent self null true false int float bool string "
    b"iterable object mixed void never from die".split())


def _blank_uses(text: bytes) -> tuple[bytes, tuple[int, list[tuple[int, str, str]]] | None]:
    """``text`` with the plain ``use`` statements right after its ``namespace X;`` cut to their
    newlines (so lines stay right; what follows moves up, and tree-sitter skips no run of blanks
    where they were: 8% less of its work on laravel/framework than blanking them to spaces), and
    ``(offset of namespace, [(offset, lower alias, target), ...])``: the class imports they make,
    as :func:`_imports` reads them from the tree, each at the offset of the ``namespace`` (before
    every declaration of the file, as the statements were). Tree-sitter then has ~13% fewer bytes to
    parse. Statements that cannot be a syntax error are all that is cut: a name that is a keyword
    leaves the block to the parser. ``None`` when the file does not start so."""
    head = _USE_BLOCK.match(text)
    if head is None:
        return text, None
    start = head.start(2)
    imports = []
    for use in _USE.finditer(head[2]):
        target = use[1]
        alias = use[2]
        names = target.lower().lstrip(b"\\").split(b"\\")
        if alias is not None:
            names.append(alias.lower())
        if not _KEYWORDS.isdisjoint(names):
            return text, None
        target_text = target.decode("utf-8", "replace").lstrip("\\")
        alias_text = alias.decode("utf-8", "replace") if alias is not None else target_text.rsplit("\\", 1)[-1]
        imports.append((head.start(1), alias_text.lower(), target_text))
    end = head.end(2)
    return text[:start] + b"\n" * text.count(b"\n", start, end) + text[end:], (head.start(1), imports)


def _top_level(root: Any, declared: int) -> list[Any] | None:
    """The class-likes found by walking statement containers only, or ``None`` when the file may
    hold more (declarations inside functions, error recovery) than the ``declared`` keywords say:
    then the full tree query runs. Skipping that query for the common file saves ~20% of a cold scan."""
    found: list[Any] = []
    _walk_containers(root, found)
    return found if len(found) >= declared else None


def _declared(low: bytes, starts: list[int]) -> int:
    """How many of the keyword matches at ``starts`` are keywords (not `$class x`, `->trait y`)."""
    return sum(1 for at in starts if not at or low[at - 1] not in _NAME_BYTES)


def _walk_containers(node: Any, found: list[Any]) -> None:
    for child in node.children:
        kind = child.type  # read once: each read makes a new string
        if kind in DECLARATIONS:
            found.append(child)
        elif kind in CONTAINERS:
            _walk_containers(child, found)


# -- namespaces and imports ---------------------------------------------------------------------
class _Scope:
    """One namespace region of a file and its class imports, in source order."""

    def __init__(self, namespace: str, start: int, end: int) -> None:
        self.namespace = namespace
        self.start = start
        self.end = end
        self.imports: list[tuple[int, str, str]] = []  # (byte, lower alias, target)

    def resolver(self, at: int) -> "_Resolver":
        return _Resolver(self.namespace, {alias: target for pos, alias, target in self.imports if pos < at})


class _Resolver:
    def __init__(self, namespace: str, imports: dict[str, str]) -> None:
        self.namespace = namespace
        self.imports = imports

    def __call__(self, node: Any) -> str:
        return self.resolve(_text(node), node.type == "relative_name")

    def resolve(self, name: str, relative: bool = False) -> str:
        if name.startswith("\\"):
            return name[1:]
        if relative or name.lower().startswith("namespace\\"):
            return self.join(name.split("\\", 1)[1])
        first, _, rest = name.partition("\\")
        target = self.imports.get(first.lower())
        if target is not None:
            return f"{target}\\{rest}" if rest else target
        return self.join(name)

    def join(self, name: str) -> str:
        return f"{self.namespace}\\{name}" if self.namespace else name


def _scopes(root: Any) -> list[_Scope]:
    scopes = [_Scope("", 0, root.end_byte)]
    for child in root.children:
        kind = child.type
        if kind == "namespace_definition":
            name = child.child_by_field_name("name")
            body = child.child_by_field_name("body")
            scope = _Scope(_text(name) if name else "", child.start_byte, root.end_byte)
            scopes[-1].end = min(scopes[-1].end, child.start_byte)
            scopes.append(scope)
            if body is not None:
                scope.end = child.end_byte
                _imports(body.children, scope)
                scopes.append(_Scope("", child.end_byte, root.end_byte))
        elif kind == "namespace_use_declaration":
            _imports([child], scopes[-1])
    return scopes


def _scope_at(scopes: list[_Scope], at: int) -> "_Resolver":
    for scope in reversed(scopes):
        if scope.start <= at < scope.end:
            return scope.resolver(at)
    return scopes[-1].resolver(at)


#: `use A\B;` / `use A\B as C;`: one class import, read from the text (one node access, not four).
_PLAIN_USE = re.compile(rb"use\s++\\?+([a-z_\x80-\xff][\w\x80-\xff]*+(?:\\[a-z_\x80-\xff][\w\x80-\xff]*+)*+)"
                        rb"(?:\s++as\s++([a-z_\x80-\xff][\w\x80-\xff]*+))?\s*+;", re.I)


def _imports(nodes: list[Any], scope: _Scope) -> None:
    for decl in nodes:
        if decl.type != "namespace_use_declaration":
            continue
        text = decl.text
        plain = _PLAIN_USE.fullmatch(text)
        if plain is not None and plain[1].lower() not in (b"function", b"const") and not decl.has_error:
            target = plain[1].decode("utf-8", "replace")
            alias = plain[2].decode("utf-8", "replace") if plain[2] else target.rsplit("\\", 1)[-1]
            scope.imports.append((decl.start_byte, alias.lower(), target))
            continue
        if _KIND_KEYWORD.match(text):
            continue  # `use function` / `use const` never name classes
        prefix = ""
        for child in decl.children:
            if child.type == "namespace_name":
                prefix = _text(child).lstrip("\\") + "\\"
            elif child.type == "namespace_use_clause":
                _clause(child, "", scope, decl.start_byte)
            elif child.type == "namespace_use_group":
                for clause in child.children:
                    if clause.type == "namespace_use_clause":
                        _clause(clause, prefix, scope, decl.start_byte)


_KIND_KEYWORD = re.compile(rb"(?:use\s++)?(?:function|const)\b", re.I)


def _kind_keyword(node: Any) -> bool:
    """`use function …` / `use const …` (or a `function f` clause of a group): read from the text,
    one node access instead of one per child."""
    return _KIND_KEYWORD.match(node.text) is not None


def _clause(clause: Any, prefix: str, scope: _Scope, at: int) -> None:
    names = [c for c in clause.named_children if c.type in NAME_NODES]
    if not names or _kind_keyword(clause):
        return
    target = prefix + _text(names[0]).lstrip("\\")
    alias_node = clause.child_by_field_name("alias")
    alias = _text(alias_node) if alias_node is not None else target.rsplit("\\", 1)[-1]
    scope.imports.append((at, alias.lower(), target))


# -- class-likes --------------------------------------------------------------------------------
def _class(node: Any, resolve: _Resolver, text: bytes | None = None) -> dict[str, Any]:
    kind = CLASS_LIKES[node.type]
    name = node.child_by_field_name("name")
    line = (name or node).start_point[0] + 1
    info: dict[str, Any] = {
        "fqn": resolve.join(_text(name)) if name is not None and kind != "anonymous" else None,
        "kind": kind, "line": line, "parent": None, "bases": [], "interfaces": [], "traits": [],
        "adaptations": [], "methods": [], "properties": [], "abstract": False, "final": False}
    for child in node.children:  # one list of the children: each read of it makes new nodes
        kind_of = child.type
        if kind_of == "base_clause":
            info["bases"] = [resolve(n) for n in child.named_children if n.type in NAME_NODES]
        elif kind_of == "class_interface_clause":
            info["interfaces"] = [resolve(n) for n in child.named_children if n.type in NAME_NODES]
        elif kind_of in BODY_NODES:
            _body(child, resolve, info, text)
        elif kind_of == "abstract_modifier":
            info["abstract"] = True
        elif kind_of == "final_modifier":
            info["final"] = True
    if kind != "interface" and info["bases"]:
        info["parent"] = info["bases"][0]
    return info


def _body(body: Any, resolve: _Resolver, info: dict[str, Any], text: bytes | None) -> None:
    methods = info["methods"]
    for member in body.children:
        kind = member.type
        if kind == "method_declaration":
            if text is None or not _method_fast(member, text, methods):
                _method(member, info)
        elif kind == "use_declaration":
            _trait_use(member, resolve, info)
        elif kind == "property_declaration":
            _property(member, info["properties"])


def _property(member: Any, properties: list) -> None:
    """One ``property_declaration`` (one list of its children: modifiers, then its elements)."""
    vis, static, elements = None, False, []
    for child in member.children:
        kind = child.type
        if kind == "property_element":
            elements.append(child)
        elif kind == "visibility_modifier":
            if vis is None:  # asymmetric visibility (`public private(set)`): the first is the read side
                vis = _text(child).split("(")[0].lower()
        elif kind == "static_modifier":
            static = True
    vis = vis or "public"
    for element in elements:
        var = element.child_by_field_name("name") or element.named_children[0]
        properties.append([_text(var).lstrip("$"), element.start_point[0] + 1, vis, static])


#: The text before a method's name in the common declarations (tree-sitter-php reads each word as the
#: modifier it names): ``(visibility, static, abstract)`` from one look-up, not one node per word.
_HEADS = {f"{abstract}{visibility}{static}function ".encode(): (visibility.strip() or "public", bool(static),
                                                               bool(abstract))
          for abstract in ("", "abstract ") for visibility in ("", "public ", "protected ", "private ")
          for static in ("", "static ")}


def _method_fast(member: Any, text: bytes, methods: list) -> bool:
    """A method whose head is one of :data:`_HEADS` (not a constructor: its promoted parameters are
    read from the tree), read from its name node and the parsed ``text`` around it; ``False`` for
    any other, to be read by :func:`_method`. Only used on a tree without errors, where a method
    ending in ``}`` has a body and one ending in ``;`` has none."""
    name = member.child_by_field_name("name")
    if name is None:
        return False
    head = _HEADS.get(text[member.start_byte:name.start_byte])
    if head is None:
        return False
    label = name.text.decode("utf-8", "replace")
    if label.lower() == "__construct":
        return False
    visibility, static, abstract = head
    methods.append([label, name.start_point[0] + 1, visibility, static, abstract or text[member.end_byte - 1] != 0x7D])
    return True


def _method(member: Any, info: dict[str, Any]) -> None:
    name = body = params = None
    visibility, static, abstract = "public", False, False
    for child in member.children:  # one pass: reading node lists from the C tree is the cost here
        kind = child.type
        if kind == "name":
            name = child
        elif kind == "compound_statement":
            body = child
        elif kind == "formal_parameters":
            params = child
        elif kind == "visibility_modifier":
            visibility = _text(child).lower()
        elif kind == "static_modifier":
            static = True
        elif kind == "abstract_modifier":
            abstract = True
    if name is None:
        return
    text = _text(name)
    info["methods"].append([text, name.start_point[0] + 1, visibility, static, abstract or body is None])
    if params is not None and text.lower() == "__construct":
        for param in params.children:
            if param.type == "property_promotion_parameter":
                var = param.child_by_field_name("name")
                if var is not None:
                    info["properties"].append([_text(var).lstrip("$"), param.start_point[0] + 1,
                                               _visibility(param), False])


def _trait_use(member: Any, resolve: _Resolver, info: dict[str, Any]) -> None:
    for child in member.named_children:
        if child.type in NAME_NODES:
            info["traits"].append(resolve(child))
        elif child.type == "use_list":
            for rule in child.named_children:
                adaptation = _adaptation(rule, resolve)
                if adaptation is not None:
                    info["adaptations"].append(adaptation)


def _adaptation(rule: Any, resolve: _Resolver) -> list | None:
    parts = rule.named_children
    if not parts:
        return None
    trait, method = _trait_method(parts[0], resolve)
    if rule.type == "use_instead_of_clause":
        excluded = [resolve(n) for n in parts[1:] if n.type in NAME_NODES]
        return ["insteadof", trait, method, excluded, None, None]
    if rule.type == "use_as_clause":
        vis = next((_text(n) for n in parts[1:] if n.type == "visibility_modifier"), None)
        alias = next((_text(n) for n in parts[1:] if n.type == "name"), None)
        return ["as", trait, method, [], alias, vis]
    return None


def _trait_method(node: Any, resolve: _Resolver) -> tuple[str | None, str]:
    if node.type == "class_constant_access_expression":
        named = node.named_children
        return resolve(named[0]), _text(named[-1])
    return None, _text(node)


# -- helpers ------------------------------------------------------------------------------------
def _visibility(node: Any) -> str:
    # Asymmetric visibility (`public private(set)`) lists two modifiers; the first is the read side.
    for c in node.children:
        if c.type == "visibility_modifier":
            return _text(c).split("(")[0].lower()
    return "public"


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _syntax_error(root: Any) -> list:
    node = _first_error(root)
    line = (node.start_point[0] + 1) if node is not None else 1
    what = "missing " + node.type if node is not None and node.is_missing else "syntax error"
    return [line, f"{what}; declarations after this point may be missed"]


def _first_error(node: Any) -> Any:
    for child in node.children:
        if child.is_error or child.is_missing:
            return child
        if child.has_error:
            found = _first_error(child)
            if found is not None:
                return found
    return None
