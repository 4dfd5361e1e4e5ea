"""MinHash signatures for many documents at once, compatible with datasketch.

datasketch computes one document at a time and calls its hash function once per shingle from
Python; here a batch of documents is shingled, hashed and permuted with numpy in one go. The
permutations are datasketch's own (taken from a `MinHash` with the same `num_perm` and `seed`,
scheme affine32), so a signature is exactly what `datasketch.MinHash(num_perm, seed,
hashfunc=int).update_batch(shingle_hashes(text))` holds, converts to a `LeanMinHash`, and compares
with datasketch's `jaccard()`.

Shingles are word n-grams (default 5) or character n-grams of the normalised text (NFKC, lower case,
punctuation and symbols removed; digits to 0 optionally), normalised and split by Arrow's kernels. A
word is hashed once per batch (xxh32); an n-gram's hash combines its words' hashes FNV-style,
vectorised, instead of hashing each n-gram's bytes again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_ARROW_PUNCTUATION = r"[^\p{L}\p{M}\p{N}\s_]+"  # punctuation and symbols (RE2's \w is ASCII-only)
_FNV_PRIME = np.uint32(0x01000193)
_FNV_OFFSET = np.uint32(0x811C9DC5)


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer, as datasketch applies it before its affine32 permutations."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


@dataclass(frozen=True)
class ShingleSettings:
    kind: str = "word"  # word | char
    size: int = 5
    normalise_numbers: bool = False


class MinHasher:
    def __init__(self, num_perm: int = 128, seed: int = 1, shingles: ShingleSettings = ShingleSettings()):
        from datasketch import MinHash

        reference = MinHash(num_perm=num_perm, seed=seed)
        if reference.scheme != "affine32":  # what this vectorised code reproduces
            raise RuntimeError(f"datasketch's default scheme is {reference.scheme!r}; this module expects affine32")
        self.num_perm, self.seed, self.shingles = num_perm, seed, shingles
        a, b = reference.permutations
        self._a, self._b = a.astype(np.uint32), b.astype(np.uint32)

    def _units(self, texts: list[str]):
        """Normalised words (or characters) of every text, as one flat pyarrow array and the offsets
        of each text's run in it, computed by Arrow's kernels rather than a Python loop per text."""
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(texts, pa.large_string())
        # NFKC leaves ASCII as it is: normalise only the texts with other characters (web text is
        # mostly ASCII, and normalisation was a quarter of the signature time).
        non_ascii = pc.invert(pc.string_is_ascii(array))
        if pc.any(non_ascii).as_py():
            normalised = pc.utf8_normalize(array.filter(non_ascii), "NFKC")
            array = pc.utf8_lower(pc.replace_with_mask(array, non_ascii, normalised))
        else:
            array = pc.ascii_lower(array)
        array = pc.replace_substring_regex(array, _ARROW_PUNCTUATION, " ")
        if self.shingles.normalise_numbers:
            array = pc.replace_substring_regex(array, r"\p{N}", "0")
        if self.shingles.kind == "word":
            lists = pc.utf8_split_whitespace(array)
        else:  # characters of the whitespace-collapsed text
            collapsed = pc.utf8_trim_whitespace(pc.replace_substring_regex(array, r"\s+", " "))
            lists = pa.array([list(text) for text in collapsed.to_pylist()], pa.large_list(pa.large_string()))
        lists = lists.cast(pa.large_list(pa.large_string()))
        offsets = np.asarray(lists.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        return lists.flatten(), offsets

    def _unit_hashes(self, units) -> np.ndarray:
        """xxh32 of each distinct unit once per batch (dictionary encoding), spread to every occurrence."""
        import pyarrow.compute as pc
        import xxhash

        encoded = pc.dictionary_encode(units)
        distinct = encoded.dictionary.to_pylist()
        table = np.fromiter(
            (xxhash.xxh32_intdigest(u.encode("utf-8", "surrogatepass")) for u in distinct),
            dtype=np.uint32,
            count=len(distinct),
        )
        return table[encoded.indices.to_numpy(zero_copy_only=False)]

    def shingle_hashes_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The shingle hashes of every text, flat, and each text's offsets into them. A text shorter
        than one shingle is one shingle of all its units; an empty text has none."""
        units, unit_offsets = self._units(texts)
        hashes = self._unit_hashes(units) if len(units) else np.empty(0, np.uint32)
        counts = np.diff(unit_offsets)
        size = self.shingles.size
        # Windows of `size` units starting at each position; valid where the window stays in its text.
        total = len(hashes)
        combined = np.full(total, _FNV_OFFSET, dtype=np.uint32)
        padded = np.concatenate([hashes, np.zeros(size, np.uint32)])
        for offset in range(size):
            combined = (combined ^ padded[offset : offset + total]) * _FNV_PRIME
        text_of_unit = np.repeat(np.arange(len(texts)), counts)
        end_of_unit = unit_offsets[1:][text_of_unit] if total else np.empty(0, np.int64)
        valid = np.arange(total) + size <= end_of_unit
        # Short texts: one shingle of all their units, combined the same way.
        short = np.flatnonzero((counts > 0) & (counts < size))
        for text in short:
            value = _FNV_OFFSET
            for unit in hashes[unit_offsets[text] : unit_offsets[text + 1]]:
                value = np.uint32((int(value ^ unit) * int(_FNV_PRIME)) & 0xFFFFFFFF)
            combined[unit_offsets[text]] = value
            valid[unit_offsets[text]] = True
        shingles_per_text = (
            np.bincount(text_of_unit[valid], minlength=len(texts)) if total else np.zeros(len(texts), int)
        )
        offsets = np.concatenate([[0], np.cumsum(shingles_per_text)]).astype(np.int64)
        return combined[valid], offsets

    def shingle_hashes(self, text: str) -> np.ndarray:
        hashes, _ = self.shingle_hashes_batch([text])
        return hashes

    def signatures(self, texts: list[str]) -> np.ndarray:
        """(len(texts), num_perm) uint32; an empty text gets datasketch's empty signature (all max)."""
        return self.signatures_of(*self.shingle_hashes_batch(texts))

    def signatures_of(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures from `shingle_hashes_batch`'s output, for callers that also keep the shingles."""
        result = np.full((self.num_perm, len(offsets) - 1), np.iinfo(np.uint32).max, dtype=np.uint32)
        counts = np.diff(offsets)
        nonempty = np.flatnonzero(counts)
        if len(nonempty):
            # One permutation at a time over a buffer that stays in cache: 3-4x faster than the whole
            # (num_perm x shingles) matrix at once, which is memory-bound.
            mixed = _fmix32(hashes)
            starts = offsets[nonempty]
            permuted = np.empty_like(mixed)
            for row in range(self.num_perm):
                np.multiply(mixed, self._a[row], out=permuted)  # wraps mod 2^32, as datasketch's affine32
                permuted += self._b[row]
                result[row, nonempty] = np.minimum.reduceat(permuted, starts)
        return np.ascontiguousarray(result.T)

    def lean(self, signature: np.ndarray):
        """The signature as a datasketch LeanMinHash (for jaccard() and datasketch's LSH)."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme="affine32")
