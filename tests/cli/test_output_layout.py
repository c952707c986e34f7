"""``Output.table`` fits the terminal without breaking a word; ``Output.paragraph`` wraps at spaces."""

from __future__ import annotations

import io

import pytest

from traitctl.output import Output, share_widths, table_layout, wrap_text

COLUMNS = ["id", "trait", "operation", "state", "enqueued (UTC)", "error"]
ROWS = [["7", "HasUserTracking", "cleanup", "failed", "2026-12-01 10:00:00",
         "command exited 2: php artisan traits:cleanup --days=90 failed"],
        ["8", "Cacheable", "audit", "succeeded", "2026-12-01 10:05:00", ""]]


def _drawn(monkeypatch, width: int, **options) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    buf = io.StringIO()
    Output(stdout=buf).table(COLUMNS, ROWS, title="Jobs", **options)
    return buf.getvalue()


def _words(text: str) -> set[str]:
    return set(text.split())


@pytest.mark.parametrize("width", [200, 120, 80, 76, 40])
def test_tables_fit_and_keep_every_word_whole(monkeypatch, width):
    text = _drawn(monkeypatch, width)
    assert max(len(line) for line in text.splitlines()) <= width
    for row in ROWS:  # every word of every cell is on one line
        for value in row:
            assert all(word in text for word in value.split()), (value, text)


def test_wide_terminals_get_the_boxed_table_narrow_ones_borderless_then_records(monkeypatch):
    assert "┃ id ┃ trait" in _drawn(monkeypatch, 200)
    assert "┃" in _drawn(monkeypatch, 78)  # the longest words (and the borders) fit in 78
    compact = _drawn(monkeypatch, 76)
    lines = compact.splitlines()
    assert "┃" not in compact and lines[1].split() == ["enqueued"] and set(lines[3].strip()) == {"─"}
    assert lines[2].split() == ["id", "trait", "operation", "state", "(UTC)", "error"]
    records = _drawn(monkeypatch, 40)
    assert records.splitlines()[:5] == ["Jobs", "id: 7", "  trait: HasUserTracking", "  operation: cleanup",
                                        "  state: failed"]
    assert "  error: command exited 2: php artisan\n    traits:cleanup --days=90 failed\n" in records
    assert "id: 8\n  trait: Cacheable" in records and "  error:" not in records.split("id: 8")[1]


def test_forced_compact_frame_and_fits(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = Output(stdout=io.StringIO())
    assert out.fits(COLUMNS, ROWS) and out.fits(COLUMNS, ROWS, frame="compact")
    assert "┃" not in _drawn(monkeypatch, 200, frame="compact")
    monkeypatch.setenv("COLUMNS", "40")
    assert not Output(stdout=io.StringIO()).fits(COLUMNS, ROWS)


def test_share_widths():
    assert share_widths([2, 5], [4, 30], 40) == [4, 30]  # all fit: as wide as wanted
    assert share_widths([2, 5], [4, 30], 20) == [4, 16]  # the short column is served first
    assert share_widths([2, 5], [4, 30], 6) is None  # the longest words do not fit
    assert sum(share_widths([3, 3, 3], [10, 20, 40], 30)) == 30


def test_layout_keeps_no_wrap_columns_whole():
    heads, cells = ["Name", "List"], [["App\\Models\\Invoice", "a, b, c, d"]]
    assert table_layout(heads, cells, 80, {"Name"}) == ("box", [18, 10])
    assert table_layout(heads, cells, 30, {"Name"}) == ("box", [18, 5])
    assert table_layout(heads, cells, 26, {"Name"}) == ("compact", [18, 5])
    assert table_layout(heads, cells, 24, {"Name"}) is None  # "List" itself needs 4


def test_wrap_text_breaks_at_spaces_with_a_hanging_indent():
    assert wrap_text("alpha beta gamma delta", 12, indent=2, hang=2) == ["  alpha beta", "    gamma", "    delta"]
    assert wrap_text("", 10) == [""]


def test_paragraph_respects_quiet(monkeypatch):
    monkeypatch.setenv("COLUMNS", "20")
    buf = io.StringIO()
    Output(stdout=buf).paragraph("one two three four five six")
    assert buf.getvalue() == "one two three four\n  five six\n"
    quiet = io.StringIO()
    Output(stdout=quiet, quiet=2).paragraph("text")
    assert quiet.getvalue() == ""
