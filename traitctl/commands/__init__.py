"""One module per command group. A command parses options, calls one engine or store function,
turns domain errors into an exit, and renders. Register new groups in ``traitctl/cli.py:COMMANDS``."""
