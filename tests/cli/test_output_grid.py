"""``Output.grid`` draws exactly the table ``Output.table`` (Rich) draws whenever every cell fits on
one line, and declines (drawing nothing) when a column would have to fold."""

from __future__ import annotations

import io

from hypothesis import example, given, settings
from hypothesis import strategies as st

from traitctl.output import Output, _plain

# what a cell of a configuration view holds: mostly plain ASCII, also wide characters
cell = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12) | st.text(st.characters(max_codepoint=0x2FFF, blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Mn", "Mc", "Me", "Cf"))
               | st.sampled_from("漢字表ﾃｽﾄ"), max_size=12)
tables = st.lists(cell.filter(str.strip), min_size=1, max_size=4).flatmap(
    lambda cols: st.tuples(st.just(cols), st.lists(st.lists(cell, min_size=len(cols), max_size=len(cols)),
                                                   max_size=6)))


@settings(max_examples=300, deadline=None)
@given(tables, st.sampled_from([None, "Cacheable across 5 tenants", "t"]),
       st.sampled_from([None, "value (source layer)"]))
@example((["\u1acf"], []), None, None)  # a heading Rich measures as zero columns (newer Unicode than Python's)
def test_grid_is_the_rich_table(table, title, caption):
    columns, rows = table
    rich, ours = io.StringIO(), io.StringIO()
    Output(stdout=rich).table(columns, rows, title=title, caption=caption)
    if Output(stdout=ours).grid(columns, rows, title=title, caption=caption):
        assert ours.getvalue() == rich.getvalue()
    else:  # only for a value with a character that is not plain (wide, zero-width, a space other
        # than " ": Rich's own width rules apply), or a word of the title or caption wider than the
        # table (Rich then folds it)
        width = max(len(rich.getvalue().splitlines()[bool(title)]), 1)
        plain = all(_plain(v) for row in [columns, *rows] for v in row)
        assert not plain or any(len(word) > width for text in (title, caption) if text for word in text.split())
        assert ours.getvalue() == ""


def test_a_title_wider_than_the_table_wraps_as_rich_wraps_it():
    rich, ours = io.StringIO(), io.StringIO()
    args = (["Tenant", "ttl"], [["acme", "60 (tenant)"]])
    title = "HasSlug across 5 tenants for App\\Models\\Post"
    Output(stdout=rich).table(*args, title=title, caption="value (source layer)")
    assert Output(stdout=ours).grid(*args, title=title, caption="value (source layer)") is True
    assert ours.getvalue() == rich.getvalue()


def test_grid_declines_what_would_fold():
    out = io.StringIO()
    assert Output(stdout=out).grid(["Tenant", "Value"], [["acme", "x" * 400]]) is False
    assert out.getvalue() == ""
