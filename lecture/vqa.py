"""Visual question answering on easy-vqa: a CNN reads the image, a GRU reads the question (lecture: VQA).

The fused network (``_vqa_model``) is trained on easy-vqa's training questions and scored on its test
questions (other images). Headline: test accuracy over the 13 answers. For comparison the record has the
majority answer's accuracy, a question-only network (same question encoder and classifier, no image: what
the question alone gives away) and the accuracy per question kind (yes/no, shape, colour).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.lecture._vqa_data import VqaSplit, answer_type, load
from tenuki.lecture.common import LectureError, headline

NAME = "vqa"
CLAIM = ("A CNN image encoder fused with an RNN question encoder answers questions about images it has never "
         "seen, far better than the same network reading the question alone.")

DEFAULTS: dict[str, Any] = {
    "max_train_images": None, "max_test_images": None,
    "channels": [8, 16, 32, 32], "batch_norm": True, "fusion": "product", "embed_dim": 32, "hidden": 64, "dim": 64,
    "epochs": 20, "baseline_epochs": 6, "image_batch": 16, "lr": 0.002, "threads": 1,
    "threshold": 0.97,
}


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS) - {"seed"}
    if unknown:
        raise LectureError(f"vqa config: unknown keys {sorted(unknown)}; allowed: {sorted(DEFAULTS)} and seed")
    return {**DEFAULTS, **config}


def _batches(data: VqaSplit, image_batch: int, rng: np.random.Generator | None):
    """Per batch of images: (images uint8 [B,3,64,64], question_image [Q] (row in the batch), ids, lengths,
    answers, question indices [Q])."""
    import torch

    order = rng.permutation(len(data.images)) if rng is not None else np.arange(len(data.images))
    for start in range(0, len(order), image_batch):
        rows = order[start:start + image_batch]
        questions = np.concatenate([data.image_questions[r] for r in rows])
        position = np.empty(len(data.images), dtype=np.int64)
        position[rows] = np.arange(len(rows))
        yield (torch.from_numpy(data.images[rows]), torch.from_numpy(position[data.question_image[questions]]),
               torch.from_numpy(data.question_ids[questions]), torch.from_numpy(data.question_len[questions]),
               torch.from_numpy(data.answers[questions]), questions)


def _predict(model, data: VqaSplit) -> np.ndarray:
    """Predicted answer index of every question of ``data`` [Q]."""
    import torch

    model.eval()
    predicted = np.empty(len(data.answers), dtype=np.int64)
    with torch.no_grad():
        for images, q_image, ids, lengths, _, questions in _batches(data, 128, None):
            predicted[questions] = model(images, q_image, ids, lengths).argmax(1).numpy()
    return predicted


def _train(model, train: VqaSplit, test: VqaSplit, epochs: int, cfg: dict[str, Any], seed: int) -> dict[str, Any]:
    """Adam on the cross-entropy of all questions of each image batch; test accuracy after every epoch
    (reported as a curve only: the model kept is the last one, nothing is chosen on the test set)."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    curve = {"train_loss": [], "train_accuracy": [], "test_accuracy": []}
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        total = correct = count = 0
        for images, q_image, ids, lengths, answers, _ in _batches(train, cfg["image_batch"], rng):
            logits = model(images, q_image, ids, lengths)
            loss = F.cross_entropy(logits, answers)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(answers)
            correct += int((logits.argmax(1) == answers).sum())
            count += len(answers)
        curve["train_loss"].append(round(total / count, 4))
        curve["train_accuracy"].append(round(correct / count, 4))
        curve["test_accuracy"].append(round(float(np.mean(_predict(model, test) == test.answers)), 4))
    curve["train_seconds"] = round(time.perf_counter() - started, 1)
    return curve


def _per_type(predicted: np.ndarray, data: VqaSplit, answers: list[str]) -> dict[str, dict[str, float]]:
    kinds = np.array([answer_type(answers[a]) for a in data.answers])
    return {kind: {"accuracy": round(float(np.mean(predicted[kinds == kind] == data.answers[kinds == kind])), 4),
                   "questions": int((kinds == kind).sum())} for kind in ("yes/no", "shape", "color")}


def _plot(out_dir: Path, curves: dict[str, dict], majority: float, test: VqaSplit, predicted: np.ndarray,
          answers: list[str], seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        epochs = range(1, len(curve["test_accuracy"]) + 1)
        line, = ax.plot(epochs, curve["test_accuracy"], label=f"{label} test")
        ax.plot(epochs, curve["train_accuracy"], "--", color=line.get_color(), label=f"{label} train")
    ax.axhline(majority, color="grey", linestyle=":", label="majority answer")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("easy-vqa")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "vqa_accuracy.png", dpi=100)
    plt.close(fig)

    picks = np.random.default_rng(seed).choice(len(test.answers), size=8, replace=False)
    fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
    for ax, q in zip(axes.flat, picks):
        ax.imshow(test.images[test.question_image[q]].transpose(1, 2, 0))
        ok = predicted[q] == test.answers[q]
        ax.set_title(f"{test.questions[q]}\npredicted: {answers[predicted[q]]} ({'right' if ok else 'wrong'})",
                     fontsize=8, color="black" if ok else "red")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out_dir / "vqa_examples.png", dpi=100)
    plt.close(fig)


def run(config: dict[str, Any], quick: bool, out_dir: Path) -> dict[str, Any]:
    import torch

    from tenuki.lecture._vqa_model import VqaNet

    cfg = _settings(config)
    cpu_started = time.process_time()
    seed = int(config.get("seed", 0))
    torch.set_num_threads(int(cfg["threads"]))
    started = time.perf_counter()
    train, test, answers, vocab = load(cfg["max_train_images"], cfg["max_test_images"], seed)
    load_seconds = round(time.perf_counter() - started, 1)

    majority_answer = int(np.bincount(train.answers, minlength=len(answers)).argmax())
    majority = float(np.mean(test.answers == majority_answer))
    shape = {"channels": tuple(cfg["channels"]), "embed_dim": cfg["embed_dim"], "hidden": cfg["hidden"],
             "dim": cfg["dim"], "fusion": cfg["fusion"], "batch_norm": cfg["batch_norm"]}
    curves, predictions, parameters = {}, {}, {}
    for label, use_image, epochs in (("image+question", True, cfg["epochs"]),
                                     ("question only", False, cfg["baseline_epochs"])):
        torch.manual_seed(seed)
        model = VqaNet(len(vocab), len(answers), use_image=use_image, **shape)
        curves[label] = _train(model, train, test, epochs, cfg, seed)
        predictions[label] = _predict(model, test)
        parameters[label] = sum(p.numel() for p in model.parameters())
    accuracy = {label: round(float(np.mean(p == test.answers)), 4) for label, p in predictions.items()}
    _plot(out_dir, curves, majority, test, predictions["image+question"], answers, seed)
    kinds = {label: _per_type(p, test, answers) for label, p in predictions.items()}
    table = ["## Test accuracy by question kind", "", "| model | all | yes/no | shape | colour |", "|---|---|---|---|---|"]
    table += [f"| {label} | {accuracy[label]:.4f} | " + " | ".join(f"{kinds[label][k]['accuracy']:.4f}"
                                                        for k in ("yes/no", "shape", "color")) + " |"
              for label in predictions]
    table.append(f"| majority answer ({answers[majority_answer]}) | {majority:.4f} | | | |")
    return {
        "headline": headline("easy-vqa test accuracy", accuracy["image+question"], cfg["threshold"]),
        "test_accuracy": accuracy["image+question"],
        "question_only_accuracy": accuracy["question only"],
        "majority_answer_accuracy": round(majority, 4),
        "majority_answer": answers[majority_answer],
        "per_question_kind": kinds,
        "parameters": parameters,
        "training": curves,
        "data": {"train_images": len(train.images), "train_questions": len(train.answers),
                 "test_images": len(test.images), "test_questions": len(test.answers), "answers": answers,
                 "vocabulary": len(vocab), "load_seconds": load_seconds},
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        "markdown": "\n".join(table),
    }
