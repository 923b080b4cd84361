"""RFC 9162 tree hashing and proofs, checked against the RFC 6962 reference vectors and against
roots recomputed here straight from the RFC's recursive definition."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.history import merkle

# The test data and tree heads published with the certificate-transparency reference code.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def reference_mth(entries: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 defines it (recursive, no shortcuts)."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_mth(entries[:k]) + reference_mth(entries[k:])
    ).digest()


def tree_of(entries: list[bytes]) -> merkle.MemoryTree:
    return merkle.MemoryTree(merkle.leaf_hash(e) for e in entries)


def entries(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(n)]


def test_roots_match_the_published_vectors() -> None:
    tree = tree_of(CT_LEAVES)
    assert merkle.EMPTY_ROOT.hex() == CT_ROOTS[0]
    for size in range(1, 9):
        assert tree.root(size).hex() == CT_ROOTS[size]


def test_proofs_match_the_published_vectors() -> None:
    tree = tree_of(CT_LEAVES)
    assert [p.hex() for p in merkle.inclusion_proof(tree.node, 0, 8)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
    assert [p.hex() for p in merkle.consistency_proof(tree.node, 6, 8)] == [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]
    assert [p.hex() for p in merkle.consistency_proof(tree.node, 2, 5)] == [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]


def test_leaf_and_node_hashing_are_domain_separated() -> None:
    left, right = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    # A two-leaf tree's root is not the leaf hash of the concatenated children.
    assert merkle.node_hash(left, right) != merkle.leaf_hash(left + right)
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_inclusion_proofs_verify_against_recomputed_roots(size: int, data: st.DataObject) -> None:
    leaves = entries(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    root = reference_mth(leaves)
    proof = merkle.inclusion_proof(tree_of(leaves).node, index, size)
    leaf = merkle.leaf_hash(leaves[index])
    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    assert len(proof) <= max(size - 1, 0).bit_length()
    # Any change to the claim is refused.
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, size, proof, root)
    bigger_root = reference_mth([*leaves, b"more"])
    assert not merkle.verify_inclusion(leaf, index, size + 1, proof, bigger_root)
    if size > 1:
        other = (index + 1) % size
        assert not merkle.verify_inclusion(leaf, other, size, proof, root)
        assert not merkle.verify_inclusion(leaf, index, size, proof[:-1], root)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_consistency_proofs_verify_against_recomputed_roots(
    new_size: int, data: st.DataObject
) -> None:
    leaves = entries(new_size)
    old_size = data.draw(st.integers(min_value=0, max_value=new_size))
    old_root, new_root = reference_mth(leaves[:old_size]), reference_mth(leaves)
    proof = merkle.consistency_proof(tree_of(leaves).node, old_size, new_size)
    assert merkle.verify_consistency(old_size, new_size, old_root, new_root, proof)
    if 0 < old_size < new_size:
        # A rewritten history (one old entry changed) is not an extension of the old tree.
        rewritten = [*leaves[: old_size - 1], b"rewritten", *leaves[old_size:]]
        assert not merkle.verify_consistency(
            old_size, new_size, old_root, reference_mth(rewritten), proof
        )
        assert not merkle.verify_consistency(old_size, new_size, new_root, new_root, proof)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=200))
def test_tree_builder_grows_the_same_tree(size: int) -> None:
    leaves = entries(size)
    builder = merkle.TreeBuilder()
    memory = tree_of(leaves)
    for i, entry in enumerate(leaves):
        for level, index, value in builder.append(merkle.leaf_hash(entry)):
            assert memory.node(level, index) == value
        assert builder.root() == reference_mth(leaves[: i + 1])
    # A builder resumed from the stored right edge continues identically.
    frontier = [memory.node(lv, ix) for lv, ix in merkle.frontier_positions(size)]
    resumed = merkle.TreeBuilder(size, frontier)
    resumed.append(merkle.leaf_hash(b"next"))
    assert resumed.root() == reference_mth([*leaves, b"next"])
