"""--version, ``version --json``, shell completion and the ``--limit`` rule (docs/cli.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from traitctl import __version__
from traitctl.cli import main


def test_version_is_one_line_and_imports_no_command(project):
    script = ("import sys\nfrom traitctl.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
              "    print('exit', e.code)\nprint(sorted(m for m in sys.modules if m.startswith('traitctl.commands.')"
              " or m in ('rich', 'tomlkit', 'peewee')))")
    for flag in ("--version", "-V"):
        proc = subprocess.run([sys.executable, "-c", script, flag], cwd=project, capture_output=True, text=True)
        assert proc.stdout == f"traitctl {__version__}\nexit 0\n[]\n", proc
    assert not (project / "config" / ".traitctl").exists()


def test_version_json_reads_the_schema_without_creating_a_store(cli, project):
    before = json.loads(cli("version", "--json").stdout)
    assert before["traitctl"] == __version__ and before["python"] == ".".join(map(str, sys.version_info[:3]))
    for key in ("typer", "click", "rich", "peewee", "huey", "tree_sitter", "tree_sitter_php"):
        assert before[key], key
    from traitctl.store.db import SCHEMA_VERSION

    assert before["store_schema"] == {"version": None, "expected": SCHEMA_VERSION}
    assert not (project / "config" / ".traitctl").exists()
    assert cli("history").exit_code == 0  # opens (creates) the store
    after = json.loads(cli("--json", "version").stdout)
    assert after["store_schema"] == {"version": SCHEMA_VERSION, "expected": SCHEMA_VERSION}
    assert cli("version").stdout == f"traitctl {__version__}\n"


def _complete(words: str, monkeypatch, capsys) -> list[str]:
    """What bash gets for ``words`` (the cursor after the last word), through click's protocol."""
    monkeypatch.setenv("_TRAITCTL_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    with pytest.raises(SystemExit) as done:
        main([])
    assert done.value.code == 0
    return capsys.readouterr().out.split()


@pytest.mark.parametrize(("words", "expected"), [
    ("traitctl config get ttl --tenant ", ["acme", "globex"]),
    ("traitctl config get ttl --tenant g", ["globex"]),
    ("traitctl tenants remove ", ["acme", "globex"]),
    ("traitctl config get ttl --trait Ha", ["HasSlug", "HasStatus", "HasUserTracking", "HasUuid"]),
    ("traitctl jobs enqueue C", ["Cacheable"]),
    ("traitctl config show --model ", ["Invoice", "Post", "Product", "User"]),
    ("traitctl flags get ", ["trait_caching", "traits_management_system"]),
    ("traitctl flags rollout trait_c", ["trait_caching"]),
    ("traitctl jobs list --state ", ["queued", "running", "succeeded", "failed", "cancelled"]),
    ("traitctl jobs list -s f", ["failed"]),
    ("traitctl inventory --format ", ["table", "json", "markdown", "csv"]),
    ("traitctl migrate-plan -f ", ["table", "markdown", "json"]),
    ("traitctl metrics export --format p", ["prometheus"]),
])
def test_completion_of_names_states_and_formats(words, expected, project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert _complete(words, monkeypatch, capsys) == expected
    assert not (project / "config" / ".traitctl").exists()  # no store opened


def test_completion_follows_config_and_completes_nothing_on_a_broken_file(project, tmp_path_factory, monkeypatch,
                                                                         capsys):
    (project / "config" / "tenants" / "initech.toml").write_text('name = "Initech"\n')
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)  # no configuration found from here
    assert _complete("traitctl config get ttl --tenant ", monkeypatch, capsys) == []
    config = str(project / "config" / "traits.toml")
    assert _complete(f"traitctl --config {config} config get ttl --tenant ",
                     monkeypatch, capsys) == ["acme", "globex", "initech"]
    broken = elsewhere / "config" / "traits.toml"
    broken.parent.mkdir()
    broken.write_text("[traits.A\n")
    assert _complete("traitctl flags get ", monkeypatch, capsys) == []


def test_completion_in_a_real_shell_protocol_run(project):
    env = {"_TRAITCTL_COMPLETE": "complete_bash", "COMP_WORDS": "traitctl flags eval trait_caching --tenant ",
           "COMP_CWORD": "5", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "traitctl"], cwd=project, env=env, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout.split(), proc.stderr) == (0, ["acme", "globex"], "")
    script = subprocess.run([sys.executable, "-m", "traitctl", "--show-completion", "bash"], cwd=project,
                            capture_output=True, text=True)
    assert script.returncode == 0 and "_TRAITCTL_COMPLETE=complete_bash" in script.stdout


def test_limit_is_at_least_one_or_zero_for_all(cli):
    for _ in range(3):
        assert cli("jobs", "enqueue", "noop").exit_code == 0
    assert len(json.loads(cli("jobs", "list", "--json", "-l", "2").stdout)["jobs"]) == 2
    assert len(json.loads(cli("jobs", "list", "--json", "--limit", "0").stdout)["jobs"]) == 3
    for ttl in ("600", "700"):
        assert cli("config", "set", "ttl", ttl, "--trait", "Cacheable").exit_code == 0
    assert len(json.loads(cli("history", "--json", "-l", "1").stdout)["events"]) == 1
    assert len(json.loads(cli("history", "--json", "--limit", "0").stdout)["events"]) >= 2
    for argv in (("jobs", "list"), ("history",), ("flags", "history", "trait_caching"), ("metrics",)):
        refused = cli(*argv, "--limit", "-1")
        assert refused.exit_code == 2 and "--limit" in refused.stderr, (argv, refused)


def test_completion_of_a_tenant_imports_no_command_rich_tomlkit_or_peewee(project):
    """A TAB press must answer fast (docs/cli.md: 150 ms): it needs typer/click, the command on
    the path (``config``) and the configuration's tenant ids only (bench/startup.py times it)."""
    script = ("import sys\nfrom traitctl.cli import main\ntry:\n    main([])\nexcept SystemExit as e:\n"
              "    print('exit', e.code)\nprint(sorted(m for m in sys.modules if m.startswith('traitctl.commands.')"
              " or m.split('.')[0] in ('rich', 'tomlkit', 'peewee', 'huey', 'tree_sitter', 'psutil')))")
    env = dict(os.environ, _TRAITCTL_COMPLETE="complete_bash", COMP_WORDS="traitctl config get ttl --tenant ",
               COMP_CWORD="5")
    proc = subprocess.run([sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True)
    lines = proc.stdout.split("\n")
    assert lines[:2] == ["acme", "globex"] and "exit 0" in lines, proc
    assert lines[-2] == "['traitctl.commands.common', 'traitctl.commands.config']", proc
