"""Evaluate boolean flags of a flagd definitions file with the real ``openfeature-provider-flagd``
(file resolver, in-process evaluation), whatever version the running interpreter has installed.

Run by the tests in the extra virtual environments (``.venv-flagd``: the current provider on
openfeature-flagd-core 2.x; ``.venv-flagd-legacy``: provider 0.2.x with the legacy hash).

stdin: ``{"file": PATH, "queries": [[flag, targetingKey or null, {attribute: value}], ...]}``
stdout: ``{"versions": {...}, "answers": [true/false/null, ...]}`` (null: an evaluation error).
"""

import json
import sys
import time
from importlib.metadata import version


def main() -> None:
    from openfeature import api
    from openfeature.contrib.provider.flagd import FlagdProvider
    from openfeature.contrib.provider.flagd.config import CacheType, ResolverType
    from openfeature.evaluation_context import EvaluationContext
    from openfeature.provider import ProviderStatus

    request = json.load(sys.stdin)
    provider = FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=request["file"],
                             cache=CacheType.DISABLED)
    api.set_provider(provider)
    client = api.get_client()
    deadline = time.monotonic() + 20
    while client.get_provider_status() != ProviderStatus.READY:  # the file is read on a thread
        if time.monotonic() > deadline:
            sys.exit(f"provider not ready: {client.get_provider_status()}")
        time.sleep(0.01)
    # the first answers through the OpenFeature client, all of them through the provider's resolver
    # (the client adds hooks and event plumbing, not evaluation, at ~3x the cost)
    answers = []
    for flag, key, attributes in request["queries"]:
        context = EvaluationContext(targeting_key=key, attributes=attributes)
        details = provider.resolve_boolean_details(flag, False, context)
        answers.append(None if details.error_code else details.value)
        if len(answers) <= 1000:
            through = client.get_boolean_details(flag, False, context)
            if (None if through.error_code else through.value) is not answers[-1]:
                sys.exit(f"the client and the provider disagree on {flag} for {key!r}")
    versions = {}
    for name in ("openfeature-provider-flagd", "openfeature-flagd-core", "mmh3", "cbor2"):
        try:
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - not every generation has every package
            pass
    api.shutdown()
    json.dump({"versions": versions, "answers": answers}, sys.stdout)


if __name__ == "__main__":
    main()
