"""Truth tests: on a generated configuration, `traitctl config get --batch` / `traitctl flags eval
--subjects` (real subprocesses) and the Python runtime (TraitConfig, Flags) on the TOML and on the
exported JSON snapshot give the same answers: 0 disagreements, with the comparisons counted."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat

import genconfig
import pytest

from runcli import run_cli

MISSING = "<missing>"


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEN_")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    spec = genconfig.write(root)
    env = {**genconfig.ENV_VALUES, **genconfig.FLAG_ENV}
    subjects = genconfig.subjects()
    overrides = [("crc32-p0", subjects[5], "--on"), ("crc32-p100", subjects[6], "--off"),
                 ("flagd-p50", subjects[7], "--on"), ("unleash-p50", subjects[8], "--off")]
    for name, user, on in overrides:
        done = run_cli("flags", "override", name, "--user", user, on, cwd=root, env=_clean_env(env))
        assert done.exit_code == 0, done
    exported = run_cli("export", "--format", "json", "--out", "snapshot.json", cwd=root, env=_clean_env(env))
    assert exported.exit_code == 0, exported
    (root / "subjects.txt").write_text("\n".join(subjects) + "\n", encoding="utf-8")
    return spec, root, env, subjects


def _normal(value) -> str:
    from traitctl.output import to_jsonable

    return MISSING if value is MISSING else json.dumps(to_jsonable(value), sort_keys=True)


def _compare_config(spec, root, env, keys=None) -> tuple[int, list, list]:
    from traitctl.runtime import TraitConfig

    queries = [q for q in spec.queries() if keys is None or q[1] in keys]
    text = "".join(json.dumps(dict(zip(("trait", "key", "model", "tenant"), q))) + "\n" for q in queries)
    result = run_cli("config", "get", "--batch", "-", cwd=root, env=_clean_env(env), input=text)
    assert result.exit_code == 0, result
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(queries)
    runtimes = {"toml": TraitConfig.load(spec.config, environ=env),
                "snapshot": TraitConfig.load(root / "snapshot.json", environ=env)}
    compared, wrong = 0, []
    for query, answer in zip(queries, answers):
        assert "error" not in answer, (query, answer)
        expected = json.dumps(answer["value"], sort_keys=True) if answer["found"] else MISSING
        for name, runtime in runtimes.items():
            got = _normal(runtime.get(*query, default=MISSING))
            compared += 1
            if got != expected:
                wrong.append((name, query, expected, got))
    return compared, wrong, answers


def test_every_config_lookup_agrees_with_the_cli(gen):
    spec, root, env, _ = gen
    compared, wrong, answers = _compare_config(spec, root, env)
    assert wrong == [], f"{len(wrong)} of {compared} disagree, e.g. {wrong[:5]}"
    assert compared == 2 * len(answers) > 60_000
    layers = {a["layer"] for a in answers}
    assert layers == {"tenant+model", "tenant", "model", "global", "default", None}  # every layer answered
    assert sum(1 for a in answers if "env" in a) > 20  # values taken from environment variables
    assert sum(1 for a in answers if not a["found"]) > 1000


def test_lookups_agree_without_the_variables_set(gen):
    spec, root, _, _ = gen
    compared, wrong, answers = _compare_config(spec, root, {}, keys={"size", "label", "active"})
    assert wrong == [] and compared == 2 * len(answers) > 10_000
    assert not any("env" in a for a in answers)


def _cli_answers(root, env, name: str, tenants: list[str]) -> dict[str, list[bool]]:
    """tenant ('' for none) -> the CLI's answers for every subject, in the subjects' order."""
    result = run_cli("flags", "eval", name, "--tenants", ",".join(tenants), "--subjects", "subjects.txt",
                     cwd=root, env=_clean_env(env))
    assert result.exit_code == 0, result
    rows: dict[str, list[bool]] = {}
    for line in result.stdout.splitlines():
        _, tenant, answer = line.rsplit("\t", 2)
        rows.setdefault(tenant, []).append(answer == "on")
    return rows


def _runtime_answers(runtime, name: str, tenant: str | None, subjects: list[str]) -> list[bool]:
    stickiness = runtime._get(name).stickiness
    if stickiness == "user":  # is_enabled(name, user, tenant), looped in C
        return list(map(runtime.is_enabled, repeat(name), subjects, repeat(tenant)))
    return [runtime.is_enabled(name, tenant=tenant, **{stickiness: s}) for s in subjects]


def test_every_flag_evaluation_agrees_with_the_cli(gen):
    from traitctl.runtime import Flags

    spec, root, env, subjects = gen
    algorithms = genconfig.algorithms()
    assert {n.rsplit("-p", 1)[0] for n in spec.flags if "-p" in n} == set(algorithms)
    tenants = ["-"] + spec.flag_tenants
    with ThreadPoolExecutor(max_workers=2) as pool:
        cli = dict(zip(spec.flags, pool.map(lambda n: _cli_answers(root, env, n, tenants), spec.flags)))
    runtimes = {"toml": Flags.load(spec.config, store=f"sqlite:///{root / 'config' / '.traitctl' / 'traitctl.db'}",
                                   environ=env),
                "snapshot": Flags.load(root / "snapshot.json", environ=env)}
    compared, wrong, on = 0, [], 0
    for name, by_tenant in cli.items():
        assert sorted(by_tenant) == sorted(["", *spec.flag_tenants]), name
        for tenant, expected in by_tenant.items():
            assert len(expected) == len(subjects)
            for runtime_name, runtime in runtimes.items():
                got = _runtime_answers(runtime, name, tenant or None, subjects)
                compared += len(got)
                on += sum(got)
                if got != expected:
                    wrong += [(runtime_name, name, tenant, s, e, g)
                              for s, e, g in zip(subjects, expected, got) if e is not g]
    assert wrong == [], f"{len(wrong)} of {compared} disagree, e.g. {wrong[:5]}"
    assert compared == 2 * len(spec.flags) * len(tenants) * len(subjects)
    assert 0 < on < compared
    # the environment and the overrides really were in play
    assert 3600 < sum(cli["env-switch"][""]) < 4400  # GEN_FLAG_ON=true, GEN_FLAG_PCT=40
    assert cli["crc32-p0"][""][5] is True and cli["crc32-p100"][""][6] is False
