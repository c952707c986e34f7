"""The command language (docs/cli.md), checked over every command and subcommand in-process.

The walk loads the whole click command tree from the Typer app (every lazily registered group) and
checks: ``-h``/``--help`` answer everywhere, also behind the root ``--json``; every option and
argument has help text; no short option means two things (the table of docs/cli.md); every
``--limit`` follows one rule; every write has ``--dry-run``; every group's help ends with 2-4
examples, and those examples parse, and run on a copy of the bundled example.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest

from traitctl.cli import COMMANDS, app, main  # first: it picks plain (not Rich) help before typer loads

from typer._click.core import Context  # noqa: E402
from typer.core import TyperArgument, TyperOption  # noqa: E402
from typer.exceptions import Exit  # noqa: E402
from typer.main import get_command  # noqa: E402

#: docs/cli.md "Short options": the one long option each short option stands for.
SHORT_OPTIONS = {
    "-h": "--help", "-V": "--version", "-c": "--config", "-q": "--quiet", "-v": "--verbose",
    "-n": "--dry-run", "-y": "--yes", "-f": "--format", "-o": "--output", "-l": "--limit",
    "-t": "--trait", "-m": "--model", "-u": "--user", "-p": "--percentage", "-s": "--state",
    "-k": "--kind", "-i": "--interval", "-w": "--workers", "-Q": "--queue", "-d": "--data",
    "-L": "--label",
}

#: Every command that changes something: each must offer --dry-run.
WRITES = {
    ("config", "set"), ("config", "unset"), ("tenants", "add"), ("tenants", "remove"), ("rollback",),
    ("flags", "set"), ("flags", "enable"), ("flags", "disable"), ("flags", "rollout"), ("flags", "create"),
    ("flags", "delete"), ("flags", "override"), ("flags", "clear-override"), ("flags", "schedule"),
    ("flags", "advance"), ("flags", "import"), ("flags", "export"), ("export",), ("docs", "generate"),
    ("migrate-plan",), ("jobs", "enqueue"), ("jobs", "retry"), ("jobs", "cancel"), ("jobs", "purge"),
    ("metrics", "record"), ("metrics", "ingest"), ("metrics", "reset"), ("cache", "flush"),
}

#: Writes whose --dry-run is being added on another branch; empty this list once it is merged.

#: Examples that start a server or a worker (they run until stopped): parsed, not run.
LONG_RUNNING = ("serve", "worker")

#: Examples that are checks: exit 1 (differences found, unhealthy) is a correct answer for them.
CHECKS = {"traitctl health", "traitctl --json health", "traitctl health --only configuration,store --strict",
          "traitctl export --format json --output snapshot.json --check"}


def _tree() -> dict[tuple[str, ...], object]:
    """Every command by its path, ``()`` being the root."""
    root = get_command(app)
    found: dict[tuple[str, ...], object] = {}

    def walk(command, path: tuple[str, ...], parent: Context | None) -> None:
        found[path] = command
        if not hasattr(command, "list_commands"):
            return
        ctx = Context(command, info_name=path[-1] if path else "traitctl", parent=parent)
        for name in command.list_commands(ctx):
            walk(command.get_command(ctx, name), path + (name,), ctx)

    walk(root, (), None)
    return found


TREE = _tree()
GROUPS = {path: cmd for path, cmd in TREE.items() if hasattr(cmd, "list_commands")}
#: What a user reaches from the root: the root, each registered command, and every group.
WITH_EXAMPLES = {(): TREE[()], **{(name,): TREE[(name,)] for name in COMMANDS}, **GROUPS}


def _options(command) -> list:
    return [p for p in command.params if isinstance(p, TyperOption)]


def _names(param) -> list[str]:
    return list(param.opts) + list(param.secondary_opts)


def _examples(command) -> list[str]:
    epilog = command.epilog or ""
    if "Examples:" not in epilog:
        return []
    block = epilog.split("Examples:", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def _run(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return exit_.value.code, capsys.readouterr().out


def test_the_walk_reaches_every_command():
    assert set(COMMANDS) <= {path[0] for path in TREE if path}
    assert ("config", "set") in TREE and ("jobs", "list") in TREE and ("metrics", "trends") in TREE
    assert len(TREE) > 60


@pytest.mark.parametrize("path", sorted(TREE), ids=lambda p: " ".join(p) or "traitctl")
def test_h_and_help_answer_everywhere_also_behind_the_root_json(path, capsys):
    code, short = _run([*path, "-h"], capsys)
    assert code == 0 and short.strip().startswith(f"Usage: traitctl {' '.join(path)}".rstrip()), short[:300]
    assert re.search(r"-h\b", short) and "--help" in short
    code, long = _run(["--json", *path, "--help"], capsys)
    assert code == 0 and long == short


def test_the_root_json_is_a_flag_and_commands_that_repeat_it_mean_the_same():
    root_json = next(p for p in _options(TREE[()]) if "--json" in p.opts)
    assert root_json.is_flag and not root_json.secondary_opts
    for path, command in TREE.items():
        for param in _options(command):
            if "--json" in _names(param):
                assert param.is_flag and _names(param) == ["--json"], path


def test_every_option_and_argument_has_help():
    missing = [(" ".join(path), _names(p) or [p.name]) for path, command in TREE.items() for p in command.params
               if isinstance(p, (TyperOption, TyperArgument)) and not (p.help or "").strip()]
    assert missing == []


def test_short_options_have_one_meaning_across_the_cli():
    wrong = []
    meanings: dict[str, set[str]] = {}
    for path, command in TREE.items():
        for param in _options(command):
            names = _names(param)
            longs = [n for n in names if n.startswith("--")]
            for short in (n for n in names if not n.startswith("--")):
                meanings.setdefault(short, set()).add(longs[0])
                if SHORT_OPTIONS.get(short) not in longs:
                    wrong.append((" ".join(path), short, longs))
    assert wrong == []
    assert all(len(longs) == 1 for longs in meanings.values()), meanings
    assert {"-n", "-o", "-s", "-p", "-l", "-L"} <= set(meanings)  # the ones that used to mean two things


def test_the_table_is_the_one_in_docs_cli_md():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Short options", 1)[1].split("\n## ", 1)[0].split("Changed spellings", 1)[0]
    assert dict(re.findall(r"`(-[A-Za-z])` \| `(--[a-z-]+)`", section)) == SHORT_OPTIONS


def test_no_short_option_for_the_options_that_must_have_none():
    bare = ("--since", "--until", "--period", "--operation", "--tenant", "--strict", "--check")
    for path, command in TREE.items():
        for param in _options(command):
            if set(_names(param)) & set(bare):
                assert all(n.startswith("--") for n in _names(param)), (path, _names(param))


def test_every_limit_is_at_least_one_or_zero_for_all():
    limits = [(path, p) for path, command in TREE.items() for p in _options(command) if "--limit" in p.opts]
    assert len(limits) >= 7
    for path, param in limits:
        assert "-l" in param.opts and param.type.min == 0 and not param.type.min_open, path
        assert "0: all" in param.help, path


def test_output_files_are_output_o():
    for path, command in TREE.items():
        for param in _options(command):
            if "--out" in _names(param) or "-o" in _names(param):
                assert param.opts[:2] == ["--output", "-o"], (path, _names(param))


def test_every_write_has_dry_run():
    assert WRITES <= set(TREE)
    for path in sorted(WRITES):
        params = {n for p in _options(TREE[path]) for n in _names(p)}
        assert {"--dry-run", "-n"} <= params, path


@pytest.mark.parametrize("path", sorted(WITH_EXAMPLES), ids=lambda p: " ".join(p) or "traitctl")
def test_every_group_help_ends_with_examples(path, capsys):
    examples = _examples(WITH_EXAMPLES[path])
    assert 2 <= len(examples) <= 4, (path, examples)
    assert all(line.startswith("traitctl ") for line in examples), examples
    _code, text = _run([*path, "-h"], capsys)
    tail = [line.strip() for line in text.strip().splitlines()]
    assert tail[tail.index("Examples:") + 1:][:len(examples)] == examples


def _all_examples() -> list[str]:
    return [line for path in sorted(WITH_EXAMPLES) for line in _examples(WITH_EXAMPLES[path])]


@pytest.mark.parametrize("line", sorted(set(_all_examples())))
def test_examples_parse(line):
    """Each example names existing commands and options with values of the right type."""
    args = shlex.split(line)[1:]
    root = get_command(app)
    try:
        ctx = root.make_context("traitctl", args)
    except Exit as done:  # --version prints and stops while parsing
        assert done.exit_code == 0
        return
    rest = ctx._protected_args + ctx.args
    while rest and hasattr(ctx.command, "resolve_command"):
        name, command, rest = ctx.command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
        rest = ctx._protected_args + ctx.args
    assert rest == [], line


#: Runs each example in turn with traitctl's real entry point, one process for all of them.
RUNNER = """
import json, shlex, sys
from traitctl.cli import main

codes = []
for line in json.loads(sys.argv[1]):
    argv = shlex.split(line)[1:]
    sys.argv = ["traitctl", *argv]
    try:
        main(argv)
    except SystemExit as exc:
        codes.append(exc.code)
print("CODES=" + json.dumps(codes))
"""


def test_examples_run_on_the_bundled_example(project, redis_url):
    # The rollback examples use event 1: they run first, on a store with no events yet.
    first = _examples(TREE[("rollback",)])
    runnable = list(dict.fromkeys(first + [line for line in _all_examples()
                                           if not set(shlex.split(line)) & set(LONG_RUNNING)]))
    runnable = [line.replace("redis://127.0.0.1:6379/0", redis_url) for line in runnable]
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(runnable)], cwd=project, capture_output=True,
                          text=True, timeout=300)
    found = re.search(r"^CODES=(.*)$", proc.stdout, re.M)
    assert found, proc.stderr[-3000:]
    codes = dict(zip(runnable, json.loads(found.group(1))))
    failed = {line: code for line, code in codes.items() if code not in ((0, 1) if line in CHECKS else (0,))}
    assert failed == {}, proc.stderr[-3000:]
    assert (project / "inventory.json").is_file() and (project / "pages" / "index.md").is_file()
