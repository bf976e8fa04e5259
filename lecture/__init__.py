"""tenuki.lecture: the lecture companion. Each model of "Introduction to Deep Learning" with a
reproducible experiment; uses ``tenuki.common`` and torch only.

``tenuki lecture run NAME [--quick] [--json]`` runs one experiment (``EXPERIMENTS``); each prints ONE
JSON object of measured figures and writes PNG figures and a markdown summary into its results folder
(default ``runs/lecture/NAME`` under the current folder). See ``lecture/README.md``.

Parts:

=================  =====================================================================================
``common``         what every experiment shares: ``run_experiment`` (the result record and folder),
                   ``load_experiment_config``, ``seed_everything``, ``headline``, ``LectureError``
``registry``       ``EXPERIMENTS`` (name -> module) and ``experiment(name)``
``data``           the datasets from installed packages: ``mnist_5k``, ``sklearn_digits``
``cnn``            convolution, pooling and weight sharing by hand; a CNN against an MLP
``rnn_bptt``       an Elman RNN with back-propagation through time by hand; the vanishing gradient
``lstm``           the LSTM cell from the gate equations, equal to ``torch.nn.LSTM``; the adding problem
``birnn``          a bidirectional RNN fills in a masked letter
``seq2seq``        encoder-decoder translation German -> English, with and without attention (BLEU)
``vqa``            visual question answering: a CNN and a GRU fused
``autoencoders``   autoencoders, denoising and stacked, with few labels
``_*``             the experiments' models and data helpers (``_cnn_ops``, ``_seq_elman``, ...)
=================  =====================================================================================

This face loads ``common``, ``registry`` and ``data`` (numpy, pyyaml); each experiment module is
imported by ``experiment(name)`` when it runs, and only then imports torch.
"""

from __future__ import annotations

from tenuki.lecture.common import (
    LectureError,
    headline,
    load_experiment_config,
    run_experiment,
    seed_everything,
    write_summary,
)
from tenuki.lecture.data import mnist_5k, sklearn_digits
from tenuki.lecture.registry import EXPERIMENTS, experiment

__all__ = [
    "EXPERIMENTS",
    "LectureError",
    "experiment",
    "headline",
    "load_experiment_config",
    "mnist_5k",
    "run_experiment",
    "seed_everything",
    "sklearn_digits",
    "write_summary",
]
