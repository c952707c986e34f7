"""``FeatureFlags::isEnabled`` asked about ever new flag names that the file does not define (say
names built from user input) answers off and remembers nothing: its memory stays flat. Real PHP."""

from __future__ import annotations

import json

BODY = r"""
$config = ['@traitctl' => ['format' => 1, 'overrides' => [], 'flags' => [
    'on' => ['enabled' => true],
    'half' => ['enabled' => true, 'percentage' => 50],
    'by_tenant' => ['enabled' => true, 'percentage' => 0, 'tenants' => ['acme' => ['enabled' => true, 'percentage' => 100]]],
]]];
$flags = new Traitctl\FeatureFlags($config);
$seeds = new Traitctl\FeatureFlags(['features' => ['old' => true], 'percentages' => []]);
$known = static fn (Traitctl\FeatureFlags $f): array => [
    $f->isEnabled('on', 'u-1'), $f->isEnabled('by_tenant', 'u-1', 'acme'), $f->isEnabled('by_tenant', 'u-1'),
];
$first = $known($flags);
$half = array_sum(array_map(fn ($i) => (int) $flags->isEnabled('half', "u-$i"), range(1, 2000)));
$warm = [$flags->isEnabled('never-defined', 'u-1'), $seeds->isEnabled('never-defined', 'u-1')];
gc_collect_cycles();
$before = memory_get_usage();
$on = 0;
for ($i = 0; $i < 100000; $i++) {
    $on += (int) $flags->isEnabled("unknown-$i", "u-$i", $i % 2 ? "tenant-$i" : null);
    $on += (int) $seeds->isEnabled("unknown-$i", "u-$i");
}
gc_collect_cycles();
$grown = memory_get_usage() - $before;
echo json_encode(['grown' => $grown, 'on' => $on, 'warm' => $warm, 'first' => $first,
                  'again' => $known($flags), 'half' => $half, 'seed_old' => $seeds->isEnabled('old', 'u-1')]);
"""


def test_unknown_flag_names_are_off_and_not_remembered(php_kit):
    doc = json.loads(php_kit.run(BODY))
    assert doc["on"] == 0 and doc["warm"] == [False, False]
    # 200,000 distinct unknown names: remembered, they took tens of megabytes; now nothing stays
    assert doc["grown"] < 64 * 1024, doc
    assert doc["first"] == doc["again"] == [True, True, False]
    assert 800 < doc["half"] < 1200, doc  # the known flags still bucket
    assert doc["seed_old"] is True
