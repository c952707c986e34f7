"""Persistence: the database store (peewee; SQLite by default, PostgreSQL to scale out) and
TOML file access. Nothing here prints or exits; errors are raised as ``TraitctlError``."""
