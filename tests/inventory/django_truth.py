"""The runtime truth of a Django code base, for the static inventory to equal (run by the tests in
the ``.venv-django`` environment, never by traitctl).

    python django_truth.py SYS_PATH PACKAGE [APP ...]

puts SYS_PATH first on ``sys.path``, configures Django with the contrib apps it needs plus the
APPs, runs ``django.setup()``, imports every module of PACKAGE (tests and migrations excluded),
and prints one JSON object: ``models`` ({FQN: {"abstract", "proxy", "swappable"}}, from
``_meta``), ``pairs`` ([[model, mixin]], from ``__mro__``) and ``failed`` (modules that could not
be imported, with the reason). FQN is ``__module__`` + ``.`` + ``__qualname__``.

A (model, mixin) pair is a class in the model's ``__mro__`` below ``django.db.models.Model`` that
is not a model (a plain mixin), or a model named ``*Mixin``/``*Trait`` (an abstract model used as
a mixin); ``object``, ``Generic``, ``ABC`` and ``Protocol`` are no mixins.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

NOT_TRAITS = {"builtins.object", "typing.Generic", "abc.ABC", "typing.Protocol", "typing_extensions.Protocol"}
CONTRIB = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
           "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites",
           "django.contrib.flatpages", "django.contrib.redirects", "django.contrib.sitemaps",
           "django.contrib.humanize", "django.contrib.admindocs", "django.contrib.syndication"]


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def main(path: str, package: str, apps: list[str]) -> dict:
    import ctypes.util
    import functools

    # GDAL's loader asks for the library again on every import of a django.contrib.gis module; each
    # question runs ldconfig/gcc. The answer does not change within one run.
    ctypes.util.find_library = functools.lru_cache(maxsize=None)(ctypes.util.find_library)
    sys.path.insert(0, path)
    import django
    from django.conf import settings

    installed = list(dict.fromkeys(CONTRIB + apps))
    # Without GDAL/GEOS, make django.contrib.gis fail at once instead of searching again per module.
    missing = {f"{lib.upper()}_LIBRARY_PATH": f"/nonexistent/lib{lib}.so" for lib in ("gdal", "geos")
               if ctypes.util.find_library(lib) is None}
    settings.configure(**missing, INSTALLED_APPS=installed, DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                                                                        "NAME": ":memory:"}},
                       DEFAULT_AUTO_FIELD="django.db.models.AutoField", SITE_ID=1, USE_TZ=True,
                       STATIC_URL="/static/", SECRET_KEY="truth", ROOT_URLCONF=None,
                       TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}])
    django.setup()
    from django.db import models

    failed = {}
    folder = Path(path, *package.split("."))
    for file in sorted(folder.rglob("*.py")):
        parts = [package, *file.relative_to(folder).with_suffix("").parts]
        if "tests" in parts or "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - an optional dependency (GDAL, psycopg) is missing
            failed[name] = f"{type(exc).__name__}: {exc}"[:200]
    found, todo = {}, [models.Model]
    while todo:
        for sub in todo.pop().__subclasses__():
            if _name(sub) not in found:
                found[_name(sub)] = sub
                todo.append(sub)
    base = set(models.Model.__mro__)
    out, pairs = {}, []
    for name, cls in sorted(found.items()):
        module = cls.__module__
        if not (module == package or module.startswith(package + ".")) or {"tests", "migrations"} & set(module.split(".")):
            continue
        if module in failed:  # classes made before the import failed: the module is not importable
            continue
        meta = cls._meta
        if meta.auto_created:  # a many-to-many table Django makes (no class in the code)
            continue
        out[name] = {"abstract": bool(meta.abstract), "proxy": bool(meta.proxy), "swappable": bool(meta.swappable)}
        for other in cls.__mro__[1:]:
            if other in base or _name(other) in NOT_TRAITS:
                continue
            if not issubclass(other, models.Model) or other.__name__.endswith(("Mixin", "Trait")):
                pairs.append([name, _name(other)])
    return {"models": out, "pairs": sorted(pairs), "failed": failed}


if __name__ == "__main__":
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3:]), indent=1, sort_keys=True))
