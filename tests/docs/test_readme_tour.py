"""The README's tour runs: every command of its ``sh`` blocks exits 0 on a fresh copy of the bundled
example, each step ends by naming the next, and no command of the README names a fixed date (which
would fall into the past) or a flag the example does not have."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import in_process

ROOT = Path(__file__).resolve().parent.parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
DATE = re.compile(r"\b(19|20|21)\d\d-\d\d-\d\d\b")


def _tour() -> str:
    start = README.index("\n## Tour\n")
    return README[start:README.index("\n## ", start + 1)]


def _commands(text: str) -> list[str]:
    return [line.strip() for block in BLOCK.findall(text) for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _steps() -> list[str]:
    return re.split(r"\n(?=\*\*\d+\. )", _tour())[1:]


def test_every_step_has_commands_and_ends_with_the_next():
    steps = _steps()
    assert len(steps) >= 6
    for number, step in enumerate(steps, 1):
        assert step.startswith(f"**{number}. "), step[:40]
        assert _commands(step), f"step {number} has no command"
        last = step.strip().splitlines()[-1]
        assert last.startswith("Next: "), f"step {number} ends with {last!r}"
        if number < len(steps):
            assert f"step {number + 1}" in last


def test_readme_commands_name_no_fixed_date_and_only_flags_of_the_example():
    flags = set(tomllib.loads((ROOT / "config" / "traits.toml").read_text(encoding="utf-8"))["flags"])
    blocks = BLOCK.findall(README) + re.findall(r"```python\n(.*?)```", README, re.S)
    assert [m.group() for block in blocks for m in DATE.finditer(block)] == []
    named = re.findall(r"traitctl flags (?:rollout|eval|override|schedule|set|get|enable|disable|history) "
                       r"([a-z][\w-]*)", "\n".join(blocks))
    named += re.findall(r"is_enabled\(\"([^\"]+)\"", "\n".join(blocks))
    assert named and set(named) <= flags, set(named) - flags


def test_the_tour_runs_on_a_fresh_copy(project, tmp_path_factory, monkeypatch, capsys):
    # Plain commands run in this process (fast); those that need the shell ($(date …), timeout) in
    # bash, with `traitctl` on PATH as this interpreter's.
    shim = tmp_path_factory.mktemp("bin")
    (shim / "traitctl").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m traitctl "$@"\n')
    (shim / "traitctl").chmod(0o755)
    env = dict(os.environ, PATH=f"{shim}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(project)
    commands = _commands(_tour())
    assert len(commands) >= 20
    for command in commands:
        if SHELL.search(command) or not command.startswith("traitctl "):
            proc = subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True,
                                  timeout=120)
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        else:
            code, out, err = in_process(shlex.split(command)[1:], capsys)
        assert code == 0, f"{command!r} exited {code}:\n{out[-1500:]}\n{err[-1500:]}"


SHELL = re.compile(r"[$|;&<>`*?]")


