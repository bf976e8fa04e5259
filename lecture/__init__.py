"""The lecture companion: each model of "Introduction to Deep Learning" with a reproducible experiment.

``tenuki lecture run NAME [--quick] [--json]`` runs one experiment (``tenuki.lecture.registry.EXPERIMENTS``);
each prints ONE JSON object of measured figures and writes PNG figures and a markdown summary into its
results folder (default ``runs/lecture/NAME``). See ``lecture/README.md``.
"""
