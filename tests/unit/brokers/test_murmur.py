"""Our murmur2 against two oracles: Kafka's own test vectors, and aiokafka's implementation."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from eda_lib.core.broker import murmur2


def test_the_hash_of_kafkas_test_vectors() -> None:
    # Signed 32-bit values from Kafka's Java tests (Utils.murmur2); ours gives the same bits.
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for key, signed in vectors.items():
        assert murmur2(key) == signed & 0xFFFFFFFF, key


@given(st.binary(max_size=300))
def test_the_same_hash_as_aiokafka_for_any_key(key: bytes) -> None:
    # Keys of every length up to 300 bytes, so every tail length (0 to 3 bytes) is covered.
    assert murmur2(key) == aiokafka_murmur2(key)
