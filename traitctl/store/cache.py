"""The application cache in Redis, as ``traitctl cache`` and the ``caching`` health check use it.

Only commands that never block a live server: keys are found with ``SCAN MATCH … COUNT 1000``
(never ``KEYS``), read and removed in pipelined batches (``PTTL``, ``MEMORY USAGE``, ``UNLINK``:
the memory is freed in the background). Every call is timed so a benchmark can report the longest
single round trip (:attr:`CacheStore.slowest_ms`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

#: ``SCAN`` hint: keys examined per call.
SCAN_COUNT = 1000
#: keys per pipelined ``PTTL`` / ``MEMORY USAGE`` / ``UNLINK`` batch.
BATCH = 500


class CacheError(Exception):
    """The cache cannot be reached or refused a command (the message names no password)."""


class CacheStore:
    """One Redis database named by a ``redis://`` / ``rediss://`` / ``unix://`` URL.

    :param timeout: seconds to connect and for each reply.
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        import redis

        self.url = url
        try:
            self.client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        except ValueError as exc:
            raise CacheError(str(exc)) from None
        self.slowest_ms = 0.0
        self.calls = 0

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import redis

        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise CacheError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        finally:
            self.calls += 1
            self.slowest_ms = max(self.slowest_ms, (time.perf_counter() - start) * 1000)

    def ping(self) -> None:
        self._call(self.client.ping)

    def scan(self, match: str, count: int = SCAN_COUNT) -> Iterator[bytes]:
        """Every key matching the glob ``match`` (a key may repeat, as SCAN promises; callers dedupe)."""
        cursor = 0
        while True:
            cursor, keys = self._call(self.client.scan, cursor=cursor, match=match, count=count)
            yield from keys
            if cursor == 0:
                return

    def ttls(self, keys: list[bytes]) -> list[int]:
        """Milliseconds left per key (-1: no expiry, -2: gone), in batches."""
        return self._batched(keys, lambda pipe, k: pipe.pttl(k))

    def memory(self, keys: list[bytes]) -> list[int | None]:
        """``MEMORY USAGE`` per key in bytes (``None``: gone or not answered)."""
        return self._batched(keys, lambda pipe, k: pipe.memory_usage(k))

    def unlink(self, keys: list[bytes]) -> int:
        """Remove keys with ``UNLINK`` in batches; how many existed."""
        removed = 0
        for i in range(0, len(keys), BATCH):
            removed += int(self._call(self.client.unlink, *keys[i:i + BATCH]))
        return removed

    def _batched(self, keys: list[bytes], op: Any) -> list:
        out: list = []
        for i in range(0, len(keys), BATCH):
            pipe = self.client.pipeline(transaction=False)
            for key in keys[i:i + BATCH]:
                op(pipe, key)
            out += self._call(pipe.execute, raise_on_error=False)
        return [None if isinstance(v, Exception) else v for v in out]

    def probe(self, key: str, ttl_ms: int) -> tuple[bool, int]:
        """Write ``key`` with a TTL, read it back and delete it; (read back equal, TTL seen in ms)."""
        import uuid

        token = uuid.uuid4().hex
        self._call(self.client.set, key, token, px=ttl_ms)
        read = self._call(self.client.get, key)
        left = self._call(self.client.pttl, key)
        self._call(self.client.delete, key)
        return read == token.encode(), int(left)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a broken connection is not an error
            pass
