"""W3C Bitstring Status List v1.0, the encoding alone: which list length holds a CB's entries, the
``encodedList`` of a list whose set bits are given, and one bit read back (GZIP, then multibase base64url without
padding, prefix "u"; index 0 is the most significant bit of the first byte)."""
from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable

MIN_LENGTH = 131_072  # bits (16 KiB): the spec's minimum, so a list hides which and how many entries are in use
MULTIBASE_BASE64URL = "u"


def draw_length(entries: int) -> int:
    """How far a new index is drawn: a power of two at least twice the entries then in use (at least MIN_LENGTH), so
    a random draw hits a free index at least half the time and the list grows as the CB does."""
    return max(MIN_LENGTH, 1 << (2 * entries - 1).bit_length())


def served_length(highest_index: int | None) -> int:
    """The length of the list served: the smallest power of two above every index in use (at least MIN_LENGTH).
    Every index was drawn below a power of two, so this never cuts an entry off."""
    return MIN_LENGTH if highest_index is None else max(MIN_LENGTH, 1 << highest_index.bit_length())


def encode(set_indexes: Iterable[int], length: int) -> str:
    """The ``encodedList`` of a list of ``length`` bits where exactly ``set_indexes`` are 1."""
    bits = bytearray(length // 8)
    for index in set_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)  # mtime 0: the same bits always encode the same
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def bit(encoded: str, index: int) -> int:
    """Bit ``index`` of an ``encodedList`` (ValueError if it is not one, IndexError beyond its end)."""
    if not encoded.startswith(MULTIBASE_BASE64URL):
        raise ValueError("encodedList is not multibase base64url")
    data = encoded.removeprefix(MULTIBASE_BASE64URL)
    bits = gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    return (bits[index // 8] >> (7 - index % 8)) & 1
