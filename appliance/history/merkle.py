"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proofs, as pure functions.

Leaves are hashed as SHA-256(0x00 || entry) and interior nodes as SHA-256(0x01 || left || right)
(RFC 9162 §2.1.1), so a leaf can never be passed off as a node (second-preimage resistance).

Proof generation reads the tree through a `NodeSource`: a function giving the hash of the
*perfect* subtree at (level, index), covering leaves [index * 2**level, (index + 1) * 2**level).
The ledger serves those from SQLite, tests from a list in memory, so the same RFC 9162 recursion
builds every proof in O(log n) lookups whatever the store. Verification needs no source at all:
it is the RFC 9162 §2.1.3.2 / §2.1.4.2 algorithm on the proof and the signed roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1)
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]


def leaf_hash(entry: bytes) -> bytes:
    """MTH of a single entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_root(nodes: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that RFC 9162's recursion can produce.

    Such a range starts on a multiple of the smallest power of two not below its length, so it
    is a run of perfect subtrees of decreasing size, folded from the right.
    """
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if start % _aligned_span(size) != 0:
        raise ValueError("range is not one the RFC 9162 recursion produces")
    parts: list[bytes] = []
    position = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            parts.append(nodes(level, position >> level))
            position += 1 << level
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


def _aligned_span(size: int) -> int:
    """The largest power of two not above size (the first perfect subtree of the range)."""
    return 1 << (size.bit_length() - 1)


def inclusion_proof(nodes: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    path: list[bytes] = []
    start, end = 0, size
    # Walk down from the root, collecting siblings; emit them leaf-first at the end.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_root(nodes, start + k, end))
            end = start + k
        else:
            path.append(range_root(nodes, start, start + k))
            start = start + k
    path.reverse()
    return path


def consistency_proof(nodes: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1 (empty when sizes are equal or 0)."""
    if not 0 <= old_size <= new_size:
        raise ValueError("old size must not exceed new size")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    m, start, end, complete = old_size, 0, new_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(range_root(nodes, start, end))
            break
        k = _split(n)
        if m <= k:
            proof.append(range_root(nodes, start + k, end))
            end = start + k
        else:
            proof.append(range_root(nodes, start, start + k))
            m -= k
            start += k
            complete = False
    proof.reverse()
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `leaf` (a leaf hash) sit at `index` of the tree with `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (new_size, new_root) an append-only extension of the old?"""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class MemoryTree:
    """Every perfect subtree of a list of leaf hashes, kept in memory (tests, small exports)."""

    def __init__(self, leaf_hashes: Iterable[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append(
                [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            )

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return range_root(self.node, 0, self.size if size is None else size)


class TreeBuilder:
    """The right edge of a growing tree (a "compact range"): O(log n) memory, any root at once.

    `append` returns the perfect subtrees (level >= 1) it completes, so a store can keep them
    for fast proofs; `root` is MTH of everything appended so far.
    """

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        expected = bin(size).count("1")
        if len(frontier) != expected:
            raise ValueError("frontier does not match the tree size")
        self.size = size
        # (level, hash) of the perfect subtrees on the right edge, biggest first
        levels = [lvl for lvl in range(size.bit_length() - 1, -1, -1) if size >> lvl & 1]
        self._stack: list[tuple[int, bytes]] = list(zip(levels, frontier, strict=True))

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        completed: list[tuple[int, int, bytes]] = []
        level, value = 0, leaf
        index = self.size
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            value = node_hash(left, value)
            level += 1
            index >>= 1
            completed.append((level, index, value))
        self._stack.append((level, value))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1][1]
        for _, value in reversed(self._stack[:-1]):
            result = node_hash(value, result)
        return result


def frontier_positions(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees on the right edge of a tree of `size`."""
    positions: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            positions.append((level, start >> level))
            start += 1 << level
    return positions
