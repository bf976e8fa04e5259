"""Corpus-level BLEU-4 (Papineni et al. 2002), written out so the number can be checked by hand.

BLEU = BP * exp(sum_n w_n log p_n), n = 1..4, w_n = 1/4, where p_n is the *corpus* modified n-gram
precision (clipped n-gram matches summed over all sentences / candidate n-grams summed over all
sentences; eq. 1 of the paper) and BP = 1 if c > r else exp(1 - r / c) the brevity penalty, c the total
candidate length and r the total reference length (one reference per sentence here). No smoothing: a
corpus with no matching 4-gram scores 0, as in the paper and sacrebleu's default ("exp"/"none").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """The multiset of the n-grams of ``tokens`` (tuples)."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(candidates: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                max_n: int = 4) -> dict[str, Any]:
    """BLEU of tokenised ``candidates`` against one tokenised reference each.

    Returns {"bleu" (0..1), "precisions" [p_1..p_max_n], "brevity_penalty", "candidate_length" c,
    "reference_length" r}.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
    matches = [0] * max_n
    totals = [0] * max_n
    cand_len = ref_len = 0
    for cand, ref in zip(candidates, references):
        cand_len += len(cand)
        ref_len += len(ref)
        for n in range(1, max_n + 1):
            cand_counts, ref_counts = ngrams(cand, n), ngrams(ref, n)
            # Clipping (the "modified" precision): a candidate n-gram counts at most as often as in the reference.
            matches[n - 1] += sum(min(count, ref_counts[gram]) for gram, count in cand_counts.items())
            totals[n - 1] += max(len(cand) - n + 1, 0)
    precisions = [m / t if t else 0.0 for m, t in zip(matches, totals)]
    if cand_len == 0:
        brevity = 0.0
    else:
        brevity = 1.0 if cand_len > ref_len else math.exp(1.0 - ref_len / cand_len)
    if min(precisions) <= 0.0:
        bleu = 0.0
    else:
        bleu = brevity * math.exp(sum(math.log(p) for p in precisions) / max_n)
    return {"bleu": bleu, "precisions": precisions, "brevity_penalty": brevity,
            "candidate_length": cand_len, "reference_length": ref_len}
