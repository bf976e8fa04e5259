"""German -> English pairs, tokenised and indexed: phrases of the Ding dictionary or number words.

**Ding** (Debian ``trans-de-en``, ``/usr/share/trans/de-en``):

The file has one entry a line, ``German :: English``; ``|`` separates the sub-entries of a line (the two sides
have them in the same order), ``;`` separates synonyms inside a sub-entry, and ``{m}``, ``[ugs.]``, ``(...)``,
``<...>`` are annotations. We keep, for every sub-entry whose two sides have the same number of ``|``
parts, the first synonym of each side with the annotations removed, then

1. pairs of ``min_tokens``..``max_tokens`` tokens on both sides (short phrases and sentences, not single
   words); none with ``/`` (alternatives such as "er/sie"), ellipses, or leftover brackets;
2. each pair once, and each German phrase once (its first translation), so a held-out source never has a
   different "right" answer in training;
3. only pairs whose every token occurs at least ``min_count`` times in the phrases of step 2 (both sides):
   the corpus is the part of the dictionary a small model can learn from. The split into
   train / validation / held-out is then random by pair with a fixed seed (``tenuki.lecture.data.split``).

**Numbers** (``num2words``): German number words to English, e.g. "dreihundertfünfundvierzig" ->
"three hundred and forty-five". German writes a number below a million as one word (and larger ones as
"zwei Milliarden drei Millionen ..."), so the source is cut into its number morphemes (drei hundert fünf und vierzig: note "fünfundvierzig" = five-and-forty, which
English reorders to forty-five); the target is English words and commas.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tenuki.lecture.common import LectureError

DING_PATH = Path("/usr/share/trans/de-en")
PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]

_ANNOTATION = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|<[^>]*>")
# Dictionary abbreviations (etw. = sth., jdn./jdm./jds. = sb./sb.'s) stay one token with their dot.
_TOKEN = re.compile(r"(?:etw|jdn|jdm|jds|sth|sb|usw|bzw)\.|\w+(?:[-']\w+)*|[^\w\s]")
_REJECT = re.compile(r"[/…()\[\]{}<>]|\.\.\.")


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens ("Er lachte sich ins Fäustchen." -> 6 tokens)."""
    return _TOKEN.findall(text.replace("’", "'").replace("‘", "'").lower())


# Longest first, so that "sechs" wins over "sech" (sechzig, sechzehn) and "dreißig" over "drei".
_NUMBER_MORPHEMES = sorted(["eins", "eine", "ein", "zwei", "drei", "vier", "fünf", "sechs", "sech", "sieben", "sieb",
                            "acht", "neun", "zehn", "elf", "zwölf", "zwanzig", "dreißig", "zig", "hundert",
                            "tausend", "und", "million", "millionen", "milliarde", "milliarden"], key=len, reverse=True)
_NUMBER_TOKEN = re.compile("|".join(_NUMBER_MORPHEMES))


def german_number_tokens(words: str) -> list[str]:
    """The morphemes of a German number word: "einundzwanzig" -> ["ein", "und", "zwanzig"]."""
    tokens = []
    for word in words.lower().split():
        parts = _NUMBER_TOKEN.findall(word)
        if "".join(parts) != word:
            raise LectureError(f"cannot cut the German number word {word!r} into morphemes ({parts})")
        tokens += parts
    return tokens


def number_pairs(count: int, max_digits: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """``count`` distinct numbers of 1..max_digits digits, the lengths as evenly spread as the short ones
    allow (seeded), as (German morphemes, English tokens) pairs."""
    try:
        from num2words import num2words
    except ImportError as error:
        raise LectureError("corpus 'numbers' needs the num2words package (pip install num2words)") from error
    rng = np.random.default_rng(seed)
    numbers: list[int] = []
    for digits in range(1, max_digits + 1):
        low, high = 10 ** (digits - 1) if digits > 1 else 1, 10 ** digits
        # An equal share of what is still missing; short lengths have fewer numbers, longer ones make it up.
        take = min((count - len(numbers)) // (max_digits - digits + 1), high - low)
        numbers += (low + rng.choice(high - low, size=take, replace=False)).tolist()
    numbers = rng.permutation(numbers)[:count].tolist()
    return [(german_number_tokens(num2words(n, lang="de")), tokenize(num2words(n, lang="en"))) for n in numbers]


def dictionary_phrases(path: Path = DING_PATH) -> list[tuple[str, str]]:
    """All (German, English) sub-entries of the dictionary, first synonym each, annotations removed."""
    if not path.exists():
        raise LectureError(f"{path} is missing: the seq2seq experiment reads the Ding dictionary of the Debian "
                           "package trans-de-en (apt-get install trans-de-en)")
    pairs = []
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if line.startswith("#") or "::" not in line:
                continue
            german, english = line.rstrip("\n").split("::", 1)
            german_parts, english_parts = german.split("|"), english.split("|")
            if len(german_parts) != len(english_parts):
                continue
            for de, en in zip(german_parts, english_parts):
                de = " ".join(_ANNOTATION.sub(" ", de.split(";")[0]).split())
                en = " ".join(_ANNOTATION.sub(" ", en.split(";")[0]).split())
                if de and en:
                    pairs.append((de, en))
    return pairs


def select_pairs(phrases: list[tuple[str, str]], min_tokens: int, max_tokens: int,
                 min_count: int) -> list[tuple[list[str], list[str]]]:
    """Steps 1-3 of the module docstring: tokenised (German, English) pairs, in dictionary order."""
    seen_pairs: set[tuple[str, str]] = set()
    seen_sources: set[str] = set()
    kept = []
    for de, en in phrases:
        if _REJECT.search(de) or _REJECT.search(en):
            continue
        src, tgt = tokenize(de), tokenize(en)
        if not (min_tokens <= len(src) <= max_tokens and min_tokens <= len(tgt) <= max_tokens):
            continue
        key = (" ".join(src), " ".join(tgt))
        if key in seen_pairs or key[0] in seen_sources:
            continue
        seen_pairs.add(key)
        seen_sources.add(key[0])
        kept.append((src, tgt))
    src_counts = Counter(t for src, _ in kept for t in src)
    tgt_counts = Counter(t for _, tgt in kept for t in tgt)
    return [(src, tgt) for src, tgt in kept
            if all(src_counts[t] >= min_count for t in src) and all(tgt_counts[t] >= min_count for t in tgt)]


@dataclass
class Vocab:
    """Token <-> index, the four specials first (``PAD``, ``BOS``, ``EOS``, ``UNK``)."""

    itos: list[str]

    def __post_init__(self) -> None:
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, sentences: list[list[str]]) -> Vocab:
        counts = Counter(t for s in sentences for t in s)
        return cls(SPECIALS + sorted(counts, key=lambda t: (-counts[t], t)))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.stoi.get(t, UNK) for t in tokens]

    def decode(self, ids: list[int]) -> list[str]:
        """Tokens up to (without) the first ``EOS``; ``BOS``/``PAD`` dropped."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[i])
        return out


def pad_batch(sequences: list[list[int]], bos: bool = False, eos: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64 [B, T] padded with PAD, lengths int64 [B]), optionally wrapped in BOS ... EOS."""
    seqs = [([BOS] if bos else []) + s + ([EOS] if eos else []) for s in sequences]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    ids = np.full((len(seqs), int(lengths.max())), PAD, dtype=np.int64)
    for row, s in enumerate(seqs):
        ids[row, :len(s)] = s
    return ids, lengths
