"""``--json`` output: what :func:`traitctl.output.json_document` writes (orjson) is, character for
character, what ``json.dumps(to_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False)``
writes: strings with control characters and non-ASCII text, floats of every magnitude, key order,
empty containers, and the types orjson is not trusted with."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import io
import json
from pathlib import PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.output import Output, json_document, json_text


def _stdlib(obj) -> str:
    return json_text(obj, indent=2, sort_keys=True, ensure_ascii=False)


scalars = (st.none() | st.booleans() | st.text() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats() | st.floats(min_value=-1e-3, max_value=1e-3) | st.sampled_from([1e16, 1e-5, -0.0, 5e-324]))
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                     | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_any_plain_tree_is_written_as_the_stdlib_writes_it(tree):
    assert json_document(tree) == _stdlib(tree)


class Label(str):
    def __str__(self) -> str:
        return "not the value"


class Count(int):
    pass


class Ratio(float):
    pass


class Colour(enum.IntEnum):
    RED = 1


@dataclasses.dataclass
class Point:
    x: float
    when: dt.date
    tags: set


def test_strings_floats_and_the_types_orjson_hands_back():
    awkward = {
        "controls": "".join(chr(c) for c in range(0x20)) + "\x7f\x9b\u2028\u2029\u202e",
        "text": "Grüße, 東京 😀 \\ \" /",
        "floats": [0.1, 1e-5, 9.5e-05, 1e15, 1e16, 1.7976931348623157e308, -2e-10, 100.0, float("nan"), float("-inf")],
        "ints": [0, -1, 2**63 - 1, 2**64 - 1, -2**63],
        "empty": [{}, [], {"": []}],
        "keys": {"b": 1, "a": 2, "é": 3, "Z": 4, "😀": 5, "\uffff": 6, "10": 7, "9": 8},
        "subclasses": [Label("value"), Count(7), Ratio(2.5e-7), Colour.RED],
        "types": [dt.datetime(2026, 12, 1, 10, 0, 5, 120), dt.date(2026, 1, 2), dt.time(3, 4),
                  PurePosixPath("/etc/traits.toml"), {3, 1, 2}, frozenset({"b", "a"}),
                  Point(0.5, dt.date(2026, 3, 4), {"x"})],
    }
    assert json_document(awkward) == _stdlib(awkward)
    for scalar in (1.5, 1e-7, "x", None, True, 12):
        assert json_document(scalar) == _stdlib(scalar)


def test_what_orjson_refuses_goes_the_stdlib_way():
    refused = [
        {"big": 2**64},                 # beyond 64 bits
        {1: "a", None: "b"},            # keys that are not strings
        {Label("k"): 1},                # a key that is a subclass of str
        {"lone": "\ud800"},             # a lone surrogate
    ]
    refused.append(_nested(300))        # deeper than orjson goes
    for obj in refused:
        assert json_document(obj) == _stdlib(obj)
    try:
        _stdlib({"bytes": b"x"})
    except TypeError as exc:
        expected = str(exc)
    try:
        json_document({"bytes": b"x"})
    except TypeError as exc:
        assert str(exc) == expected
    else:
        raise AssertionError("bytes were written as JSON")


def _nested(depth: int):
    node: list = []
    for _ in range(depth):
        node = [node]
    return node


def test_output_json_prints_the_document_and_a_newline():
    out = io.StringIO()
    Output(json_mode=True, stdout=out).json({"v": 1e-5, "s": "ü\x1b"})
    assert out.getvalue() == _stdlib({"v": 1e-5, "s": "ü\x1b"}) + "\n"
    assert json.loads(out.getvalue()) == {"v": 1e-5, "s": "ü\x1b"}
