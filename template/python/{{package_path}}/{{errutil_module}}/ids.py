"""Error ids: UUIDv7 (RFC 9562), so the id a client quotes finds one report and ids sort by time.

48 bits of Unix milliseconds, the version (7) and variant (10) bits, and 74 random bits from
``os.urandom``: across a fleet logging millions of crashes a day, two ids practically never
collide (the 32-bit ids used before did, about a hundred pairs a day at a million crashes).
"""

from __future__ import annotations

import os
import time

__all__ = ["new_error_id"]


def new_error_id() -> str:
    """A new UUIDv7 in canonical lowercase form (36 characters)."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(os.urandom(16))
    raw[0:6] = (millis & 0xFFFF_FFFF_FFFF).to_bytes(6, "big")
    raw[6] = 0x70 | raw[6] & 0x0F  # version 7
    raw[8] = 0x80 | raw[8] & 0x3F  # variant 10
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
