"""Moved to :mod:`traitctl.runtime.telemetry`; this name stays an alias of that module."""

import sys

from traitctl.runtime import telemetry as _telemetry

sys.modules[__name__] = _telemetry
