"""Pure logic: no I/O, no clock, no environment. Callers pass time, files' contents and settings in."""
