"""easy-vqa (the ``easy_vqa`` package): 64x64 PNG images of one coloured shape, template questions, 13 answers.

Everything is decoded once per run and held in memory: images as uint8 [N_images, 3, 64, 64] (5,000 images,
61 MB), questions as padded word ids. Nothing is downloaded: the images ship inside the wheel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tenuki.lecture.common import LectureError

PAD = 0
SHAPES = ("circle", "rectangle", "triangle")
YES_NO = ("yes", "no")


@dataclass
class VqaSplit:
    """One split. ``question_image`` indexes ``images``; ``image_questions[k]`` lists image k's questions."""

    images: np.ndarray  # uint8 [I, 3, 64, 64]
    questions: list[str]
    question_ids: np.ndarray  # int64 [Q, L], PAD-padded word ids
    question_len: np.ndarray  # int64 [Q]
    question_image: np.ndarray  # int64 [Q], row of ``images``
    answers: np.ndarray  # int64 [Q], index into the answer list
    image_questions: list[np.ndarray]


def _easy_vqa():
    try:
        import easy_vqa
    except ImportError as error:
        raise LectureError("the vqa experiment needs the easy-vqa package (pip install easy-vqa)") from error
    return easy_vqa


def words(question: str) -> list[str]:
    return re.findall(r"[a-z]+", question.lower())


def answer_type(answer: str) -> str:
    """'yes/no', 'shape' or 'color' (easy-vqa's three question kinds, told apart by their answers)."""
    return "yes/no" if answer in YES_NO else "shape" if answer in SHAPES else "color"


def _load_images(paths: dict[int, str], image_ids: list[int]) -> np.ndarray:
    from PIL import Image

    images = np.empty((len(image_ids), 3, 64, 64), dtype=np.uint8)
    for row, image_id in enumerate(image_ids):
        with Image.open(paths[image_id]) as img:
            images[row] = np.asarray(img.convert("RGB")).transpose(2, 0, 1)
    return images


def load(max_train_images: int | None, max_test_images: int | None, seed: int
         ) -> tuple[VqaSplit, VqaSplit, list[str], list[str]]:
    """(train, test, answers, vocabulary); optionally a seeded subset of the images (with all their questions)."""
    vqa = _easy_vqa()
    answers = list(vqa.get_answers())
    answer_index = {a: i for i, a in enumerate(answers)}
    raw = {"train": (vqa.get_train_questions(), vqa.get_train_image_paths(), max_train_images),
           "test": (vqa.get_test_questions(), vqa.get_test_image_paths(), max_test_images)}
    vocab = ["<pad>"] + sorted({w for q in raw["train"][0][0] for w in words(q)})
    word_index = {w: i for i, w in enumerate(vocab)}
    rng = np.random.default_rng(seed)
    splits = []
    for name in ("train", "test"):
        (questions, answer_words, image_ids), paths, limit = raw[name]
        chosen = sorted(set(image_ids))
        if limit and limit < len(chosen):
            chosen = sorted(rng.choice(chosen, size=int(limit), replace=False).tolist())
        row_of = {image_id: row for row, image_id in enumerate(chosen)}
        keep = [k for k, image_id in enumerate(image_ids) if image_id in row_of]
        tokens = []
        for k in keep:
            ids = [word_index[w] for w in words(questions[k]) if w in word_index]
            if not ids:
                raise LectureError(f"easy-vqa {name} question {questions[k]!r} has no known word")
            tokens.append(ids)
        lengths = np.array([len(t) for t in tokens], dtype=np.int64)
        ids = np.full((len(tokens), int(lengths.max())), PAD, dtype=np.int64)
        for row, t in enumerate(tokens):
            ids[row, :len(t)] = t
        question_image = np.array([row_of[image_ids[k]] for k in keep], dtype=np.int64)
        per_image = [[] for _ in chosen]
        for q, row in enumerate(question_image):
            per_image[row].append(q)
        splits.append(VqaSplit(
            images=_load_images(paths, chosen), questions=[questions[k] for k in keep], question_ids=ids,
            question_len=lengths, question_image=question_image,
            answers=np.array([answer_index[answer_words[k]] for k in keep], dtype=np.int64),
            image_questions=[np.array(p, dtype=np.int64) for p in per_image]))
    return splits[0], splits[1], answers, vocab
