"""The lecture's experiments by name (modules are imported on demand: torch loads only when needed)."""

from __future__ import annotations

import importlib
from types import ModuleType

from tenuki.lecture.common import LectureError

EXPERIMENTS = {
    "cnn": "tenuki.lecture.cnn",
    "rnn-bptt": "tenuki.lecture.rnn_bptt",
    "lstm": "tenuki.lecture.lstm",
    "birnn": "tenuki.lecture.birnn",
    "seq2seq": "tenuki.lecture.seq2seq",
    "vqa": "tenuki.lecture.vqa",
    "autoencoders": "tenuki.lecture.autoencoders",
}


def experiment(name: str) -> ModuleType:
    """The module of experiment ``name``; LectureError for an unknown name."""
    if name not in EXPERIMENTS:
        raise LectureError(f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)} (or 'all')")
    return importlib.import_module(EXPERIMENTS[name])
