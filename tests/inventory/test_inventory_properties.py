"""Properties (hypothesis): PHP name resolution, order independence of the result, drift."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine.inventory import report
from traitctl.engine.inventory.php import parse_php
from traitctl.engine.inventory.resolve import build

KEYWORDS = {"as", "use", "class", "trait", "namespace", "function", "const", "new", "extends", "fn", "if",
            "else", "enum", "match", "static", "self", "parent", "list", "array", "print", "echo", "and", "or",
            "xor", "interface", "abstract", "final", "readonly", "include", "require", "insteadof", "true",
            "false", "null", "mixed", "int", "float", "bool", "string", "void", "never", "iterable", "object",
            "callable", "die", "exit", "empty", "isset", "unset", "eval", "clone", "global", "goto", "do",
            "for", "while", "try", "catch", "throw", "case", "default", "switch", "break", "continue",
            "return", "yield", "declare", "var", "public", "protected", "private", "finally", "instanceof",
            "foreach", "endif", "endfor", "endwhile", "endforeach", "endswitch", "enddeclare", "elseif",
            "include_once", "require_once", "insteadof", "from", "namespace", "halt_compiler", "__halt_compiler"}
ident = st.from_regex(r"[A-Z][A-Za-z0-9]{0,8}", fullmatch=True).filter(lambda s: s.lower() not in KEYWORDS)
namespace = st.lists(ident, min_size=1, max_size=3).map("\\".join)


@settings(max_examples=60, deadline=None)
@given(ns=namespace, target_ns=namespace, target=ident, alias=ident, local=ident)
def test_imports_aliases_and_current_namespace(ns, target_ns, target, alias, local):
    src = (f"<?php\nnamespace {ns};\nuse {target_ns}\\{target} as {alias};\n"
           f"class {local}X extends \\Illuminate\\Database\\Eloquent\\Model {{ use {alias.lower()}, {local}T; }}\n")
    cls = parse_php(src.encode())["classes"][0]
    assert cls["fqn"] == f"{ns}\\{local}X"
    assert cls["parent"] == "Illuminate\\Database\\Eloquent\\Model"
    expected_local = f"{target_ns}\\{target}" if local + "T" == alias or (local + "T").lower() == alias.lower() \
        else f"{ns}\\{local}T"
    assert cls["traits"] == [f"{target_ns}\\{target}", expected_local]


def _facts(seed: int) -> list[dict]:
    rng = random.Random(seed)
    files = []
    for i in range(8):
        traits = [f"T{rng.randrange(5)}" for _ in range(rng.randint(0, 3))]
        if i < 5:
            uses = f"use T{rng.randrange(5)};" if rng.random() < 0.5 and i else ""
            src = f"<?php namespace N; trait T{i} {{ {uses} public function m{i}() {{}} }}"
        else:
            parent = rng.choice(["\\Illuminate\\Database\\Eloquent\\Model", "M5", "M6"])
            body = f"use {', '.join(traits)};" if traits else ""
            src = f"<?php namespace N; class M{i} extends {parent} {{ {body} public function m0() {{}} }}"
        files.append({**parse_php(src.encode()), "file": f"f{i}.php", "language": "php", "module": ""})
    return files


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), order=st.randoms(use_true_random=False))
def test_result_does_not_depend_on_file_order(seed, order):
    files = _facts(seed)
    shuffled = list(files)
    order.shuffle(shuffled)
    assert build(shuffled) == build(files)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_drift_is_empty_for_equal_code_and_names_a_removed_model(seed):
    files = _facts(seed)
    doc = report.document(build(files))
    assert report.drift(doc, doc) == []
    models = [m["fqn"] for m in doc["models"]]
    if models:
        fewer = dict(doc, models=[m for m in doc["models"] if m["fqn"] != models[0]])
        changes = report.drift(doc, fewer)
        assert {"change": "removed", "kind": "model", "name": models[0], "detail": ""} in changes
