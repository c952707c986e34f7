"""The cold PHP parse empties function bodies and cuts strings, comments and most parameter lists
before tree-sitter parses a file: the facts must be those of the whole file, whatever the bodies
hold (strings, heredocs and comments with braces, declarations, anonymous classes, inline HTML)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine.inventory import php

BODIES = [
    "return '}';",
    'return "{$this->a[\'}\']} and {$b}";',
    "$x = <<<EOT\n  } function fake() { {\n  EOT;\n return $x;",
    "$y = <<<'RAW'\n}}} class Fake {}\nRAW;",
    "// } a comment with a brace\n/* { */ return 1;",
    "# } hash comment\n return [fn ($v) => $v, function () { return '{'; }];",
    "if (! class_exists('Later')) { class Later extends \\Illuminate\\Database\\Eloquent\\Model { use T; } }",
    "return new class extends \\Illuminate\\Database\\Eloquent\\Model { use T; public function m() {} };",
    "?>\n<p>{ html } it's</p>\n<?php return 2;",
    "$s = `ls {`; return $s;",
    "return match ($x) { 1 => '{', default => '}' };",
    "$function = 1; $o->function(1); return static::function();",
    "",
    "/** stars * ** } {*/ /***/ /* */ return 3; /*} unclosed? no: */",
    "return '?> ' . \"?>{\" . <<<EOT\n  ?> }\n  EOT;",
    "/* ?> } */ return '<?php ?>';",
    "$this->app->instance('x', new class($a, [1, '}']) extends \\Illuminate\\Database\\Eloquent\\Model implements\n"
    "    \\Countable { use T; public function count(): int { return 0; } });\n return 1;",
    "$f = function () { return new class { public function inner() {\n return new class extends B {}; } }; };\n return $f;",
    "$x = 1; return [new class {}, new class { public $p; }];",
    "return new class(fn () => 1, function () { return 2; }) { public function c() {} };",
    "return new #[Attr] class { public function a() {} };",
]


def _whole(source: bytes) -> dict:
    """The facts of a whole-file parse (the body-emptying step turned off)."""
    keep = php._skeleton
    php._skeleton = lambda source, *rest: source
    try:
        return php.parse_php(source)
    finally:
        php._skeleton = keep


def _file(bodies: list[str]) -> bytes:
    methods = "\n".join(
        f"    #[Attr('}}')]\n    public {'static ' if i % 2 else ''}function &m{i}(array $a = ['{{'], ?string $b = null): ?array\n"
        f"    {{\n        {body}\n    }}\n" for i, body in enumerate(bodies))
    return (f"<?php\nnamespace App\\Models;\n\nuse Illuminate\\Database\\Eloquent\\Model;\n\n"
            f"trait T {{ public function t() {{ return '}}'; }} }}\n\n"
            f"class A extends Model\n{{\n    use T;\n\n{methods}\n    public function last(): void {{}}\n"
            f"    abstract protected function todo();\n}}\n\ninterface I {{ public function i(); }}\n"
            f"enum E: string {{ case A = 'a'; public function label(): string {{ return '}}'; }} }}\n").encode()


@pytest.mark.parametrize("body", BODIES)
def test_each_body_gives_the_facts_of_the_whole_file(body):
    source = _file([body])
    assert php.parse_php(source) == _whole(source)


def test_bodies_are_emptied_and_lines_kept():
    source = _file(BODIES[:6])
    code = php._ATOMS.sub(php._stub, source)
    text = php._skeleton(source, code, code.lower(), [])
    assert len(text) < len(source) and text.count(b"\n") == source.count(b"\n")
    assert b"#[Attr('')]" in text and b"'}'" not in text  # strings cut to '', attributes kept
    assert b"fake" not in text and b"public function last(){}" in text and b"?string" not in text
    facts = php.parse_php(source)
    assert facts == _whole(source)
    methods = {m[0]: m[1] for m in facts["classes"][1]["methods"]}
    assert methods["last"] == source[:source.index(b"function last")].count(b"\n") + 1


def test_constructor_parameters_are_kept_and_other_signatures_cut():
    source = (b"<?php\nclass P\n{\n    public function __CONSTRUCT(\n        private readonly array $a = ['{'],\n"
              b"        protected ?int $b = null,\n    ) {\n    }\n\n    public function x__construct(int $c,\n"
              b"        int $d): static { return $this; }\n    abstract public function f(#[Sensitive] string $e): void;\n}\n")
    code = php._ATOMS.sub(php._stub, source)
    text = php._skeleton(source, code, code.lower(), [])
    assert b"private readonly array $a" in text and b"$c" not in text and b"$e" not in text
    assert text.count(b"\n") == source.count(b"\n")
    facts = php.parse_php(source)
    assert facts == _whole(source)
    assert [p[:2] for p in facts["classes"][0]["properties"]] == [["a", 5], ["b", 6]]
    assert [m[:2] for m in facts["classes"][0]["methods"]] == [["__CONSTRUCT", 4], ["x__construct", 10], ["f", 12]]


def test_a_close_tag_in_strings_and_block_comments_is_all_php_one_in_a_line_comment_is_not():
    in_strings = _file(BODIES[-2:])
    assert not php._inline_html(in_strings, php._CUT.sub(php._cut, in_strings))
    assert php.parse_php(in_strings) == _whole(in_strings)
    assert [m[0] for m in php.parse_php(in_strings)["classes"][1]["methods"]] == ["m0", "m1", "last", "todo"]
    for comment in ("// not code ?> <p>'</p><?php", "# ?>\n<?php", "$a = '//'; ?>\n<?php"):
        source = _file([comment + " return 1;"])
        assert php._inline_html(source, php._CUT.sub(php._cut, source)), comment
        assert php.parse_php(source) == _whole(source)


def test_calls_named_function_something_are_not_functions():
    """`function_exists(…)` (a helpers file's guard) and `functionName(…)` are calls: the guarded
    function's body is emptied and the skeleton parses cleanly (no parse of the whole file)."""
    source = (b"<?php\nnamespace App;\n\nif (! function_exists('App\\helper')) {\n    function helper($a)\n"
              b"    {\n        return functionName($a) ?: '}';\n    }\n}\n\nclass Uses\n{\n"
              b"    public function run() { return function_exists('x') && functionName(1); }\n}\n")
    code = php._CUT.sub(php._cut, source)
    text = php._skeleton(source, code, code.lower(), [])
    assert b"functionName" not in text and b"function_exists(" in text
    parser, _ = php._parser(True)
    assert not parser.parse(text).root_node.has_error
    facts = php.parse_php(source)
    assert facts == _whole(source) and [m[0] for m in facts["classes"][0]["methods"]] == ["run"]


def test_a_body_making_anonymous_classes_keeps_only_them():
    source = _file([BODIES[-5], BODIES[-3]])
    code = php._CUT.sub(php._cut, source)
    low = code.lower()
    keep = sorted(m.start() for m in php._ANONYMOUS.finditer(low))
    text = php._skeleton(source, code, low, keep)
    assert text.count(b"\n") == source.count(b"\n")
    assert b"instance(" not in text and b"$x = 1" not in text and b"public function count()" in text
    assert text.count(b"new class") == 3
    facts = php.parse_php(source)
    assert facts == _whole(source)
    anonymous = [c for c in facts["classes"] if c["kind"] == "anonymous"]
    assert [c["bases"] for c in anonymous] == [["Illuminate\\Database\\Eloquent\\Model"], [], []]
    assert anonymous[0]["traits"] == ["App\\Models\\T"] and anonymous[2]["properties"][0][0] == "p"


def test_declarations_inside_bodies_are_still_found():
    facts = php.parse_php(_file([BODIES[6], BODIES[7]]))
    names = [c["fqn"] or c["kind"] for c in facts["classes"]]
    assert "App\\Models\\Later" in names and "anonymous" in names


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(BODIES), min_size=1, max_size=6))
def test_any_mix_of_bodies(bodies):
    source = _file(bodies)
    assert php.parse_php(source) == _whole(source)


IMPORT_BLOCKS = [
    "use Illuminate\\Database\\Eloquent\\Model;\nuse App\\Concerns\\HasSlug as Slugs;\nuse \\App\\Concerns\\Tracks;\n",
    "use Illuminate\\Database\\Eloquent\\Model;\nuse App\\Concerns\\{HasSlug as Slugs, Tracks};\n",
    "use function App\\helper;\nuse Illuminate\\Database\\Eloquent\\Model;\nuse App\\Concerns\\HasSlug as Slugs, App\\Concerns\\Tracks;\n",
    "use Illuminate\\Database\\Eloquent\\Model;\nuse App\\Concerns\\HasSlug as Slugs;\nuse App\\Concerns\\Tracks;\n"
    "use App\\Other\\Tracks;\n",  # the later import of one alias wins, as PHP has it
    "use Illuminate\\Database\\Eloquent\\Model;\nuse App\\Enum\\HasSlug as Slugs;\nuse App\\Concerns\\Tracks;\n",
    "use Illuminate\\Database\\Eloquent\\Model as Base, App\\Concerns\\Tracks;\nuse App\\Concerns\\HasSlug AS Slugs;\n",
    "use Illuminate\\Database\\Eloquent\\Model;\nuse App\\Concerns\\HasSlug as Slugs;\nuse App\\Concerns\\Tracks\n",  # no `;`
]


@pytest.mark.parametrize("block", IMPORT_BLOCKS)
@pytest.mark.parametrize("declare", ["", "declare(strict_types=1);\n\n"])
def test_the_imports_after_the_namespace_give_the_facts_of_the_whole_file(block, declare):
    source = (f"<?php\n\n{declare}namespace App\\Models;\n\n{block}\n"
              "class A extends Model\n{\n    use Slugs, Tracks;\n\n    public function a() { return 1; }\n}\n").encode()
    facts = php.parse_php(source)
    assert facts == _whole(source)
    if block.endswith("Tracks\n"):
        assert facts["warnings"] and facts["warnings"][0][0] == source.count(b"\n", 0, source.index(b"Tracks\n")) + 1


def test_plain_imports_are_read_from_the_text_and_cut():
    source = (b"<?php\nnamespace App\\Models;\n\nuse Illuminate\\Database\\Eloquent\\Model;\n"
              b"use App\\Concerns\\HasSlug as Slugs;\nuse function App\\helper;\nuse App\\Later;\n\nclass A extends Model {}\n")
    text, found = php._blank_uses(source)
    assert text == source.replace(b"use Illuminate\\Database\\Eloquent\\Model;\nuse App\\Concerns\\HasSlug as Slugs;\n",
                                  b"\n\n")
    at = source.index(b"namespace")
    assert found == (at, [(at, "model", "Illuminate\\Database\\Eloquent\\Model"), (at, "slugs", "App\\Concerns\\HasSlug")])
    one_line = b"<?php namespace A; use X\\HasThing; class M { use hasthing; }"
    assert php._blank_uses(one_line)[0] == b"<?php namespace A; class M { use hasthing; }"
    assert php.parse_php(one_line)["classes"][0]["traits"] == ["X\\HasThing"]
    assert php.parse_php(source)["classes"][0]["parent"] == "Illuminate\\Database\\Eloquent\\Model"
    keyword = source.replace(b"HasSlug as Slugs", b"HasSlug as Enum")
    assert php._blank_uses(keyword) == (keyword, None)  # a keyword: left to the parser
    assert php._blank_uses(b"<?php\nuse A\\B;\nclass C {}\n")[1] is None  # no namespace first


@pytest.mark.parametrize("body", BODIES + ["return ['id' => 'a.b', 'x y' => '{', 'it\\'s' => 'multi\nline'];",
                                           "$a = 'unclosed; /* not a comment */ return 1;",
                                           "return $a <=> $b << 2 ? 'App:name' : '$x#y' . '/path/';"])
def test_name_like_strings_are_kept_and_every_other_atom_cut_as_before(body):
    source = _file([body])
    code = php._CUT.sub(php._cut, source)
    assert php._ATOMS.sub(php._stub, code) == php._ATOMS.sub(php._stub, source)
    assert code.count(b"\n") == source.count(b"\n")
    assert b"'{'" not in code and b"#[Attr('')]" in code
