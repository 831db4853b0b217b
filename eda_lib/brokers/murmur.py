"""Kafka's murmur2 hash, which its default partitioner applies to a message key.

The same function as the Java client's `Utils.murmur2` (and aiokafka's), but reading the key four
bytes at a time with one `struct` call instead of indexing byte by byte: about twice as fast in
pure Python, and a producer hashes every key it sends.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_SEED = 0x9747B28C
_MIX = 0x5BD1E995  # murmur2's multiplier (`m` in the reference)
_WORD = 0xFFFFFFFF  # arithmetic is on unsigned 32-bit words: mask after every multiplication

# Little-endian word readers by word count, made once for the short keys that are the rule.
_READERS: list[Callable[[bytes], tuple[int, ...]]] = [
    struct.Struct(f"<{words}I").unpack_from for words in range(33)
]


def murmur2(data: bytes) -> int:
    """The 32-bit murmur2 hash of `data`, as an unsigned int (Kafka's Java code returns the same
    bits as a signed int; the partitioner clears the sign bit either way)."""
    length = len(data)
    h = _SEED ^ length
    words = length >> 2
    read = _READERS[words] if words < len(_READERS) else struct.Struct(f"<{words}I").unpack_from
    for k in read(data):
        k = (k * _MIX) & _WORD
        h = ((h * _MIX) & _WORD) ^ (((k ^ (k >> 24)) * _MIX) & _WORD)
    tail = length & 3
    if tail:
        end = length - tail
        if tail == 3:
            h ^= data[end + 2] << 16
        if tail >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * _MIX) & _WORD
    h = ((h ^ (h >> 13)) * _MIX) & _WORD
    return h ^ (h >> 15)
