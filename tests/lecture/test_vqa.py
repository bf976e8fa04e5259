"""vqa: answer kinds, image-batched training equals one image per question, a --quick run."""

from __future__ import annotations

import numpy as np
import pytest

from tenuki.lecture._vqa_data import answer_type, words


def test_answer_kinds_and_words():
    assert [answer_type(a) for a in ("yes", "no", "circle", "triangle", "teal")] == \
        ["yes/no", "yes/no", "shape", "shape", "color"]
    assert words("Is there not a blue shape in the image?") == \
        ["is", "there", "not", "a", "blue", "shape", "in", "the", "image"]


def test_shared_image_features_equal_one_image_per_question():
    """The CNN runs once per image and its features are gathered per question: the logits equal running
    each question with its own copy of the image, and a question's logits do not depend on its batch."""
    torch = pytest.importorskip("torch")
    from tenuki.lecture._vqa_model import VqaNet

    torch.manual_seed(0)
    model = VqaNet(vocab=10, answers=13, channels=(4, 8), embed_dim=6, hidden=8, dim=8).eval()
    images = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)
    question_image = torch.tensor([2, 0, 0, 1, 2])
    ids = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9], [1, 1, 0, 0], [2, 3, 4, 5]])
    lengths = torch.tensor([3, 2, 4, 2, 4])
    shared = model(images, question_image, ids, lengths)
    own = model(images[question_image], torch.arange(5), ids, lengths)
    torch.testing.assert_close(shared, own, atol=1e-5, rtol=1e-5)
    single = model(images[2:3], torch.tensor([0]), ids[:1, :3], lengths[:1])
    torch.testing.assert_close(shared[:1], single, atol=1e-5, rtol=1e-5)
    baseline = VqaNet(vocab=10, answers=13, channels=(4, 8), embed_dim=6, hidden=8, dim=8, use_image=False)
    assert baseline(None, question_image, ids, lengths).shape == (5, 13)


def test_quick_run_answers_from_the_image(tmp_path):
    from tenuki.lecture import vqa
    from tenuki.lecture.common import run_experiment

    record = run_experiment(vqa, quick=True, out_dir=tmp_path)
    assert record["headline"]["passed"], record["headline"]
    accuracy = record["test_accuracy"]
    assert accuracy > record["majority_answer_accuracy"] + 0.2
    assert accuracy > record["question_only_accuracy"] + 0.1  # the image matters
    kinds = record["per_question_kind"]["image+question"]
    assert sum(k["questions"] for k in kinds.values()) == record["data"]["test_questions"]
    assert np.isclose(sum(k["accuracy"] * k["questions"] for k in kinds.values()) / record["data"]["test_questions"],
                      accuracy, atol=1e-3)
    assert (tmp_path / "vqa_accuracy.png").exists() and (tmp_path / "vqa_examples.png").exists()
