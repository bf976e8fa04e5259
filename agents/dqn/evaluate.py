"""Evaluation of an Atari agent under a named protocol (``tenuki atari evaluate``).

An evaluation plays ``episodes`` whole episodes with the protocol's evaluation settings (no life-loss
terminals, no reward clipping, the evaluation frame cap, epsilon-greedy with the protocol's epsilon)
and reports the raw game scores: mean, median, std, min, max and the human-normalised score of the
mean (``tenuki.agents.dqn.scores``), each episode's length in agent steps and ``time_capped``, how many
episodes the frame cap ended (under ``nature``, 5 minutes of play: a game still going then counts its score
so far). Episodes run in ``num_envs`` emulators at once; to avoid favouring short
episodes, environment i plays exactly its share of the episodes (episodes are dealt round-robin) and
whatever it plays after that is discarded.

``policy``: a Q-network (greedy with probability 1 - epsilon) or the string ``"random"`` (uniform
actions, i.e. epsilon 1: the random agent of the score tables).

``video``: the first episode of environment 0 as the player sees it, the game's RGB screen (210 x 160),
recorded by a second emulator played in lockstep (``tenuki.envs.atari.screen``), not the 84 x 84 gray
frames the network reads, at 15 agent steps a second (the game's speed at frame skip 4). ``.mp4`` (shown
x2, streamed to ffmpeg: the whole episode) and ``.gif`` (x1, at most ``MAX_KEPT_FRAMES``) need the ``video``
extra (``pip install 'tenuki-rl[video]'``: imageio with its ffmpeg plugin); ``.npz`` (the raw frames, at
most ``MAX_KEPT_FRAMES``) needs nothing. The extra is checked and the file opened before the first
episode (``VideoSink``), so a missing one never costs an evaluation.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tenuki.agents.dqn.scores import (
    NATURE_DQN_SOURCE,
    SCORE_TABLE_SOURCE,
    comparison_table,
    human_normalized,
    reference_scores,
)
from tenuki.envs.atari.protocols import get_protocol
from tenuki.envs.atari.screen import ScreenRecorder
from tenuki.envs.atari.vector import AtariVecEnv

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = (".gif", ".mp4", ".npz")
VIDEO_EXTRA = "pip install 'tenuki-rl[video]'"
VIDEO_FPS = 15  # agent steps a second: 60 emulator frames a second at frame skip 4
MAX_KEPT_FRAMES = 2700  # .gif / .npz keep their frames in memory: 3 minutes of game, ~270 MB of RGB screens


class EvaluationError(ValueError):
    """Evaluation settings that cannot be used (the message names the option)."""


def _greedy(network: torch.nn.Module, obs: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        q = network(torch.from_numpy(np.ascontiguousarray(obs)))
    return q.argmax(dim=1).numpy()


def check_video(path: str | Path | None) -> Path | None:
    """``path`` as a Path after checking, before any episode, that it can be written: a known suffix
    (``VIDEO_SUFFIXES``), the modules its format needs (imageio for .gif; imageio and its ffmpeg plugin
    for .mp4) and its folder (created). ``EvaluationError`` names the path and the fix otherwise."""
    if path is None:
        return None
    given, path = str(path), Path(path)
    if path.suffix not in VIDEO_SUFFIXES:
        raise EvaluationError(f"--video {given}: unknown format {path.suffix or '(no suffix)'!r} "
                              f"(allowed: {', '.join(VIDEO_SUFFIXES)})")
    needed = {".gif": ("imageio",), ".mp4": ("imageio", "imageio_ffmpeg"), ".npz": ()}[path.suffix]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise EvaluationError(f"--video {given}: writing {path.suffix} needs {' and '.join(missing)}, the video "
                              f"extra: {VIDEO_EXTRA} (a .npz path needs nothing)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EvaluationError(f"--video {given}: cannot create its folder: {error.strerror or error}") from error
    return path


class VideoSink:
    """Where the video's frames go, opened before the first episode (``check_video`` first): an .mp4 is
    streamed to ffmpeg frame by frame (each pixel shown ``scale`` x ``scale``), a .gif or .npz keeps at most
    ``MAX_KEPT_FRAMES`` frames and is written by ``close``."""

    def __init__(self, path: str | Path, scale: int = 2, fps: int = VIDEO_FPS) -> None:
        self.path = check_video(path)
        self.scale, self.fps = scale, fps
        self.frames: list[np.ndarray] = []
        self.count = 0
        self._writer = None
        if self.path.suffix == ".mp4":
            import imageio.v2 as imageio

            try:
                self._writer = imageio.get_writer(self.path, fps=fps, codec="libx264", macro_block_size=1)
            except Exception as error:  # imageio raises plain exceptions for a missing plugin or codec
                raise EvaluationError(f"--video {path}: {error}") from error

    def add(self, frame: np.ndarray) -> None:
        """One screen [H, W, 3] uint8."""
        self.count += 1
        if self._writer is not None:
            self._writer.append_data(frame.repeat(self.scale, axis=0).repeat(self.scale, axis=1))
        elif len(self.frames) < MAX_KEPT_FRAMES:
            self.frames.append(frame)
            if len(self.frames) == MAX_KEPT_FRAMES:
                log.info("video %s: kept the first %d frames (%.0f s); an .mp4 holds the whole episode",
                         self.path, MAX_KEPT_FRAMES, MAX_KEPT_FRAMES / self.fps)

    def close(self) -> Path:
        """Finish the file; its path."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        elif self.frames:
            write_video(self.path, self.frames, scale=1, fps=self.fps)
            self.frames = []
        return self.path


def evaluate_policy(policy: torch.nn.Module | str, game: str, protocol: str = "nature", *, episodes: int = 30,
                    seed: int = 0, epsilon: float | None = None, num_envs: int = 4, video: str | Path | None = None,
                    max_agent_steps: int | None = None, progress: Any = None) -> dict[str, Any]:
    """Play ``episodes`` evaluation episodes; return one JSON-ready dict (see the module docstring).

    ``epsilon``: default the protocol's evaluation epsilon (ignored by the random policy).
    ``video``: write the RGB screen of environment 0's first episode there (.gif, .mp4 or .npz; see the
    module docstring), checked before the first episode. ``progress``: called with (finished episodes,
    episodes) after each episode.
    """
    if episodes < 1:
        raise EvaluationError(f"--episodes must be >= 1, got {episodes}")
    check_video(video)  # format, the video extra, the folder: before any emulator starts
    proto = get_protocol(protocol)
    random_policy = isinstance(policy, str)
    if random_policy and policy != "random":
        raise EvaluationError(f"policy must be a Q-network or 'random', got {policy!r}")
    if epsilon is None:
        epsilon = 1.0 if random_policy else proto.eval_epsilon
    if not 0.0 <= epsilon <= 1.0:
        raise EvaluationError(f"epsilon must be in [0, 1], got {epsilon}")
    num_envs = max(1, min(num_envs, episodes))
    quota = np.array([episodes // num_envs + (1 if i < episodes % num_envs else 0) for i in range(num_envs)])
    rng = np.random.default_rng(seed)
    scores: list[list[float]] = [[] for _ in range(num_envs)]
    lengths: list[list[int]] = [[] for _ in range(num_envs)]
    capped: list[list[bool]] = [[] for _ in range(num_envs)]
    started = time.perf_counter()
    agent_steps = 0
    sink = recorder = None
    with AtariVecEnv(game, num_envs, proto, training=False, seed=seed) as env:
        try:
            if video is not None:  # after the settings and the game are known good, before any episode
                sink = VideoSink(video)
                recorder = ScreenRecorder(game, proto, training=False, seed=seed)
            obs = env.reset()
            if recorder is not None:
                sink.add(recorder.reset())
            done = 0
            while done < episodes:
                explore = rng.random(num_envs) < epsilon
                actions = rng.integers(0, env.num_actions, size=num_envs)
                if not random_policy and not explore.all():
                    actions = np.where(explore, actions, _greedy(policy, obs))
                step = env.step(actions)
                agent_steps += num_envs
                if recorder is not None:
                    screen, ended = recorder.step(int(actions[0]))
                    sink.add(screen)
                    if ended != bool(step.episode_ends[0]):  # never seen: the ALE is deterministic for a seed
                        log.warning("the video's emulator and environment 0 went apart at agent step %d; the "
                                    "video stops there", sink.count - 1)
                    if ended or step.episode_ends[0]:
                        recorder.close()
                        recorder = None
                for i in np.flatnonzero(step.episode_ends):
                    if len(scores[i]) < quota[i]:
                        scores[i].append(float(step.episode_returns[i]))
                        lengths[i].append(int(step.episode_lengths[i]))
                        capped[i].append(bool(step.truncated[i]))
                        done += 1
                        if progress is not None:
                            progress(done, episodes)
                obs = step.obs
                if max_agent_steps is not None and agent_steps >= max_agent_steps and done < episodes:
                    raise EvaluationError(f"{done} of {episodes} episodes finished within {max_agent_steps} "
                                          "agent steps")
            settings = env.settings()
        finally:  # the video holds what was recorded, also when the evaluation stopped early
            if recorder is not None:
                recorder.close()
            if sink is not None:
                sink.close()
    flat = np.array([s for per_env in scores for s in per_env], np.float64)
    flat_lengths = [n for per_env in lengths for n in per_env]  # in the order of the scores
    mean = float(flat.mean())
    hns = human_normalized(game, mean)
    ref = reference_scores(game)
    return {
        "game": ref["game"],
        "protocol": proto.name,
        "policy": "random" if random_policy else "q_network",
        "episodes": int(flat.size),
        "mean": mean,
        "median": float(np.median(flat)),
        "std": float(flat.std()),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "scores": flat.tolist(),
        "lengths": flat_lengths,  # agent steps
        "mean_episode_length": float(np.mean(flat_lengths)),
        "time_capped": sum(c for per_env in capped for c in per_env),  # episodes ended by max_frames
        "hns": None if math.isnan(hns) else hns,
        "hns_source": SCORE_TABLE_SOURCE,
        "reference": {"random": ref["random"], "human": ref["human"], "nature_dqn": ref["nature_dqn"],
                      "nature_dqn_source": NATURE_DQN_SOURCE},
        "epsilon": epsilon,
        "seed": seed,
        "num_envs": num_envs,
        "settings": {**proto.to_dict(), **settings, "training": False},
        "agent_steps": agent_steps,
        "seconds": round(time.perf_counter() - started, 2),
        "markdown": comparison_table(game, mean, proto.name, int(flat.size)),
        "video": None if video is None else str(video),
    }


def write_video(path: str | Path, frames: list[np.ndarray], scale: int = 2, fps: int = VIDEO_FPS) -> Path:
    """Write the screens ``frames`` ([H, W, 3] uint8, or [H, W] gray) to ``path`` at once: .npz (the frames
    as they are), .gif or .mp4 (imageio, each pixel shown ``scale`` x ``scale``)."""
    path = check_video(path)
    stack = np.stack(frames)
    if path.suffix == ".npz":
        np.savez_compressed(path, frames=stack)
        return path
    import imageio.v3 as iio

    big = stack.repeat(scale, axis=1).repeat(scale, axis=2)
    try:
        if path.suffix == ".gif":
            iio.imwrite(path, big, duration=1000 / fps, loop=0)
        else:
            iio.imwrite(path, big, fps=fps, codec="libx264", macro_block_size=1)
    except Exception as error:  # imageio raises plain exceptions for missing plugins
        raise EvaluationError(f"--video {path}: {error}") from error
    return path
