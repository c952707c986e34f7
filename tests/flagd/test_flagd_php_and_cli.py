"""``Traitctl\\FlagdHash`` (real PHP) and ``traitctl flags eval --subjects`` give the engine's
answers for the three flagd generations, and the CLI agrees with the generation's real runtime."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from traitctl.engine import flags as engine

ROOT = Path(__file__).resolve().parents[2]
FLAGD_HASH = ROOT / "integrations" / "laravel" / "src" / "FlagdHash.php"
ALGORITHMS = ("flagd-v1", "flagd", "flagd-v3")
#: a name of 30 bytes: its CBOR text header is 2 bytes (the short names' is 1)
FLAGS = ("new-checkout", "a-rather-long-flag-name-é-30b")

PHP_SCRIPT = r"""<?php
require $argv[1];
$request = json_decode(stream_get_contents(STDIN), true);
$out = [];
foreach ($request['cases'] as [$algorithm, $flag, $stickiness, $pct]) {
    $line = '';
    foreach ($request['subjects'] as $s) {
        $line .= \Traitctl\FlagdHash::inRollout($algorithm, $flag, $s, $pct, $stickiness) ? '1' : '0';
    }
    $buckets = [];
    foreach (array_slice($request['subjects'], 0, 500) as $s) {
        $buckets[] = \Traitctl\FlagdHash::bucket($algorithm, $flag, $s, $stickiness);
    }
    $out[] = ['answers' => $line, 'buckets' => $buckets];
}
echo json_encode($out);
"""


def _php() -> str:
    php = shutil.which("php")
    if php is None:
        if os.environ.get("CI") == "true":
            pytest.fail("php is not installed")
        pytest.skip("php is not installed")
    return php


def test_php_flagd_hash_agrees_with_the_engine(subjects, runtimes, tmp_path):
    php = _php()
    script = tmp_path / "flagd_hash.php"
    script.write_text(PHP_SCRIPT)
    cases = [[a, f, st, p] for a in ALGORITHMS for f in FLAGS for st in ("user", "tenant")
             for p in runtimes.percentages]
    proc = subprocess.run([php, "-d", "memory_limit=1G", str(script), str(FLAGD_HASH)], capture_output=True,
                          input=json.dumps({"subjects": subjects, "cases": cases}), text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert len(subjects) >= 10_000 and any(len(s.encode()) == 65536 for s in subjects)
    for (algorithm, name, stickiness, pct), result in zip(cases, results, strict=True):
        flag = engine.Flag(name, enabled=True, percentage=pct, bucketing=algorithm, stickiness=stickiness)
        decide = engine.compile(flag)
        ours = "".join("1" if decide(s) else "0" for s in subjects)
        wrong = [s[:30] for s, a, b in zip(subjects, ours, result["answers"]) if a != b]
        assert wrong == [], f"{algorithm} {name} {stickiness} {pct}%: {len(wrong)} differ, e.g. {wrong[:3]}"
        buckets = [engine.bucket(algorithm, name, s, stickiness=stickiness) for s in subjects[:500]]
        assert result["buckets"] == buckets


def test_php_rejects_an_unknown_algorithm(tmp_path):
    php = _php()
    script = tmp_path / "bad.php"
    script.write_text("<?php require $argv[1]; try { \\Traitctl\\FlagdHash::bucket('crc32', 'f', '1'); }"
                      " catch (\\InvalidArgumentException $e) { echo $e->getMessage(); }")
    proc = subprocess.run([php, str(script), str(FLAGD_HASH)], capture_output=True, text=True, timeout=60)
    assert proc.stdout == "Unknown flagd bucketing algorithm 'crc32': use flagd-v1, flagd or flagd-v3."


def test_flags_eval_subjects_agrees_with_the_flagd_runtimes(cli, project, subjects, runtimes, tmp_path):
    """One ``flags eval --subjects`` per generation (10,000+ subjects, tenant settings applied),
    against the export of the same flags evaluated by that generation's runtime."""
    names = {}
    for algorithm in ALGORITHMS:
        name = f"cli-{algorithm}"
        names[algorithm] = name
        made = cli("flags", "create", name, "--enable", "--bucketing", algorithm, "-p", "33")
        assert made.exit_code == 0, made
        assert cli("flags", "set", name, "--tenant", "acme", "-p", "71").exit_code == 0
    ids = [s for s in subjects if len(s) < 300]  # the long edges are covered by the truth tests
    (project / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    exported = cli("flags", "export", "--format", "flagd", "--allow-lossy")  # the example's crc32 flags
    assert exported.exit_code == 0, exported
    doc = json.loads(exported.stdout)
    queries = [[names[a], s, {"tenant": "acme"}] for a in ALGORITHMS for s in ids]
    running = {a: runtimes.start(a, doc, [q for q in queries if q[0] == names[a]], tmp_path)
               for a in ("flagd-v1", "flagd-v3")}
    answers = {"flagd": _flagd_core_1(doc, [q for q in queries if q[0] == names["flagd"]])}
    for algorithm, proc in running.items():
        answers[algorithm] = runtimes.finish(proc)["answers"]
    for algorithm in ALGORITHMS:
        ours = cli("flags", "eval", names[algorithm], "--tenant", "acme", "--subjects", "ids.txt")
        assert ours.exit_code == 0, ours
        theirs = [f"{s}\t{'on' if v else 'off'}" for s, v in zip(ids, answers[algorithm])]
        lines = ours.stdout.splitlines()
        assert len(lines) == len(ids) >= 10_000
        wrong = [(a, b) for a, b in zip(lines, theirs) if a != b]
        assert wrong == [], f"{algorithm}: {len(wrong)} differ, e.g. {wrong[:3]}"
        assert 0.6 < sum(line.endswith("\ton") for line in lines) / len(lines) < 0.8  # tenant acme: 71 %


def _flagd_core_1(doc: dict, queries: list) -> list[bool]:
    from openfeature.contrib.tools.flagd.core import FlagdCore
    from openfeature.evaluation_context import EvaluationContext

    core = FlagdCore()
    core.set_flags(json.dumps(doc))
    return [core.resolve_boolean_value(flag, False, EvaluationContext(targeting_key=key, attributes=attrs)).value
            for flag, key, attrs in queries]
