"""The lecture's experiments by name (modules are imported on demand: torch loads only when needed)."""

from __future__ import annotations

import importlib
from types import ModuleType

from .common import LectureError

EXPERIMENTS = {
    "cnn": "lecture.cnn",
    "rnn-bptt": "lecture.rnn_bptt",
    "lstm": "lecture.lstm",
    "birnn": "lecture.birnn",
    "seq2seq": "lecture.seq2seq",
    "vqa": "lecture.vqa",
    "autoencoders": "lecture.autoencoders",
}


def experiment(name: str) -> ModuleType:
    """The module of experiment ``name``; LectureError for an unknown name."""
    if name not in EXPERIMENTS:
        raise LectureError(f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)} (or 'all')")
    return importlib.import_module(EXPERIMENTS[name])
