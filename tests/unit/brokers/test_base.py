"""What both brokers share: where a key's events go, by Kafka's murmur2 rule."""

from __future__ import annotations

from eda_lib.brokers import partition_for_key


def test_murmur2_partitioning_matches_kafkas_test_vectors() -> None:
    # Signed 32-bit murmur2 values from Kafka's own Java tests, and the partition they imply.
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"abc": 479470107,
    }
    for key, signed in vectors.items():
        assert partition_for_key(key, 10) == (signed & 0x7FFFFFFF) % 10
