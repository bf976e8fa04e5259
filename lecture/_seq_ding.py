"""German words of the Ding dictionary (Debian's trans-de-en) as character sequences.

The dictionary's lines read ``German :: English``; alternatives are separated by ``|`` and ``;`` and
annotations sit in ``{}``, ``[]`` and ``()``. ``german_words`` keeps the single-word German entries made of
the letters a-z, ä, ö, ü, ß (lower-cased), which gives ~280,000 distinct words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from tenuki.lecture.common import LectureError

DING_PATH = Path("/usr/share/trans/de-en")
ALPHABET = "abcdefghijklmnopqrstuvwxyzäöüß"
_ANNOTATION = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)")
_WORD = re.compile(f"[{ALPHABET}]+")


@lru_cache(maxsize=1)
def _all_german_words(path: str) -> tuple[str, ...]:
    if not Path(path).exists():
        raise LectureError(f"{path} is missing: the Ding dictionary comes with Debian's trans-de-en "
                           "(apt-get install trans-de-en)")
    words: set[str] = set()
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if line.startswith("#") or " :: " not in line:
                continue
            german = line.split(" :: ", 1)[0]
            for part in german.split("|"):
                for alternative in part.split(";"):
                    word = _ANNOTATION.sub("", alternative).strip().lower()
                    if _WORD.fullmatch(word):
                        words.add(word)
    return tuple(sorted(words))


def german_words(min_length: int, max_length: int, path: str | Path = DING_PATH) -> list[str]:
    """The dictionary's distinct German words with ``min_length <= len <= max_length``, sorted."""
    return [w for w in _all_german_words(str(path)) if min_length <= len(w) <= max_length]


def sample_split(words: list[str], n_train: int, n_test: int, seed: int) -> tuple[list[str], list[str]]:
    """Disjoint seeded samples of ``n_train`` and ``n_test`` words (test words never seen in training)."""
    if n_train + n_test > len(words):
        raise LectureError(f"asked for {n_train} + {n_test} words, the dictionary has {len(words)} of that length")
    order = np.random.default_rng(seed).permutation(len(words))
    return [words[i] for i in order[:n_train]], [words[i] for i in order[n_train:n_train + n_test]]


class CharCodes:
    """Characters <-> integer codes: the alphabet's letters first, then the named special symbols."""

    def __init__(self, specials: tuple[str, ...]) -> None:
        self.symbols = list(ALPHABET) + list(specials)
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, word: str) -> list[int]:
        return [self.index[ch] for ch in word]

    def decode(self, codes: list[int] | np.ndarray) -> str:
        return "".join(self.symbols[int(c)] for c in codes)
