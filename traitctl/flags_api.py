"""Moved to :mod:`traitctl.runtime.flags`; this name stays an alias of that module."""

import sys

from traitctl.runtime import flags as _flags

sys.modules[__name__] = _flags
