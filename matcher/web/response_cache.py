"""A bounded cache of whole match responses, keyed by the exact request.

The same intake, rules and roster give the same response byte for byte (a contract of the API),
so a repeated request can be answered with the bytes already computed. One cache per worker,
per rules version: a new Matcher gets a new cache.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedResponse:
    """A serialised response and the risk signals that sent it down the safety path (logged on
    every request, cached or not)."""

    body: bytes
    triggers: tuple[str, ...]


class ResponseCache:
    """Least-recently-used responses, at most `size` of them; size 0 turns caching off."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, CachedResponse] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(*parts: bytes) -> bytes:
        """A fixed-size key for a request: a digest of its parts (no intake held as a key)."""
        digest = hashlib.sha256()
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.digest()

    def get(self, key: bytes) -> CachedResponse | None:
        """The cached response for `key`, or None."""
        if not self.size:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: bytes, response: CachedResponse) -> None:
        """Remember a response, forgetting the least recently used beyond `size`."""
        if not self.size:
            return
        with self._lock:
            self._entries[key] = response
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
