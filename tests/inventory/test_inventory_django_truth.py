"""The static inventory of Django code equals the runtime truth (``django_truth.py`` run in the
``.venv-django`` environment: the code imported under ``django.setup()``, ``__mro__``/``_meta``
read). Three code bases: the fixture app tests/fixtures/inventory/djapp, Django's own
``django/contrib`` from the wheel ``pip download`` fetches, and Wagtail as installed there (tests
and migrations excluded).

``.venv-django`` (``TRAITCTL_TEST_DJANGO_PY``: its interpreter) is made by ``.ci/run``. Missing,
the tests skip, except under ``CI=true`` where they fail. traitctl itself never imports any of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from traitctl.scan import python_env_libraries, scan

ROOT = Path(__file__).resolve().parents[2]
TRUTH = Path(__file__).with_name("django_truth.py")
DJAPP = ROOT / "tests" / "fixtures" / "inventory" / "djapp"


@pytest.fixture(scope="module")
def django_python() -> Path:
    path = Path(os.environ.get("TRAITCTL_TEST_DJANGO_PY") or ROOT / ".venv-django" / "bin" / "python")
    if not path.exists():
        message = f"{path} is missing (Django for the runtime truth): run .ci/run, or set TRAITCTL_TEST_DJANGO_PY."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _truth(python: Path, sys_path: Path, package: str, *apps: str) -> dict:
    out = subprocess.run([str(python), str(TRUTH), str(sys_path), package, *apps], capture_output=True,
                         text=True, timeout=120, cwd=sys_path,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})  # no __pycache__ in fixtures
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _static(inv, package: str, failed: set[str]) -> dict:
    """The inventory's Django models below ``package`` (modules the runtime could not import left
    out), in the truth's shape."""
    models = [m for m in inv.models if m.kind == "django" and m.fqn.startswith(package + ".")
              and not {"tests", "migrations"} & set(m.fqn.split("."))
              and not any(m.fqn.startswith(f + ".") and "." not in m.fqn[len(f) + 1:] for f in failed)]
    return {"models": {m.fqn: {"abstract": m.abstract, "proxy": m.proxy, "swappable": m.swappable} for m in models},
            "pairs": sorted([m.fqn, t] for m in models for t in m.traits)}


def _env_root(python: Path) -> Path:
    return python.parent.parent


def test_fixture_app_equals_the_runtime(django_python):
    truth = _truth(django_python, DJAPP, "djshop", "djshop")
    assert truth["failed"] == {} and len(truth["models"]) == 12 and len(truth["pairs"]) == 11
    stats: dict = {}
    inv = scan([DJAPP / "djshop"], libraries=python_env_libraries(_env_root(django_python)), stats=stats)
    assert _static(inv, "djshop", set()) == {"models": truth["models"], "pairs": truth["pairs"]}
    # Django itself came in as a library, read only as far as needed, and is not listed as the app's.
    assert 0 < stats["library_files"] < 60
    assert not [c for c in inv.classes if not c.fqn.startswith("djshop.")]
    assert "djshop" not in sys.modules  # parsed, never imported
    # Without the library, a pair that comes from Django's own AbstractUser cannot be known.
    alone = _static(scan([DJAPP / "djshop"]), "djshop", set())
    assert alone["models"] == truth["models"]
    assert set(map(tuple, truth["pairs"])) - set(map(tuple, alone["pairs"])) == {
        ("djshop.models.people.Account", "django.contrib.auth.models.PermissionsMixin")}


@pytest.fixture(scope="module")
def django_wheel(django_python, tmp_path_factory) -> Path:
    """``django/contrib`` of the wheel of the Django version the environment holds, unpacked."""
    version = subprocess.run([str(django_python), "-c", "import importlib.metadata as m; print(m.version('Django'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    folder = tmp_path_factory.mktemp("django-wheel")
    got = subprocess.run([str(django_python), "-m", "pip", "download", "-q", "--no-deps", f"Django=={version}",
                          "-d", str(folder)], capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    wheel = next(folder.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder / "unpacked")
    return folder / "unpacked"


def test_django_contrib_equals_the_runtime(django_python, django_wheel):
    truth = _truth(django_python, django_wheel, "django.contrib")
    failed = set(truth["failed"])  # GDAL (django.contrib.gis) when the library is not installed
    assert not [m for m in failed if not m.startswith("django.contrib.gis.")], truth["failed"]
    inv = scan([django_wheel / "django" / "contrib"], libraries=[django_wheel])
    static = _static(inv, "django.contrib", failed)
    assert static == {"models": truth["models"], "pairs": truth["pairs"]}
    assert {"django.contrib.auth.models.PermissionsMixin", "django.contrib.auth.models.User"} <= set(static["models"])
    # The spatial models, when the runtime could not import them: what the code says.
    gis = {m.fqn.rsplit(".", 1)[1]: m.traits for m in inv.models if ".gis." in m.fqn}
    assert len(gis) == 6 and gis["PostGISSpatialRefSys"] == (
        "django.contrib.gis.db.backends.base.models.SpatialRefSysMixin",)


WAGTAIL_APPS = ("wagtail.contrib.forms", "wagtail.contrib.redirects", "wagtail.contrib.settings",
                "wagtail.contrib.search_promotions", "wagtail.contrib.routable_page",
                "wagtail.contrib.simple_translation", "wagtail.contrib.table_block",
                "wagtail.contrib.typed_table_block", "wagtail.embeds", "wagtail.sites", "wagtail.users",
                "wagtail.snippets", "wagtail.documents", "wagtail.images", "wagtail.search", "wagtail.admin",
                "wagtail.locales", "wagtail", "modelcluster", "taggit")


def test_wagtail_equals_the_runtime(django_python):
    """A large Django CMS: abstract models named *Mixin everywhere (draft state, locking, revisions,
    translations), `Page.__module__` renamed, namespace packages, bases from taggit/modelcluster."""
    site_packages = python_env_libraries(_env_root(django_python))
    wagtail = [p / "wagtail" for p in site_packages if (p / "wagtail" / "__init__.py").is_file()]
    if not wagtail:
        message = f"wagtail is not installed in {_env_root(django_python)}: run .ci/run."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    truth = _truth(django_python, wagtail[0].parent, "wagtail", *WAGTAIL_APPS)
    assert len(truth["models"]) > 200 and len(truth["pairs"]) > 800
    inv = scan([wagtail[0]], libraries=site_packages)
    static = _static(inv, "wagtail", set(truth["failed"]))
    assert static == {"models": truth["models"], "pairs": truth["pairs"]}
