"""The one registry of players by name, for the GTP engine, the terminal and the match runner.

``make(name, size, **strength)`` -> a ``tenuki.search.player.Player`` (``genmove(board, visits=None,
seconds=None)`` returning a ``Move``; ``notify_played(action)``). ``build(name, evaluator, **strength)`` is
the same registry once the networks are loaded. Names: ``random``, ``flat-mc``, ``mcts`` (UCT + light
rollouts), ``policy``, ``az-mcts``, ``alphago`` (these three take ``--weights``: a checkpoint written by
``tenuki.agents.go.networks.checkpoint``; without one they default to the networks tenuki ships for the board
size: ``SHIPPED_WEIGHTS`` (AlphaZero nets, for ``az-mcts`` and ``policy``), ``SHIPPED_POLICY`` and
``SHIPPED_VALUE`` (AlphaGo's SL policy and value nets, for ``policy`` and ``alphago``)), and
``auto``: the strongest player tenuki has for the board size -- ``az-mcts`` with the shipped
AlphaZero net where that net beats ``mcts`` (``AUTO_AZ_SIZES``), ``alphago`` with the shipped AlphaGo
networks where that is the strongest measured variant (``AUTO_ALPHAGO_SIZES``: 19x19), else ``policy`` with
the shipped AlphaGo policy net where there is one, else ``mcts``.

Also the defaults every command shares (``tenuki gtp``, ``play``, ``match``, ``demo``): ``default_komi(size)``
and ``DEFAULT_THREADS`` (``make(..., threads=N)``: torch's intra-op threads for the network players).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from tenuki.envs.go.board import Board
from tenuki.envs.go.coords import to_point
from tenuki.envs.go.playout import is_true_eye, playout_len
from tenuki.search.flat_mc import FlatMonteCarloPlayer
from tenuki.search.mcts import Evaluator
from tenuki.search.player import Move, Player
from tenuki.search.players import PolicyPlayer, PUCTPlayer, UCTPlayer
from tenuki.search.settings import MCTSConfig, SearchConfig, SearchConfigError, search_params

PLAYER_NAMES = ("auto", "random", "flat-mc", "mcts", "policy", "az-mcts", "alphago")
# Where ``alphago`` takes its prior: the policy network (``--weights``), or none (every legal move equal).
ALPHAGO_PRIORS = ("policy", "uniform")
NETWORK_PLAYERS = ("policy", "az-mcts", "alphago")
# Networks shipped with tenuki, by board size: the default weights of ``policy`` and ``az-mcts``.
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "agents" / "go" / "weights"
# AlphaZero nets (``tenuki selfplay``); each replaced only by one that beats it (docs/strength/lineage.csv)
SHIPPED_WEIGHTS = {9: WEIGHTS_DIR / "az9x9.safetensors"}
# AlphaGo SL policy (``tenuki train sl-policy``): the 13x192 net of configs/sl/policy19-gpu.yaml (49.1% top-1;
# sl-policy19, the 6x64 CPU net at 42.75%, stays in the weights folder: the RL policy starts from it).
SHIPPED_POLICY = {19: WEIGHTS_DIR / "sl-policy19-gpu.safetensors"}
# What ``alphago`` adds by default to the shipped policy (no --weights given): the value net and the rollout
# policy of the strongest variant measured. On 19x19 that is p + r, the SL policy's prior and rollout19's
# rollouts, no value net: p + r, p + v and p + v + r each won every game against GNU Go 10 at 2 s a move, and
# against each other at 1 s a move p + r scored 5-3, p + v 4-4, p + v + r 3-5 (docs/strength/alphago19/
# default-selection; the intervals overlap, the point estimates rank p + r first, and it is the cheapest).
# rl-value19 and sl-value19 are shipped for --value-weights. An entry names a shipped file
# (tests/play/test_registry_defaults.py).
SHIPPED_VALUE: dict[int, Path] = {}
SHIPPED_ROLLOUT: dict[int, Path] = {19: WEIGHTS_DIR / "rollout19.safetensors"}
# The simulations a move of ``alphago`` with the shipped networks when no budget is given (neither visits nor a
# time): about a second a move on a 2-core CPU for p + r on 19x19 (~80 simulations a second), not the 800 of
# the 9x9 players, which would take ten.
SHIPPED_ALPHAGO_VISITS: dict[int, int] = {19: 100}
# ``--rollout-policy light``: the light playouts (random moves that never fill an own eye), not a learned policy
LIGHT_ROLLOUTS = "light"
# The search of the network players, as a ``search:`` section that goes through ``search_params`` like
# self-play's and gating's: AlphaZero's constants (Silver et al. 2018), leaves in batches of 16, paths of at
# most 128 moves, passing allowed from the first move, no root noise.
PLAY_SEARCH = SearchConfig(batch_size=16, max_depth=128, pass_after_move=0, dirichlet_weight=0.0)
# ``alphago``: AlphaGo's APV-MCTS (Silver et al. 2016): a constant c_puct = 5, leaf value
# (1 - lambda) v + lambda z with lambda = 0.5, a leaf expanded at its first visit (``expand_threshold``).
ALPHAGO_SEARCH = replace(PLAY_SEARCH, c_init=5.0, c_base=0.0, mix_lambda=0.5, expand_threshold=1)
# Sizes where ``auto`` plays az-mcts with the shipped AlphaZero net: only where that net beats the
# pure-rollout ``mcts`` player at equal time (README, self-play section: the 9x9 net of run go9x9-h
# won 14 of 16 games at 0.5 s a move and 13 of 16 at 1 s; the net shipped after it beat it 78.8% of 40).
AUTO_AZ_SIZES: frozenset[int] = frozenset({9})
# Sizes where ``auto`` plays ``alphago`` with the shipped networks (SHIPPED_POLICY, SHIPPED_VALUE,
# SHIPPED_ROLLOUT): where that search beats the policy network alone (docs/strength/alphago19/: p + r won every
# game against GNU Go 10 at 2 s a move, the SL policy alone 4 of 5).
AUTO_ALPHAGO_SIZES: frozenset[int] = frozenset({19})


# The komi of a game when the user gives none (area scoring, Tromp-Taylor count): 7.0 on boards up to 9x9,
# 7.5 on larger ones. Each is the komi the shipped networks of that size were trained with (self-play
# go9x9: game.komi 7.0; the 19x19 RL policy and value: 7.5) and the computer-Go servers' convention (CGOS:
# 7.0 on 9x9, 7.5 on 13x13 and 19x19). A whole-number komi can end in a draw, which every scorer handles.
SMALL_BOARD_KOMI = 7.0
SMALL_BOARD_MAX_SIZE = 9
LARGE_BOARD_KOMI = 7.5
# torch intra-op threads of a network player unless the command is told otherwise: 1, as the self-play
# workers (workers.torch_threads) and `atari evaluate`. Play searches in batches of 16 small positions,
# where a second thread gains little, and `tenuki match --parallel K` runs 2K engines side by side: one
# thread each never oversubscribes the cores. The search itself (numba) is single-threaded.
DEFAULT_THREADS = 1


def default_komi(size: int) -> float:
    """The komi of a ``size`` x ``size`` game when none is given: 7.0 up to 9x9, 7.5 above (see above)."""
    return SMALL_BOARD_KOMI if size <= SMALL_BOARD_MAX_SIZE else LARGE_BOARD_KOMI


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


def shipped_rollout(size: int) -> Path | None:
    """The AlphaGo fast rollout policy shipped for ``size``, or None."""
    return _existing(SHIPPED_ROLLOUT, size)


def _shipped_sizes(name: str) -> str:
    tables = {"az-mcts": (SHIPPED_WEIGHTS,), "alphago": (SHIPPED_POLICY,)}.get(name, (SHIPPED_WEIGHTS, SHIPPED_POLICY))
    sizes = sorted({size for table in tables for size in table})
    return ", ".join(f"{n}x{n}" for n in sizes) or "no board size"


def resolve(name: str, size: int, weights: str | None = None) -> tuple[str, str | None]:
    """``auto`` -> ``az-mcts`` with ``weights``, or with the shipped AlphaZero net where it beats
    ``mcts`` (``AUTO_AZ_SIZES``), else ``alphago`` with the shipped AlphaGo policy net where that search is the
    strongest (``AUTO_ALPHAGO_SIZES``), else ``policy`` with it, else ``mcts``. Without
    ``weights``, ``az-mcts`` gets the shipped AlphaZero net, ``alphago`` the shipped AlphaGo policy
    net and ``policy`` either (AlphaZero first)."""
    if name == "auto":
        if weights is not None:
            return "az-mcts", weights
        if size in AUTO_AZ_SIZES and (shipped := shipped_weights(size)) is not None:
            return "az-mcts", str(shipped)
        if (shipped := shipped_policy(size)) is not None:
            return ("alphago" if size in AUTO_ALPHAGO_SIZES else "policy"), str(shipped)
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
        st = board.state[: playout_len(board.size)].copy()  # the kernels' own type: a writable int64 array
        color = board.to_play
        moves = [int(a) for a in board.legal_moves()[:-1] if not is_true_eye(st, to_point(int(a), board.size), color)]
        action = int(self.rng.choice(moves)) if moves else board.size * board.size
        return Move(action)

    def notify_played(self, action: int) -> None:
        """Nothing is kept between moves."""


class FlatMCAdapter:
    """``flat-mc``: ``FlatMonteCarloPlayer`` (whose ``genmove`` answers a bare action) as a ``Player``."""

    name = "flat-mc"

    def __init__(self, visits: int = 32, seed: int = 0, **_: object):
        self.bot = FlatMonteCarloPlayer(playouts_per_move=max(1, visits), seed=seed)

    def genmove(self, board: Board, visits: int | None = None, seconds: float | None = None) -> Move:
        return Move(self.bot.genmove(board))

    def notify_played(self, action: int) -> None:
        """Nothing is kept between moves."""


def search_config(name: str, size: int, visits: int = 800, expand_threshold: int | None = None,
                  mix_lambda: float | None = None) -> MCTSConfig:
    """The PUCT settings of the network player ``name`` (``az-mcts``: ``PLAY_SEARCH``, ``alphago``:
    ``ALPHAGO_SEARCH``, with another ``expand_threshold`` or ``mix_lambda`` when given) on a ``size`` board with
    ``visits`` simulations a move. The one place the registry's players get their ``MCTSConfig``."""
    section = ALPHAGO_SEARCH if name == "alphago" else PLAY_SEARCH
    if expand_threshold is not None:
        section = replace(section, expand_threshold=expand_threshold)
    if mix_lambda is not None:
        section = replace(section, mix_lambda=mix_lambda)
    return search_params(section, size, visits=visits, root_noise=0.0)


def alphago_lambda(mix_lambda: float | None, has_value: bool) -> float:
    """The leaf mixing of ``alphago`` (leaf value (1 - lambda) v + lambda z): ``mix_lambda`` as asked, else
    AlphaGo's 0.5 with a value network and 1 (rollouts alone) without one. Without a value network the
    network's v is 0 ("no opinion"), so a lambda below 1 would only shrink the rollouts' values (a larger
    effective c_puct): a ``SearchConfigError`` (a lambda outside [0, 1] is ``_check``'s)."""
    if mix_lambda is None:
        return ALPHAGO_SEARCH.mix_lambda if has_value else 1.0
    if not has_value and mix_lambda < 1.0:
        raise SearchConfigError(f"--mix-lambda {mix_lambda} needs a value network (--value-weights): without one "
                                "leaves are valued by rollouts alone (lambda 1)")
    return float(mix_lambda)


def build(name: str, evaluator: Evaluator | None = None, size: int = 19, **options) -> Player:
    """The player ``name`` (any of ``PLAYER_NAMES`` but ``auto``) for ``size`` boards around an ``evaluator``
    that is already loaded: what ``make`` does once it has read the checkpoints, and what tests use with their
    own evaluator. Network players (``NETWORK_PLAYERS``) need the evaluator; the others ignore it."""
    if name == "random":
        return RandomPlayer(**options)
    if name == "flat-mc":
        return FlatMCAdapter(**options)
    if name == "mcts":
        return UCTPlayer(**options)
    if name in NETWORK_PLAYERS and evaluator is None:
        raise SearchConfigError(f"player {name!r} needs a network evaluator")
    if name in ("az-mcts", "alphago"):
        threshold = options.pop("expand_threshold", None) if name == "alphago" else None
        mix = options.pop("mix_lambda", None) if name == "alphago" else None
        config = search_config(name, size, visits=options.get("visits", 800), expand_threshold=threshold,
                               mix_lambda=mix)
        return PUCTPlayer(evaluator, config, name=name, **options)
    if name == "policy":
        return PolicyPlayer(evaluator, **options)
    allowed = ", ".join(n for n in PLAYER_NAMES if n != "auto")
    raise SearchConfigError(f"player {name!r} is unknown (allowed: {allowed})")


def player_factory(name: str, weights: str | None = None, value_weights: str | None = None,
                   threads: int | None = None, warm_up: bool = True, mix_lambda: float | None = None,
                   prior: str = "policy", rollout_policy: str | None = None, **options) -> Callable[[int], Player]:
    """``factory(size)`` -> a fresh player ``name`` for ``size`` boards, as ``make`` builds it, for the
    commands that start a new player at every new game or board size (``tenuki gtp``, ``tenuki play``).
    The networks are loaded once per board size and shared by the players of that size. ``warm_up``:
    the first player of each size plays one small search first (on a player of its own that shares the
    network, thrown away), so that compiled kernels and the network's first call are not paid on the
    first move of a game, inside its time. ``mix_lambda``, ``prior``, ``rollout_policy``: ``alphago``'s variants
    (``make``)."""
    _check(name, weights, value_weights, threads, mix_lambda, prior, rollout_policy)
    loaded: dict[int, tuple[str, Evaluator | None, dict]] = {}

    def factory(size: int) -> Player:
        if size not in loaded:
            loaded[size] = _load(name, size, weights, value_weights, threads, mix_lambda, prior, rollout_policy,
                                 options.get("seed", 0))
            resolved, evaluator, search = loaded[size]
            if warm_up:
                _warm_up(build(resolved, evaluator, size, **{**search, **options}), size)
            # Everything loaded so far lives as long as the process: out of the cyclic collector's sight
            # (gc.freeze), a full collection no longer walks its ~340,000 objects (0.1-0.17 s, which once
            # in a few hundred moves landed inside a move's time and overran it).
            gc.collect()
            gc.freeze()
        resolved, evaluator, search = loaded[size]
        return build(resolved, evaluator, size, **{**search, **options})

    return factory


def _warm_up(player: Player, size: int) -> None:
    """One small search and a kept subtree on an empty board: loads every kernel a move uses."""
    board = Board(size, komi=default_komi(size))
    move = player.genmove(board, visits=48)
    if not move.resigned:
        board.play(move.action)
        player.notify_played(move.action)
        player.genmove(board, visits=16)


def make(name: str, size: int = 19, weights: str | None = None, value_weights: str | None = None,
         threads: int | None = None, mix_lambda: float | None = None, prior: str = "policy",
         rollout_policy: str | None = None, **options) -> Player:
    """A player by name. ``options``: visits, seed, resign_threshold, temperature, ... (see
    tenuki.search.players). Network players load ``weights`` (safetensors checkpoint). ``alphago`` takes
    an AlphaGo policy network as ``weights`` and, optionally, a value network as ``value_weights``
    (without one, leaves are valued by rollouts alone). ``threads``: torch's intra-op threads, set when a
    network is loaded (None: leave torch's setting). Weights given to a player that uses no network are a
    ``SearchConfigError``, not ignored.

    ``alphago``'s variants (AlphaGo's Fig. 4b): ``mix_lambda`` (``alphago_lambda``: 0.5 with a value network,
    1 = rollouts alone without; 0 = the value network alone, no rollouts) and ``prior`` (``policy``: the policy
    network's prior; ``uniform``: no policy network, every legal move equal -- the value network alone with
    ``value_weights``, else rollouts alone) and ``rollout_policy`` (the rollouts: AlphaGo's learned fast rollout
    policy from this file or shipped name, e.g. ``rollout19``, or ``light`` playouts; default: the shipped
    rollout policy with the shipped policy net, else light playouts)."""
    _check(name, weights, value_weights, threads, mix_lambda, prior, rollout_policy)
    name, evaluator, search = _load(name, size, weights, value_weights, threads, mix_lambda, prior, rollout_policy,
                                    options.get("seed", 0))
    return build(name, evaluator, size, **{**search, **options})


def _check(name: str, weights: str | None, value_weights: str | None, threads: int | None,
           mix_lambda: float | None = None, prior: str = "policy", rollout_policy: str | None = None) -> None:
    """``make``'s checks of its arguments, before anything is loaded (``SearchConfigError``)."""
    if rollout_policy is not None and name != "alphago":
        raise SearchConfigError(f"--rollout-policy goes with --player alphago (which --player auto plays on 19x19 "
                                f"with its defaults); player {name!r} takes no rollout policy")
    if prior not in ALPHAGO_PRIORS:
        raise SearchConfigError(f"--prior {prior!r} is unknown (allowed: {', '.join(ALPHAGO_PRIORS)})")
    if (mix_lambda is not None or prior != "policy") and name != "alphago":
        raise SearchConfigError(f"--mix-lambda and --prior go with --player alphago (which --player auto plays on "
                                f"19x19 with its defaults); player {name!r} has no leaf mixing")
    if prior == "uniform" and weights is not None:
        raise SearchConfigError("--prior uniform plays without a policy network: leave out --weights (the value "
                                "network goes in --value-weights)")
    if mix_lambda is not None and not 0.0 <= mix_lambda <= 1.0:
        raise SearchConfigError(f"--mix-lambda {mix_lambda}: expected a number in [0, 1]")
    if name not in PLAYER_NAMES:
        raise SearchConfigError(f"player {name!r} is unknown (allowed: {', '.join(PLAYER_NAMES)})")
    if threads is not None and threads < 1:
        raise SearchConfigError(f"--threads {threads}: expected an integer >= 1")
    if weights is not None and name not in (*NETWORK_PLAYERS, "auto"):
        raise SearchConfigError(f"--weights goes with a network player ({', '.join(NETWORK_PLAYERS)} or auto); "
                                f"player {name!r} uses no network")
    if value_weights is not None and name != "alphago":
        raise SearchConfigError(f"--value-weights goes with --player alphago; player {name!r} takes no value "
                                "network")


def _load(name: str, size: int, weights: str | None, value_weights: str | None, threads: int | None,
          mix_lambda: float | None = None, prior: str = "policy", rollout_policy: str | None = None,
          seed: int = 0) -> tuple[str, Evaluator | None, dict]:
    """(the player ``name`` resolves to, its loaded evaluator or None, the search options ``build`` takes with
    them) -- ``make`` before ``build``. ``alphago`` with the shipped policy net (no ``weights``; ``auto``
    where it plays alphago) also takes the shipped value net and rollout policy unless they are given."""
    explicit_weights = weights is not None
    if prior == "uniform":  # alphago without a policy network
        evaluator = _uniform_prior_evaluator(size, value_weights, threads)
        search = {"mix_lambda": alphago_lambda(mix_lambda, value_weights is not None)}
        return name, evaluator, {**search, **_rollout_options(rollout_policy, seed)}
    name, weights = resolve(name, size, weights)
    if name == "alphago" and not explicit_weights and weights is not None:
        # ... but not what its lambda leaves unused (lambda 1: rollouts alone; lambda 0: the value net alone)
        if value_weights is None and mix_lambda != 1.0 and (shipped := shipped_value(size)) is not None:
            value_weights = str(shipped)
        if rollout_policy is None and mix_lambda != 0.0 and (shipped := shipped_rollout(size)) is not None:
            rollout_policy = str(shipped)
    evaluator = None
    if name in NETWORK_PLAYERS:
        evaluator = _network_evaluator(name, size, weights, value_weights, threads)
    if name != "alphago":
        return name, evaluator, {}
    search = {"mix_lambda": alphago_lambda(mix_lambda, value_weights is not None)}
    if not explicit_weights and size in SHIPPED_ALPHAGO_VISITS:
        search["visits"] = SHIPPED_ALPHAGO_VISITS[size]
    return name, evaluator, {**search, **_rollout_options(rollout_policy, seed)}


def _rollout_options(rollout_policy: str | None, seed: int) -> dict:
    """``build``'s ``rollout`` option for ``rollout_policy`` (a file or shipped name): its ``leaf_rollout``;
    nothing for None or ``light`` (light playouts)."""
    if rollout_policy is None or rollout_policy == LIGHT_ROLLOUTS:
        return {}
    from tenuki.agents.go.networks.checkpoint import resolve_checkpoint
    from tenuki.agents.go.rollout.model import RolloutPolicy
    from tenuki.agents.go.rollout.weights import RolloutWeightsError

    try:
        policy = RolloutPolicy.load(resolve_checkpoint(rollout_policy))
    except RolloutWeightsError as error:
        raise SearchConfigError(f"--rollout-policy: {error}") from None
    return {"rollout": policy.leaf_rollout(seed)}


def _uniform_prior_evaluator(size: int, value_weights: str | None, threads: int | None) -> Evaluator:
    """``alphago --prior uniform``: every legal move the same prior; the leaf value from the value network in
    ``value_weights`` (whose ``evaluate`` answers logits 0), else 0 (rollouts alone)."""
    if value_weights is None:
        from tenuki.search.mcts import uniform_evaluator

        return uniform_evaluator(size)
    return _play_evaluator(_value_network(value_weights, size), threads)


def _value_network(value_weights: str, size: int):
    """The AlphaGo value network in ``value_weights``, checked to be for ``size`` boards."""
    from tenuki.agents.go.networks.checkpoint import load_checkpoint

    value, _ = load_checkpoint(value_weights, architecture="alphago_value")
    if value.board_size != size:
        raise SearchConfigError(f"the value network in {value_weights} is for {value.board_size}x"
                                f"{value.board_size}, not {size}x{size}")
    return value


def _play_evaluator(model, threads: int | None) -> Evaluator:
    """``model`` prepared for play on the CPU: OpenVINO in bfloat16 where it is installed and native (1.3-1.8x,
    bench/inference.py), else torch with batch norm folded, NHWC, bfloat16 where native;
    TENUKI_INFERENCE=torch|openvino chooses. ``threads``: torch's intra-op threads (None: 1)."""
    from tenuki.agents.go.evaluator import play_evaluator

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        return play_evaluator(model, threads=threads or 1)
    except ValueError as error:
        raise SearchConfigError(str(error)) from None


def _network_evaluator(name: str, size: int, weights: str | None, value_weights: str | None,
                       threads: int | None = None) -> Evaluator:
    """The evaluator of network player ``name``: the network in ``weights`` (with the value network in
    ``value_weights`` for ``alphago``), prepared for play on the CPU."""
    if weights is None:
        raise SearchConfigError(f"player {name!r} needs --weights (a checkpoint of a network); tenuki ships "
                                f"one for {_shipped_sizes(name)} only")
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

        model = combine_policy_value(model, _value_network(value_weights, size))
    return _play_evaluator(model, threads)
