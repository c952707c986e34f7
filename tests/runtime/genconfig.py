"""A generated configuration for the runtime truth tests and bench/runtime.py: about 50 traits x 5 keys
with schemas, 300 models with overrides, 40 tenants (half of them in tenants/<id>.toml) with tenant
and tenant+model overrides, keys with dots (literal and nested), dates, ``env`` values, and one flag
per bucketing algorithm x percentage (some with tenant settings and other stickiness).

Deterministic (seeded). Import it (``tests/runtime`` on ``sys.path``) or run it::

    python tests/runtime/genconfig.py OUT_DIR      # writes OUT_DIR/config/traits.toml (+ tenants/)

Example usage::

    project = genconfig.write(tmp_path)            # -> Spec (paths, names, queries, env)
    for trait, key, model, tenant in project.queries(): ...
"""

from __future__ import annotations

import random
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

UNCONFIGURED = "App\\Models\\Unconfigured"
PERCENTAGES = (0, 1, 10, 33, 50, 99, 100)
KEYS = ("size", "label", "active", "mail.from", "limits")  # 'mail.from' is a literal dotted key
#: query keys per trait: the five keys plus nested paths into 'limits' and a key no layer sets.
QUERY_KEYS = KEYS + ("limits.max", "limits.deep.x", "since", "missing")
#: environment variables the generator names; the truth test sets those in ENV_SET.
ENV_VALUES = {"GEN_SIZE_A": "123", "GEN_LABEL_B": "'quoted'", "GEN_ACTIVE_C": "(false)", "GEN_LABEL_D": "null",
              "GEN_ACTIVE_E": "TRUE", "GEN_LABEL_F": "empty", "GEN_SIZE_G": "7"}
ENV_UNSET = ("GEN_SIZE_UNSET", "GEN_LABEL_UNSET")
FLAG_ENV = {"GEN_FLAG_ON": "true", "GEN_FLAG_PCT": "40"}  # GEN_FLAG_T0 left unset


@dataclass
class Spec:
    """What was generated: where, and the names the queries range over."""

    root: Path
    config: Path
    traits: list[str]
    models: list[str]
    tenants: list[str]
    flags: list[str]
    #: trait -> models with an override of it anywhere; trait -> tenants overriding it
    trait_models: dict[str, set[str]] = field(default_factory=dict)
    trait_tenants: dict[str, set[str]] = field(default_factory=dict)
    #: trait -> (model, tenant) pairs with a tenant+model override
    trait_pairs: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    flag_tenants: list[str] = field(default_factory=list)

    def contexts(self, trait: str) -> list[tuple[str | None, str | None]]:
        """The distinct (model, tenant) situations of ``trait``: none; an unconfigured model; each model
        overriding it, alone and with a tenant overriding the trait; each such tenant, alone and with
        an unconfigured model; each tenant+model override. Every other combination resolves as one of
        these (its layers are the same)."""
        tenants = sorted(self.trait_tenants.get(trait, ()))
        found = {(None, None), (UNCONFIGURED, None), (None, self.tenants[-1])}
        for index, model in enumerate(sorted(self.trait_models.get(trait, ()))):
            found |= {(model, None), (model, tenants[index % len(tenants)] if tenants else None)}
        for tenant in tenants:
            found |= {(None, tenant), (UNCONFIGURED, tenant)}
        found |= self.trait_pairs.get(trait, set())
        return sorted(found, key=lambda c: (c[0] or "", c[1] or ""))

    def queries(self):
        """Every (trait, key, model, tenant) of :meth:`contexts` x :data:`QUERY_KEYS`."""
        for trait in self.traits:
            for model, tenant in self.contexts(trait):
                for key in QUERY_KEYS:
                    yield trait, key, model, tenant


def _q(key: str) -> str:
    return f'"{key}"' if "." in key or "\\" in key else key


def _value(rng: random.Random, key: str) -> str:
    if key == "size":
        return str(rng.randint(1, 1000))
    if key == "label":
        return f'"{rng.choice(["alpha", "béta", "γάμμα", "x y", "dots.in.value"])}-{rng.randint(0, 99)}"'
    if key == "active":
        return rng.choice(["true", "false"])
    if key == "mail.from":
        return f'"user{rng.randint(0, 9)}@example.com"'
    if key == "since":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return "{ max = %d, deep = { x = %d } }" % (rng.randint(1, 50), rng.randint(1, 9)) if rng.random() < 0.7 \
        else "{ min = %d }" % rng.randint(1, 5)


def _env_names(kind: str) -> list[str]:
    names = {"size": ["GEN_SIZE_A", "GEN_SIZE_G", "GEN_SIZE_UNSET"],
             "label": ["GEN_LABEL_B", "GEN_LABEL_D", "GEN_LABEL_F", "GEN_LABEL_UNSET"],
             "active": ["GEN_ACTIVE_C", "GEN_ACTIVE_E"]}
    return names[kind]


def _settings(rng: random.Random, header: str, keys: list[str]) -> list[str]:
    lines = [f"[{header}]"]
    lines += [f"{_q(k)} = {_value(rng, k)}" for k in keys]
    env = {k: rng.choice(_env_names(k)) for k in keys if k in ("size", "label", "active") and rng.random() < 0.15}
    if env:
        lines.append("env = { " + ", ".join(f'{k} = "{v}"' for k, v in env.items()) + " }")
    return lines + [""]


def write(root: Path, *, traits: int = 50, models: int = 300, tenants: int = 40, seed: int = 11) -> Spec:
    """Write ``root/config/traits.toml`` and ``root/config/tenants/*.toml``; return the :class:`Spec`."""
    rng = random.Random(seed)
    config_dir = root / "config"
    (config_dir / "tenants").mkdir(parents=True, exist_ok=True)
    trait_names = [f"Trait{i:02d}" for i in range(traits)]
    model_names = [f"App\\Models\\M{i:03d}" for i in range(models)]
    tenant_ids = [f"t{i:02d}" for i in range(tenants)]
    spec = Spec(root, config_dir / "traits.toml", trait_names, model_names, tenant_ids, [])
    out = ["[multi_tenancy]", "enabled = true", 'column = "tenant_id"', "tenant_model = 'App\\Models\\Tenant'", ""]
    for trait in trait_names:
        out += _settings(rng, f"traits.{trait}", rng.sample(list(KEYS), rng.randint(1, 4)))
        out += [f"[traits.{trait}.schema]",
                'size = { type = "integer", default = 10, min = 0 }',
                'label = { type = "string", default = "none" }',
                'active = { type = "boolean" }',
                '"mail.from" = { type = "string", default = "noreply@example.com" }',
                'limits = { type = "table", default = { max = 1 } }',
                'since = { type = "datetime", default = 2026-01-01 }', ""]
    for model in model_names:
        for trait in rng.sample(trait_names, 5):
            spec.trait_models.setdefault(trait, set()).add(model)
            out += _settings(rng, f"models.'{model}'.{trait}", rng.sample(list(KEYS) + ["since"], rng.randint(1, 3)))
    in_main: list[str] = []
    for index, tenant in enumerate(tenant_ids):
        body = _tenant_body(rng, spec, tenant, trait_names, model_names)
        if index % 2:
            (config_dir / "tenants" / f"{tenant}.toml").write_text(f'name = "Tenant {tenant}"\n\n' + "\n".join(body),
                                                                   encoding="utf-8")
        else:
            in_main += [f"[tenants.{tenant}]", f'name = "Tenant {tenant}"', ""]
            in_main += [line.replace("[traits.", f"[tenants.{tenant}.traits.").replace(
                "[models.", f"[tenants.{tenant}.models.") for line in body]
    out += in_main
    out += _flags(spec)
    spec.config.write_text("\n".join(out) + "\n", encoding="utf-8")
    return spec


def _tenant_body(rng: random.Random, spec: Spec, tenant: str, traits: list[str], models: list[str]) -> list[str]:
    body: list[str] = []
    for trait in rng.sample(traits, 4):
        spec.trait_tenants.setdefault(trait, set()).add(tenant)
        body += _settings(rng, f"traits.{trait}", rng.sample(list(KEYS), rng.randint(1, 3)))
    for _ in range(6):
        trait = rng.choice(traits)
        model = rng.choice(sorted(spec.trait_models.get(trait, ())) or models)
        spec.trait_tenants.setdefault(trait, set()).add(tenant)
        spec.trait_models.setdefault(trait, set()).add(model)
        spec.trait_pairs.setdefault(trait, set()).add((model, tenant))
        header = f"models.'{model}'.{trait}"
        if any(line == f"[{header}]" for line in body):
            continue
        body += _settings(rng, header, rng.sample(list(KEYS), rng.randint(1, 3)))
    return body


def algorithms() -> tuple[str, ...]:
    from traitctl.engine.flags import ALGORITHMS

    return tuple(ALGORITHMS)


def _flags(spec: Spec) -> list[str]:
    out: list[str] = []
    spec.flag_tenants = [spec.tenants[0], spec.tenants[1], spec.tenants[2]]
    for algorithm in algorithms():
        for pct in PERCENTAGES:
            name = f"{algorithm}-p{pct}"
            spec.flags.append(name)
            out += [f"[flags.{name}]", "enabled = true", f"percentage = {pct}", f'bucketing = "{algorithm}"', ""]
            # a tenant with other settings, one switched off, one left on the global settings
            other = (pct + 37) % 101
            out += [f"[flags.{name}.tenants.{spec.tenants[0]}]", f"percentage = {other}", ""]
            out += [f"[flags.{name}.tenants.{spec.tenants[1]}]", "enabled = false", ""]
    extra = {
        '"Feature.flexibleRollout.10"': ["enabled = true", "percentage = 10", 'bucketing = "crc32-seed"'],
        "env-switch": ["enabled = false", "percentage = 25", 'env = { enabled = "GEN_FLAG_ON", percentage = "GEN_FLAG_PCT" }'],
        "attr-sticky": ["enabled = true", "percentage = 50", 'stickiness = "account"'],
        "unleash-group": ["enabled = true", "percentage = 30", 'bucketing = "unleash"', 'group = "shared"'],
    }
    for name, lines in extra.items():
        spec.flags.append(name.strip('"'))
        out += [f"[flags.{name}]", *lines, ""]
    out += [f"[flags.attr-sticky.tenants.{spec.tenants[0]}]", "percentage = 80", "",
            f"[flags.env-switch.tenants.{spec.tenants[0]}]", "percentage = 5", 'env = { percentage = "GEN_FLAG_T0"}', ""]
    return out


def subjects(count: int = 10_000, seed: int = 7) -> list[str]:
    """Subject ids of every shape: integers, words, UUIDs, e-mail addresses, non-ASCII."""
    rng = random.Random(seed)
    words = ["ann", "Bob", "zoë", "Øyvind", "山田", "مريم", "naïve", "x"]
    out = []
    for i in range(count):
        kind = i % 5
        if kind == 0:
            out.append(str(rng.randint(0, 10**9)))
        elif kind == 1:
            out.append(f"{rng.choice(words)}-{i}")
        elif kind == 2:
            out.append(str(uuid.UUID(int=rng.getrandbits(128))))
        elif kind == 3:
            out.append(f"{rng.choice(words).lower()}.{i}@example.{rng.choice(['com', 'org', 'de'])}")
        else:
            out.append(rng.choice(words) + rng.choice(["", " ", "\u00e9"]) + str(i))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/runtime/genconfig.py OUT_DIR")
    made = write(Path(sys.argv[1]))
    print(made.config)
