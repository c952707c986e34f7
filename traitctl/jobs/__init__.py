"""Background jobs: the Huey queue, job records, operations and the worker (see docs/jobs.md)."""
