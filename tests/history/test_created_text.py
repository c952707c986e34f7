"""A rollback of a file creation knows the text the creation wrote, also for events recorded before
that text was kept (rebuilt from the event's patch of a file made from nothing)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from traitctl.history_service import _created_text
from traitctl.store.toml_file import hunks


@pytest.mark.parametrize("text", ['name = "newco"\n', '\nname = "newco"\n', 'name = "x"', "a = 1\n\n\nb = 2\n", "\n",
                                  'name = "x"\n' + "\n".join(f"k{i} = {i}" for i in range(30)) + "\n"])
def test_the_created_text_comes_back_from_the_patch(text: str):
    event = SimpleNamespace(file="/c/tenants/newco.toml", data={"patch": {"/c/tenants/newco.toml": hunks("", text)}})
    assert _created_text(event) == text


def test_the_kept_text_wins_and_an_unknown_patch_is_unknown():
    kept = SimpleNamespace(file="/f", data={"text": "a = 1\n", "patch": {"/f": hunks("", "b = 2\n")}})
    assert _created_text(kept) == "a = 1\n"
    edited = SimpleNamespace(file="/f", data={"patch": {"/f": hunks("a = 1\n", "a = 2\n")}})
    assert _created_text(edited) is None
    assert _created_text(SimpleNamespace(file="/f", data={})) is None
