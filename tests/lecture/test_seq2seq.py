"""seq2seq: BLEU-4 against hand-computed values, the dictionary parser, batch independence, a --quick run."""

from __future__ import annotations

import math

import pytest

from tenuki.lecture._seq2seq_bleu import corpus_bleu
from tenuki.lecture._seq2seq_data import (
    BOS,
    EOS,
    Vocab,
    dictionary_phrases,
    german_number_tokens,
    number_pairs,
    pad_batch,
    select_pairs,
    tokenize,
)


def _words(text: str) -> list[str]:
    return text.split()


def test_bleu_hand_computed_two_sentence_corpus():
    # Sentence 1: "the cat sat on the mat" vs "the cat is on the mat": 1-grams 5/6 (the x2, cat, on, mat),
    # 2-grams 3/5 (the cat, on the, the mat), 3-grams 1/4 (on the mat), 4-grams 0/3.
    # Sentence 2: "a b c d" vs "a b c d e": 4/4, 3/3, 2/2, 1/1.
    # Corpus: p = 9/10, 6/8, 3/6, 1/4; c = 10, r = 11, BP = exp(1 - 11/10).
    cands = [_words("the cat sat on the mat"), _words("a b c d")]
    refs = [_words("the cat is on the mat"), _words("a b c d e")]
    result = corpus_bleu(cands, refs)
    assert result["precisions"] == pytest.approx([0.9, 0.75, 0.5, 0.25])
    assert result["brevity_penalty"] == pytest.approx(math.exp(-0.1))
    expected = math.exp(-0.1) * (0.9 * 0.75 * 0.5 * 0.25) ** 0.25
    assert result["bleu"] == pytest.approx(expected)
    assert result["bleu"] == pytest.approx(0.48767, abs=1e-5)
    # Sentence 1 alone has no matching 4-gram: BLEU 0 (no smoothing), although corpus-level it counts.
    assert corpus_bleu(cands[:1], refs[:1])["bleu"] == 0.0


def test_bleu_clipping_brevity_and_perfect_match():
    # Papineni et al.'s example: "the" x7 against a reference with two "the" -> modified unigram precision 2/7.
    result = corpus_bleu([_words("the the the the the the the")], [_words("the cat is on the mat")])
    assert result["precisions"][0] == pytest.approx(2 / 7)
    assert result["brevity_penalty"] == 1.0  # candidate longer than reference: no penalty
    sentence = _words("wir sehen uns morgen")
    assert corpus_bleu([sentence], [sentence])["bleu"] == pytest.approx(1.0)
    assert corpus_bleu([[]], [sentence])["bleu"] == 0.0


def test_tokenize_keeps_dictionary_abbreviations():
    assert tokenize("jdm. etw. übel nehmen") == ["jdm.", "etw.", "übel", "nehmen"]
    assert tokenize("She didn’t say anything.") == ["she", "didn't", "say", "anything", "."]


def test_parser_pairs_sub_entries_and_drops_annotations(tmp_path):
    ding = tmp_path / "de-en"
    ding.write_text(
        "# comment :: line\n"
        "Aalspieß {m} | Aalspieße {pl} :: eel spear | eel spears\n"
        "Er lachte sich ins Fäustchen. [übtr.] :: He laughed up his sleeve.\n"
        "Es ist kalt.; Es ist frisch. :: It is cold.; It is chilly.\n"
        "ungleich | viele | Teile :: uneven | parts\n", encoding="utf-8")
    phrases = dictionary_phrases(ding)
    assert ("Aalspieße", "eel spears") in phrases
    assert ("Er lachte sich ins Fäustchen.", "He laughed up his sleeve.") in phrases
    assert ("Es ist kalt.", "It is cold.") in phrases  # first synonym of each side
    assert not any(de == "viele" for de, _ in phrases)  # sides with different numbers of sub-entries
    pairs = select_pairs(phrases, min_tokens=3, max_tokens=8, min_count=1)
    assert [" ".join(s) for s, _ in pairs] == ["er lachte sich ins fäustchen .", "es ist kalt ."]


def test_german_number_words_cut_into_morphemes():
    assert german_number_tokens("siebenundzwanzigtausendeinhundertdreizehn") == \
        ["sieben", "und", "zwanzig", "tausend", "ein", "hundert", "drei", "zehn"]
    assert german_number_tokens("sechzehn") == ["sech", "zehn"]
    assert german_number_tokens("sechsundsiebzig") == ["sechs", "und", "sieb", "zig"]
    assert german_number_tokens("dreißig") == ["dreißig"]
    # Above a million German writes separate words: "zwei Milliarden drei Millionen eintausend".
    assert german_number_tokens("zwei Milliarden eine Million eintausend") == \
        ["zwei", "milliarden", "eine", "million", "ein", "tausend"]


def test_number_pairs_are_distinct_and_cover_every_length():
    pytest.importorskip("num2words")
    pairs = number_pairs(400, max_digits=4, seed=0)
    assert len(pairs) == len({" ".join(s) for s, _ in pairs}) == 400
    english = [" ".join(t) for _, t in pairs]
    assert any(len(e.split()) == 1 for e in english)  # one-digit and round numbers ("seven")
    assert any("thousand" in e for e in english)
    assert pairs == number_pairs(400, max_digits=4, seed=0)


def test_vocab_and_padding():
    vocab = Vocab.build([["a", "b", "a"]])
    assert vocab.encode(["a", "b", "zzz"]) == [4, 5, 3]
    assert vocab.decode([BOS, 4, 5, EOS, 4]) == ["a", "b"]
    ids, lengths = pad_batch([[4], [4, 5]], bos=True, eos=True)
    assert ids.tolist() == [[BOS, 4, EOS, 0], [BOS, 4, 5, EOS]] and lengths.tolist() == [3, 4]


@pytest.mark.parametrize("attention", [False, True])
def test_padding_does_not_change_a_translation(attention):
    """Batch independence: a sentence's logits are the same alone and inside a padded batch."""
    torch = pytest.importorskip("torch")
    from tenuki.lecture._seq2seq_model import Seq2Seq

    torch.manual_seed(0)
    model = Seq2Seq(20, 15, 8, 16, attention).eval()
    short, long = [5, 6, 7], [8, 9, 10, 11, 12, 13]
    src, src_len = (torch.from_numpy(a) for a in pad_batch([short, long]))
    tgt = torch.tensor([[BOS, 4, 5, 6], [BOS, 7, 8, 9]])
    batched = model(src, src_len, tgt)
    alone_src, alone_len = (torch.from_numpy(a) for a in pad_batch([short]))
    alone = model(alone_src, alone_len, tgt[:1])
    torch.testing.assert_close(batched[:1], alone, atol=1e-5, rtol=1e-5)
    _, weights = model.greedy(src, src_len, max_len=5)
    if attention:
        assert float(weights[0, :, len(short):].abs().max()) == 0.0  # no attention on padding
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:2]))


def test_quick_run_learns_to_translate(tmp_path):
    from tenuki.lecture import seq2seq
    from tenuki.lecture.common import run_experiment

    record = run_experiment(seq2seq, quick=True, out_dir=tmp_path)
    assert record["headline"]["passed"], record["headline"]
    assert record["bleu_attention"] > record["bleu_no_attention"]  # attention helps
    assert record["bleu_attention"] > 40.0  # it translates (measured 55.7 after the quick run's 6 epochs)
    for label in ("attention", "no_attention"):
        curve = record["training"][label]["valid_loss"]
        assert min(curve) < curve[0]  # validation loss fell
    assert record["samples"] and {"german", "reference", "attention", "no_attention"} <= set(record["samples"][0])
    assert (tmp_path / "seq2seq_attention.png").exists() and (tmp_path / "summary.md").exists()
