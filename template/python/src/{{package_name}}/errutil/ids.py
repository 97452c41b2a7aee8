"""Error ids: UUIDv7 (RFC 9562), so the id a client quotes finds one report and ids sort by time.

48 bits of Unix milliseconds, the version (7) and variant (10) bits, and 74 random bits from
``os.urandom``: across a fleet logging millions of crashes a day, two ids practically never
collide (the 32-bit ids used before did, about a hundred pairs a day at a million crashes).
"""

from __future__ import annotations

import os
import time

__all__ = ["new_error_id"]

_RAND_B_MASK = (1 << 62) - 1


def new_error_id() -> str:
    """A new UUIDv7 in canonical lowercase form (36 characters)."""
    millis = time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b
    value = millis << 80 | 0x7 << 76 | (rand >> 68) << 64 | 0b10 << 62 | (rand & _RAND_B_MASK)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
