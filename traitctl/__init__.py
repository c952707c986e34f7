"""traitctl: administration tool for a Traits Management System."""

__version__ = "0.1.0"
