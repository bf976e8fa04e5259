"""Players by name for the GTP engine, the terminal and the match runner.

``make(name, size, **strength)`` -> an object with ``genmove(board, visits=None, seconds=None)``
returning ``tenuki.search.players.Move``. Names: ``random``, ``flat-mc``, ``mcts`` (UCT + light rollouts),
``policy``, ``az-mcts``, ``alphago`` (these three take ``--weights``: a checkpoint written by
``tenuki.agents.go.networks.checkpoint``; without one they default to the networks tenuki ships for the board
size: ``SHIPPED_WEIGHTS`` (AlphaZero nets, for ``az-mcts`` and ``policy``), ``SHIPPED_POLICY`` and
``SHIPPED_VALUE`` (AlphaGo's SL policy and value nets, for ``policy`` and ``alphago``)), and
``auto``: the strongest player tenuki has for the board size -- ``az-mcts`` with the shipped
AlphaZero net where that net beats ``mcts`` (``AUTO_AZ_SIZES``), else ``policy`` with the shipped
AlphaGo policy net where there is one (19x19), else ``mcts``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tenuki.envs.go.board import Board
from tenuki.search.mcts import SearchConfigError
from tenuki.search.players import Move, make_player

PLAYER_NAMES = ("auto", "random", "flat-mc", "mcts", "policy", "az-mcts", "alphago")
NETWORK_PLAYERS = ("policy", "az-mcts", "alphago")
# Networks shipped with tenuki, by board size: the default weights of ``policy`` and ``az-mcts``.
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "agents" / "go" / "weights"
SHIPPED_WEIGHTS = {9: WEIGHTS_DIR / "az9x9.safetensors"}  # AlphaZero nets (``tenuki selfplay``)
# AlphaGo SL policy (``tenuki train sl-policy``): the 13x192 net of configs/sl/policy19-gpu.yaml (49.1% top-1;
# sl-policy19, the 6x64 CPU net at 42.75%, stays in the weights folder: the RL policy starts from it).
SHIPPED_POLICY = {19: WEIGHTS_DIR / "sl-policy19-gpu.safetensors"}
# The value net ``alphago`` takes by default with the shipped policy: none yet. sl-value19 and rl-value19 are
# shipped (README: test MSE 0.66 / 0.65), but whether they make the player stronger is not measured; pass
# them with --value-weights. An entry here names a shipped file (tests/play/test_registry_defaults.py).
SHIPPED_VALUE: dict[int, Path] = {}
# Sizes where ``auto`` plays az-mcts with the shipped AlphaZero net: only where that net beats the
# pure-rollout ``mcts`` player at equal time (README, self-play section: the 9x9 net of run go9x9-h
# won 14 of 16 games at 0.5 s a move and 13 of 16 at 1 s).
AUTO_AZ_SIZES: frozenset[int] = frozenset({9})


def _existing(table: dict[int, Path], size: int) -> Path | None:
    path = table.get(size)
    return path if path is not None and path.exists() else None


def shipped_weights(size: int) -> Path | None:
    """The AlphaZero network shipped for ``size`` (trained by ``tenuki selfplay``), or None."""
    return _existing(SHIPPED_WEIGHTS, size)


def shipped_policy(size: int) -> Path | None:
    """The AlphaGo SL policy network shipped for ``size``, or None."""
    return _existing(SHIPPED_POLICY, size)


def shipped_value(size: int) -> Path | None:
    """The AlphaGo value network shipped for ``size``, or None."""
    return _existing(SHIPPED_VALUE, size)


def _shipped_sizes(name: str) -> str:
    tables = {"az-mcts": (SHIPPED_WEIGHTS,), "alphago": (SHIPPED_POLICY,)}.get(name, (SHIPPED_WEIGHTS, SHIPPED_POLICY))
    sizes = sorted({size for table in tables for size in table})
    return ", ".join(f"{n}x{n}" for n in sizes) or "no board size"


def resolve(name: str, size: int, weights: str | None = None) -> tuple[str, str | None]:
    """``auto`` -> ``az-mcts`` with ``weights``, or with the shipped AlphaZero net where it beats
    ``mcts`` (``AUTO_AZ_SIZES``), else ``policy`` with the shipped AlphaGo policy net, else ``mcts``. Without
    ``weights``, ``az-mcts`` gets the shipped AlphaZero net, ``alphago`` the shipped AlphaGo policy
    net and ``policy`` either (AlphaZero first)."""
    if name == "auto":
        if weights is not None:
            return "az-mcts", weights
        if size in AUTO_AZ_SIZES and (shipped := shipped_weights(size)) is not None:
            return "az-mcts", str(shipped)
        if (shipped := shipped_policy(size)) is not None:
            return "policy", str(shipped)
        return "mcts", None
    if weights is not None:
        return name, weights
    candidates = {"az-mcts": (shipped_weights,), "policy": (shipped_weights, shipped_policy),
                  "alphago": (shipped_policy,)}.get(name, ())
    for find in candidates:
        if (shipped := find(size)) is not None:
            return name, str(shipped)
    return name, None


class RandomPlayer:
    """Uniform over legal moves that do not fill an own true eye; passes when none is left."""

    name = "random"

    def __init__(self, seed: int = 0, **_: object):
        self.rng = np.random.default_rng(seed)

    def genmove(self, board: Board, visits: int | None = None, seconds: float | None = None) -> Move:
        from tenuki.envs.go.kernels import action_to_point
        from tenuki.envs.go.playout import is_true_eye

        st = board._st
        color = board.to_play
        moves = [int(a) for a in board.legal_moves()[:-1] if not is_true_eye(st, action_to_point(st, a), color)]
        action = int(self.rng.choice(moves)) if moves else board.size * board.size
        return Move(action)


class FlatMCAdapter:
    name = "flat-mc"

    def __init__(self, visits: int = 32, seed: int = 0, **_: object):
        from tenuki.search.flat_mc import FlatMonteCarloPlayer

        self.bot = FlatMonteCarloPlayer(playouts_per_move=max(1, visits), seed=seed)

    def genmove(self, board: Board, visits: int | None = None, seconds: float | None = None) -> Move:
        return Move(self.bot.genmove(board))


def make(name: str, size: int = 19, weights: str | None = None, value_weights: str | None = None, **options):
    """A player by name. ``options``: visits, seed, resign_threshold, temperature, ... (see
    tenuki.search.players). Network players load ``weights`` (safetensors checkpoint). ``alphago`` takes
    an AlphaGo policy network as ``weights`` and, optionally, a value network as ``value_weights``
    (without one, leaves are valued by rollouts alone)."""
    if name not in PLAYER_NAMES:
        raise SearchConfigError(f"player {name!r} is unknown (allowed: {', '.join(PLAYER_NAMES)})")
    explicit_weights = weights is not None
    name, weights = resolve(name, size, weights)
    if name == "alphago" and not explicit_weights and value_weights is None and weights is not None:
        shipped = shipped_value(size)  # the shipped policy net goes with the shipped value net
        value_weights = str(shipped) if shipped is not None else None
    if name == "random":
        return RandomPlayer(**options)
    if name == "flat-mc":
        return FlatMCAdapter(**options)
    evaluator = None
    if name in NETWORK_PLAYERS:
        if weights is None:
            raise SearchConfigError(f"player {name!r} needs --weights (a checkpoint of a network); tenuki ships "
                                    f"one for {_shipped_sizes(name)} only")
        from tenuki.agents.go.evaluator import TorchEvaluator
        from tenuki.agents.go.networks.checkpoint import load_checkpoint

        model, meta = load_checkpoint(weights)
        if getattr(model, "board_size", size) != size:
            raise SearchConfigError(f"the network in {weights} is for {model.board_size}x{model.board_size}, "
                                    f"not {size}x{size}")
        if value_weights is not None:
            if name != "alphago" or meta.architecture != "alphago_policy":
                raise SearchConfigError("--value-weights goes with --player alphago and an AlphaGo policy network "
                                        f"as --weights (got player {name!r}, a {meta.architecture} network)")
            from tenuki.agents.go.evaluator import combine_policy_value

            value, _ = load_checkpoint(value_weights, architecture="alphago_value")
            if value.board_size != size:
                raise SearchConfigError(f"the value network in {value_weights} is for {value.board_size}x"
                                        f"{value.board_size}, not {size}x{size}")
            model = combine_policy_value(model, value)
        from tenuki.agents.go.evaluator import fast_cpu_options

        evaluator = TorchEvaluator(model, **fast_cpu_options())  # play: batch norm folded, NHWC, bfloat16 where native
    return make_player(name, evaluator=evaluator, **options)
