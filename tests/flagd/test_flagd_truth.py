"""The flagd export evaluated by the real flagd runtimes, one per generation, agrees with traitctl:
``flagd`` flags with openfeature-flagd-core 1.0 (in this environment), ``flagd-v3`` flags with the
current openfeature-provider-flagd (file resolver, flagd-core 2.x) and ``flagd-v1`` flags with
openfeature-provider-flagd 0.2.x (the legacy hash), each in its own virtual environment.

Every generation: >= 10,000 subjects x percentages 0, 1, 10, 33, 50, 99, 100 x without a tenant and
with a tenant whose settings replace the percentage, plus tenant stickiness and user overrides
with expiries; 0 disagreements. The export is valid under flagd's schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from traitctl.engine import export_flagd
from traitctl.engine import flags as engine

GENERATIONS = ("flagd-v1", "flagd", "flagd-v3")
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
FUTURE = (NOW + dt.timedelta(days=30)).isoformat().replace("+00:00", "Z")
PAST = (NOW - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")


def _snapshot(percentages, subjects) -> dict:
    flags: dict = {}
    for algorithm in GENERATIONS:
        for pct in percentages:
            # tenant acme replaces the percentage (0 <-> 100, 1 <-> 99, ...); globex switches it off
            flags[f"{algorithm}-{pct}"] = {"enabled": True, "percentage": pct, "bucketing": algorithm,
                                           "stickiness": "user", "group": None,
                                           "tenants": {"acme": {"percentage": 100 - pct},
                                                       "globex": {"enabled": False}}}
        flags[f"{algorithm}-by-tenant"] = {"enabled": True, "percentage": 50, "bucketing": algorithm,
                                           "stickiness": "tenant"}
        flags[f"{algorithm}-overrides"] = {
            "enabled": True, "percentage": 50, "bucketing": algorithm,
            "overrides": {**{s: {"on": i % 2 == 0, "expires": FUTURE} for i, s in enumerate(subjects[:200])},
                          **{s: {"on": i % 2 == 1, "expires": None} for i, s in enumerate(subjects[200:400])},
                          # expired between the export and the evaluation: flagd must ignore them
                          **{s: {"on": True, "expires": PAST} for s in subjects[400:600]}}}
    return {"schema": "traitctl.snapshot/1", "generator": "traitctl 0.1.0", "source": "config/traits.toml",
            "digest": "sha256:" + "0" * 64, "flags": flags}


def _parse(name: str, table: dict) -> engine.Flag:
    return engine.parse_flag(name, {k: v for k, v in table.items() if v is not None and k != "overrides"})


def _queries(algorithm: str, percentages, subjects) -> tuple[list, list[bool]]:
    """The flagd contexts to ask and traitctl's answer for each."""
    queries, expected = [], []
    snapshot_flags = _snapshot(percentages, subjects[:600])["flags"]
    for pct in percentages:
        name = f"{algorithm}-{pct}"
        flag = _parse(name, snapshot_flags[name])
        for tenant in (None, "acme"):
            decide = engine.compile(flag, tenant=tenant)
            attributes = {"tenant": tenant} if tenant else {}
            queries += [[name, s, attributes] for s in subjects]
            expected += [decide(s) for s in subjects]
    few = subjects[:2000]  # tenant stickiness and overrides: 2,000 subjects each
    by_tenant = _parse(f"{algorithm}-by-tenant", snapshot_flags[f"{algorithm}-by-tenant"])
    queries += [[by_tenant.name, "u-1", {"tenant": s}] for s in few]
    expected += [engine.evaluate(by_tenant, engine.Context(user="u-1", tenant=s)).on for s in few]
    table = snapshot_flags[f"{algorithm}-overrides"]
    overrides = _parse(f"{algorithm}-overrides", table)
    active = {s: o["on"] for s, o in table["overrides"].items() if o["expires"] != PAST}
    decide = engine.compile(overrides, active)
    queries += [[overrides.name, s, {}] for s in few]
    expected += [decide(s) for s in few]
    return queries, expected


@pytest.fixture(scope="module")
def exported(subjects, runtimes, tmp_path_factory):
    """The export, and each generation's answers from its real runtime (the two other
    environments run in parallel with flagd-core 1.0 here)."""
    doc, warnings = export_flagd.render(_snapshot(runtimes.percentages, subjects[:600]))
    tmp = tmp_path_factory.mktemp("flagd")
    asked = {a: _queries(a, runtimes.percentages, subjects) for a in GENERATIONS}
    running = {a: runtimes.start(a, doc, asked[a][0], tmp) for a in ("flagd-v3", "flagd-v1")}
    answers = {"flagd": _flagd_core_1(doc, asked["flagd"][0])}
    versions = {}
    for algorithm, proc in running.items():
        result = runtimes.finish(proc)
        answers[algorithm], versions[algorithm] = result["answers"], result["versions"]
    return doc, warnings, asked, answers, versions


def _flagd_core_1(doc: dict, queries: list) -> list[bool]:
    from openfeature.contrib.tools.flagd.core import FlagdCore
    from openfeature.evaluation_context import EvaluationContext

    core = FlagdCore()
    core.set_flags(json.dumps(doc))
    return [core.resolve_boolean_value(flag, False, EvaluationContext(targeting_key=key, attributes=attrs)).value
            for flag, key, attrs in queries]


@pytest.mark.parametrize("algorithm", GENERATIONS)
def test_each_generation_agrees_with_its_runtime(exported, algorithm, subjects):
    _, _, asked, answers, _ = exported
    queries, expected = asked[algorithm]
    assert len(subjects) >= 10_000 and len(queries) == len(answers[algorithm])
    wrong = [(q[0], q[1][:40], q[2], want, got) for q, want, got in zip(queries, expected, answers[algorithm])
             if got is not want]
    assert wrong == [], f"{len(wrong)} disagreements, first: {wrong[:5]}"
    # the test can tell: the share really follows the percentage
    n = len(subjects)
    on = {pct: sum(expected[2 * i * n:2 * i * n + n]) for i, pct in enumerate((0, 1, 10))}
    assert on[0] == 0 and 0 < on[1] < on[10] < len(subjects)


def test_the_runtimes_are_the_generations_named(exported):
    *_, versions = exported
    assert versions["flagd-v3"]["openfeature-flagd-core"].startswith("2.")
    assert versions["flagd-v1"]["openfeature-provider-flagd"].startswith("0.2.")
    from importlib.metadata import version

    assert version("openfeature-flagd-core").startswith("1.0")


def test_each_runtime_disagrees_with_the_other_generations(exported, subjects):
    """The generations are really different hashes: flagd-v3's runtime on a v2-style split (a
    flagd flag's export) puts other subjects on than traitctl's flagd answer."""
    _, _, asked, answers, _ = exported
    n = len(subjects)
    block = slice(4 * 2 * n, 4 * 2 * n + n)  # percentage 50, no tenant
    for ours, theirs in (("flagd", "flagd-v3"), ("flagd-v1", "flagd"), ("flagd-v3", "flagd-v1")):
        mine = asked[ours][1][block]
        other = asked[theirs][1][block]
        assert sum(a != b for a, b in zip(mine, other)) > n // 5


def test_export_is_valid_under_the_flagd_schema_and_names_the_generation(exported):
    import jsonschema
    from referencing import Registry, Resource

    doc, warnings, *_ = exported
    folder = Path(__file__).with_name("schema")
    schemas = {name: json.loads((folder / name).read_text()) for name in ("flags.json", "targeting.json")}
    # flags.json refers to "./targeting.json" (draft 7 ignores the $id beside its root $ref)
    targeting = Resource.from_contents(schemas["targeting.json"])
    registry = Registry().with_resources([(schemas["targeting.json"]["$id"], targeting),
                                          ("./targeting.json", targeting)])
    validator = jsonschema.Draft7Validator(schemas["flags.json"], registry=registry)
    errors = sorted(validator.iter_errors(doc), key=str)
    assert errors == [], errors[0].message if errors else ""
    assert doc["flags"]["flagd-v3-50"]["metadata"]["exactFor"].startswith("flagd v3: openfeature-flagd-core 2.x")
    assert doc["flags"]["flagd-v1-50"]["metadata"] == {
        "bucketing": "flagd-v1", "exactFor": "flagd v1 (legacy): Go flagd <= 0.14, openfeature-provider-flagd 0.2.x"}
    assert doc["metadata"] == {"source": "config/traits.toml", "digest": "sha256:" + "0" * 64,
                               "generator": "traitctl 0.1.0"}
    assert warnings == []
    # a bad document is caught: the schema test can fail
    broken = json.loads(json.dumps(doc))
    broken["flags"]["flagd-50"]["state"] = "ON"
    assert list(validator.iter_errors(broken))
