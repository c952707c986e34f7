"""A project with three cached traits (cache_ttl on every layer) and three tenants, a private Redis
database with a unique key prefix per test, and real PHP for the companion's key function."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPANION = ROOT / "integrations" / "laravel" / "autoload.php"
#: a database number the rest of the suite does not use, so a whole-database SCAN sees only this area's keys.
DB = 11
TRAITS = ("Cacheable", "Searchable", "Auditable")
TENANTS = ("acme", "globex", "initech")
MODELS = tuple(f"App\\Models\\M{i:02d}" for i in range(20))

CONFIG = """\
[traitctl]
store = ""
queue = ""

[multi_tenancy]
enabled = true

[cache]
url = "{url}"
prefix = "{prefix}"

[traits.Cacheable]
cache_ttl = 600

[traits.Searchable]
cache_ttl = 300

[traits.Auditable]
level = "full"

[models.'App\\Models\\M01'.Cacheable]
cache_ttl = 900

[models.'App\\Models\\M02'.Auditable]
cache_ttl = 120

[tenants.acme]
name = "Acme"

[tenants.acme.traits.Cacheable]
cache_ttl = 60

[tenants.acme.models.'App\\Models\\M01'.Cacheable]
cache_ttl = 30

[tenants.globex]
name = "Globex"

[tenants.globex.traits.Searchable]
cache_ttl = 45

[tenants.globex.traits.Auditable]
cache_ttl = 75

[tenants.initech]
name = "Initech"
"""


@pytest.fixture
def redis_db(redis_url):
    """(URL of the private database, a client of it, a unique prefix); the prefix's keys are removed after."""
    import redis

    base = redis_url.rsplit("/", 1)[0]
    url = f"{base}/{DB}"
    client = redis.Redis.from_url(url)
    prefix = f"t{uuid.uuid4().hex[:10]}_cache_"
    yield url, client, prefix
    keys = list(client.scan_iter(match="*" + prefix + "*", count=1000))  # other_<prefix> look-alikes too
    if keys:
        client.unlink(*keys)
    client.close()


@pytest.fixture
def cache_project(tmp_path: Path, redis_db):
    url, client, prefix = redis_db
    config = tmp_path / "config"
    config.mkdir()
    (config / "traits.toml").write_text(CONFIG.format(url=url, prefix=prefix))
    return tmp_path, url, client, prefix


@pytest.fixture
def php():
    found = shutil.which("php")
    if found is None:
        message = "php is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_php(php: str, workdir: Path, body: str) -> str:
    script = workdir / "script.php"
    script.write_text(f"<?php\ndeclare(strict_types=1);\nrequire {str(COMPANION)!r};\n{body}")
    proc = subprocess.run([php, "-d", "error_reporting=E_ALL", "-d", "display_errors=stderr", str(script)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr[-3000:]
    return proc.stdout
