"""lecture/birnn: each direction sees only the side of the masked letter it should (checked by perturbing the
other side); parameter matching; masks; a --quick run where the bidirectional RNN beats the left-to-right one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tenuki.lecture import birnn
from tenuki.lecture._seq_ding import CharCodes
from tenuki.lecture.common import run_experiment

CODES = CharCodes(specials=(birnn.BEGIN, birnn.END, birnn.MASK))


def _model(direction: str) -> birnn.MaskedLetterModel:
    torch.manual_seed(0)
    return birnn.MaskedLetterModel(direction, len(CODES), 30, embedding=8, hidden=6).double()


@pytest.mark.parametrize("direction,sees_left,sees_right", [
    ("left_to_right", True, False), ("right_to_left", False, True), ("bidirectional", True, True)])
def test_each_direction_sees_only_its_side(direction, sees_left, sees_right) -> None:
    model = _model(direction)
    tokens = torch.randint(0, 30, (4, 11), generator=torch.Generator().manual_seed(1))
    positions = torch.tensor([5, 5, 5, 5])
    tokens[:, 5] = CODES.index[birnn.MASK]
    left, right = tokens.clone(), tokens.clone()
    left[:, :5] = (left[:, :5] + 7) % 30
    right[:, 6:] = (right[:, 6:] + 7) % 30
    with torch.no_grad():
        base = model(tokens, positions)
        changed_by_left = not torch.allclose(model(left, positions), base, rtol=0, atol=1e-14)
        changed_by_right = not torch.allclose(model(right, positions), base, rtol=0, atol=1e-14)
    assert changed_by_left == sees_left
    assert changed_by_right == sees_right


def test_right_to_left_reads_the_reversed_word() -> None:
    """The right-to-left model at position p of a word = a left-to-right GRU at T-1-p of the reversed word."""
    model = _model("right_to_left")
    tokens = torch.randint(0, 30, (3, 9), generator=torch.Generator().manual_seed(2))
    positions = torch.tensor([1, 4, 7])
    with torch.no_grad():
        states, _ = model.rnn(model.embed(tokens.flip(1)))
        expected = model.readout(states[torch.arange(3), 8 - positions])
        torch.testing.assert_close(model(tokens, positions), expected, rtol=0, atol=0)


def test_unidirectional_models_get_at_least_the_bidirectional_parameters() -> None:
    bi = birnn.parameter_count(birnn.MaskedLetterModel("bidirectional", len(CODES), 30, 32, 96))
    for direction in ("left_to_right", "right_to_left"):
        units = birnn.matched_hidden(direction, len(CODES), 30, 32, 96)
        assert birnn.parameter_count(birnn.MaskedLetterModel(direction, len(CODES), 30, 32, units)) >= bi
        assert birnn.parameter_count(birnn.MaskedLetterModel(direction, len(CODES), 30, 32, units - 1)) < bi


def test_masks_hit_letters_only() -> None:
    words = birnn.MaskedWords(["haus", "baum", "katze", "ab"], CODES)
    rng = np.random.default_rng(0)
    for rows in words.by_length.values():
        tokens, positions, letters = words.mask(np.repeat(rows, 50, axis=0), rng)
        assert torch.all((positions >= 1) & (positions <= tokens.shape[1] - 2))
        assert torch.all(tokens[torch.arange(len(tokens)), positions] == CODES.index[birnn.MASK])
        assert torch.all(letters < 30)  # a letter of the alphabet, never '<', '>' or '_'
        assert torch.all((tokens == CODES.index[birnn.MASK]).sum(dim=1) == 1)


def test_quick_run_bidirectional_beats_left_to_right(tmp_path) -> None:
    record = run_experiment(birnn, quick=True, out_dir=tmp_path)
    assert record["headline"]["passed"], record["headline"]
    accuracy = record["accuracy"]
    assert accuracy["bidirectional"] > accuracy["left_to_right"] > record["most_frequent_letter_accuracy"]
    assert "masked_letter.png" in record["figures"]
