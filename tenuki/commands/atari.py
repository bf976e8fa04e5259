"""``tenuki atari train`` and ``tenuki atari evaluate`` (argument parsing only)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from tenuki.commands import options as shared
from tenuki.common.config_files import config_names, resolve_config

TRAIN_EXAMPLE = """examples:
  tenuki atari train --config pong                  # the shipped native DQN config, run dir runs/atari/pong
  tenuki atari train --resume runs/atari/pong       # continue a stopped run
  tenuki atari train --config pong --backend apex --actors 2
  tenuki atari train --config pong-rllib --iterations 5
  tenuki atari train --config my-pong.yaml          # a config file of your own
  tenuki atari train --config pong --set agent.n_step=3 --set train.total_steps=200000
  tenuki atari train --config pong-fast --continue-from docs/atari/continue/pong-fast/agent   # another machine's run
"""

EVALUATE_EXAMPLE = """examples:
  tenuki atari evaluate --checkpoint pong --episodes 30 --json       # a shipped network, by name
  tenuki atari evaluate --checkpoint random --env Pong --episodes 30 --json
  tenuki atari evaluate --checkpoint runs/atari/pong/best.safetensors --protocol nature --video pong.mp4
"""


WATCH_EXAMPLE = """examples:
  tenuki atari watch --checkpoint pong                   # one game of the shipped Pong agent -> pong.mp4
  tenuki atari watch --checkpoint breakout --video breakout.gif --seed 3
  tenuki atari watch --checkpoint runs/atari/pong/best.safetensors --video frames.npz   # no video extra needed
"""

EXPORT_EXAMPLE = """examples:
  tenuki atari export runs/atari/pong/best.safetensors my-pong        # float16, my-pong.safetensors/.json
  tenuki atari export runs/atari/pong-fast/checkpoints/agent-0000400000 docs/atari/continue/pong-fast/agent
                                                    # a run's online network, to continue it elsewhere
"""


def cmd_atari_train(args: argparse.Namespace) -> int:
    """Train a DQN agent on an Atari game (native loop, Ape-X on Ray, or RLlib's DQN as a baseline)."""
    from tenuki.agents.dqn.checkpoint import DQNCheckpointError
    from tenuki.agents.dqn.config import DQNConfigError, load_config
    from tenuki.agents.dqn.replay import ReplayError
    from tenuki.agents.dqn.train import RunDirError, load_run_config
    from tenuki.common.yaml_config import ConfigError
    from tenuki.envs.atari.errors import AtariConfigError

    log = (lambda _: None) if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        if args.continue_from and (args.resume or not args.config):
            raise RunDirError("--continue-from starts a new run from another run's network: give it with --config "
                              "(the config of the run it continues), not with --resume")
        if args.resume:
            if args.set:
                raise RunDirError(f"--set changes the config of a new run; the run in {args.resume} goes on with "
                                  "its stored config")
            config = load_run_config(args.resume)
            run_dir = Path(args.resume)
        elif args.config:
            config_path = resolve_config(args.config, "atari")
            config = load_config(config_path, overrides=args.set)
            run_dir = Path(args.run_dir or Path("runs") / "atari" / config_path.stem)
            if (run_dir / "checkpoints" / "state.json").exists():  # never mix a new config into a run silently
                raise RunDirError(f"{run_dir} already holds a run: continue it with --resume {run_dir} (its stored "
                                  "config), or choose another --run-dir")
        else:
            print("tenuki atari train: give --config NAME|PATH (a new run) or --resume RUN_DIR", file=sys.stderr)
            return 2
        if args.backend:
            config.backend = args.backend
        config.validate()
        if args.continue_from and config.backend != "native":
            raise RunDirError(f"--continue-from works with the native backend, not {config.backend!r}")
        progress = not args.json and not args.plain and sys.stderr.isatty()
        if config.backend == "native":
            from tenuki.agents.dqn.train import train_dqn

            summary = train_dqn(config, run_dir, max_steps=args.max_steps, max_hours=args.max_hours,
                                progress=progress, log=log, continue_from=args.continue_from)
        elif config.backend == "apex":
            from tenuki.selfplay.atari.apex import ApexRunError, run_apex

            try:
                summary = run_apex(config, run_dir, actors=args.actors, max_steps=args.max_steps, address=args.address,
                                   progress=progress, log=log, resume=True if args.resume else None)
            except ApexRunError as error:
                print(f"tenuki atari train: {error}", file=sys.stderr)
                return 2
        else:
            from tenuki.selfplay.atari.rllib import RLlibRunError, run_rllib

            try:
                summary = run_rllib(config, run_dir, iterations=args.iterations, address=args.address, log=log)
            except RLlibRunError as error:
                print(f"tenuki atari train: {error}", file=sys.stderr)
                return 2
    except (ConfigError, DQNConfigError, DQNCheckpointError, ReplayError, RunDirError, AtariConfigError,
            FileNotFoundError) as error:
        print(f"tenuki atari train: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
        if config.backend == "native":
            print(f"evaluate it: {shared.tenuki_command()} atari evaluate --checkpoint {run_dir}/best.safetensors "
                  "--episodes 30")
    return 0


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies under it (a record committed from a checkout does
    not carry the machine's absolute paths)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _play(args: argparse.Namespace, job: str, *, episodes: int, num_envs: int, video: str | None,
          threads: int = 1) -> dict | None:
    """Evaluate ``--checkpoint`` (a file, a shipped name or 'random'; ``--env``, ``--protocol``, ``--epsilon``,
    ``--seed``) for ``tenuki atari JOB``: the result, or None after a one-line error on stderr."""
    from tenuki.agents.dqn.checkpoint import DQNCheckpointError, load_q_network, resolve_dqn_checkpoint
    from tenuki.agents.dqn.evaluate import EvaluationError, check_video, evaluate_policy
    from tenuki.envs.atari.errors import AtariConfigError

    game = args.env
    try:
        check_video(video)  # a missing `video` extra is said now, not after the episodes
        if threads < 1:
            raise EvaluationError(f"--threads {threads}: expected an integer >= 1")
        if args.checkpoint == "random":
            policy, game, protocol = "random", args.env or "Pong", args.protocol or "nature"
            played = {"name": "random"}
        else:
            policy, meta = load_q_network(args.checkpoint)
            game, protocol = args.env or meta.game, args.protocol or meta.protocol_name
            played = {"name": args.checkpoint, "path": _shown(resolve_dqn_checkpoint(args.checkpoint)),
                      "game": meta.game, "protocol": meta.protocol_name, "step": meta.step,
                      "weights_sha256": meta.weights_sha256}
        import torch

        torch.set_num_threads(threads)
        progress = None
        if episodes > 1 and not getattr(args, "json", False) and sys.stderr.isatty():
            def progress(done: int, total: int) -> None:
                print(f"\repisode {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)
        result = evaluate_policy(policy, game, protocol, episodes=episodes, seed=args.seed, epsilon=args.epsilon,
                                 num_envs=num_envs, video=video, progress=progress)
        return {**result, "checkpoint": played}  # which network was played, to the byte
    except (DQNCheckpointError, EvaluationError, AtariConfigError) as error:
        print(f"tenuki atari {job}: {error}", file=sys.stderr)  # one line (a missing video extra names .npz)
    except RuntimeError as error:  # a network whose action count is not the game's
        print(f"tenuki atari {job}: the network does not fit {game!r}: {error}", file=sys.stderr)
    return None


def _answer(args: argparse.Namespace, result: dict | None, text: Callable[[dict], str]) -> int:
    """Print ``result`` as ONE JSON object (``--json``) or as ``text(result)``; exit code 2 when it is None."""
    if result is None:
        return 2
    print(json.dumps(result) if args.json else text(result))
    return 0


def cmd_atari_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint (or the random agent) under a published protocol; scores, HNS, Nature DQN."""
    result = _play(args, "evaluate", episodes=args.episodes, num_envs=args.num_envs, video=args.video,
                   threads=args.threads)
    return _answer(args, result, lambda r: (
        f"{r['game']} ({r['protocol']} protocol, epsilon {r['epsilon']}): mean {r['mean']:.1f}, median "
        f"{r['median']:.1f}, std {r['std']:.1f}, min {r['min']:.0f}, max {r['max']:.0f} over {r['episodes']} "
        f"episodes\n\n{r['markdown']}"))


def cmd_atari_watch(args: argparse.Namespace) -> int:
    """Play one game with a checkpoint (a shipped network by name, or a file) and write a video of the real
    game screen (RGB, 210 x 160 shown x2), not the network's 84 x 84 input."""
    result = _play(args, "watch", episodes=1, num_envs=1, video=args.video or f"{Path(args.checkpoint).stem}.mp4")
    return _answer(args, result, lambda r: (
        f"{r['game']} ({r['protocol']} protocol, epsilon {r['epsilon']}): score {r['mean']:.0f} in "
        f"{r['mean_episode_length']:.0f} agent steps; video {r['video']}"))


def cmd_atari_export(args: argparse.Namespace) -> int:
    """Write the Q-network of a checkpoint (a run's best/final network, or the online network of an agent
    checkpoint) as a network to ship: float16 by default, its game, protocol, step and config kept."""
    from tenuki.agents.dqn.checkpoint import DQNCheckpointError, load_q_network, save_q_network

    try:
        network, meta = load_q_network(args.checkpoint)
        written = save_q_network(args.output, network, game=meta.game, protocol=meta.protocol, step=meta.step,
                                 config=meta.config, dtype=args.dtype)
    except DQNCheckpointError as error:
        print(f"tenuki atari export: {error}", file=sys.stderr)
        return 2
    print(f"{written} ({args.dtype}, {written.stat().st_size / 1e6:.1f} MB; {meta.game}, {meta.protocol_name} protocol, "
          f"step {meta.step})")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``atari`` (jobs ``train``, ``evaluate``, ``watch``, ``export``) to the ``tenuki`` sub-commands; returns
    its parser (torch is imported by the jobs, not here)."""
    shipped = "those in agents/dqn/weights"
    atari = subparsers.add_parser("atari", help="train and evaluate DQN agents on Atari (ALE)",
                           description="DQN on the Arcade Learning Environment under named evaluation protocols.")
    jobs = atari.add_subparsers(dest="atari_command", metavar="JOB", required=True)

    train = jobs.add_parser("train", help="train a DQN agent", description=cmd_atari_train.__doc__, epilog=TRAIN_EXAMPLE,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--config", help=f"a shipped atari config by name ({', '.join(config_names('atari'))}) "
                                        "or a YAML file")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR with its stored config")
    train.add_argument("--continue-from", metavar="CHECKPOINT",
                       help="native: start this new run from another run's Q-network at its step (e.g. exported "
                            "with `tenuki atari export` and committed); its metrics.jsonl and best.* beside it are "
                            "carried on, the optimizer and the replay start afresh (stated in metrics.jsonl)")
    train.add_argument("--run-dir", help="where the run lives (default runs/atari/<config name> under the current "
                                         "folder)")
    train.add_argument("--backend", choices=("native", "apex", "rllib"), help="override the config's backend")
    train.add_argument("--max-steps", type=int,
                       help="stop when the run reaches this many agent steps, resumes included (checkpointed)")
    train.add_argument("--iterations", type=int, help="rllib: training iterations (default: up to train.total_steps)")
    train.add_argument("--max-hours", type=float, help="stop after this many hours (checkpointed)")
    train.add_argument("--actors", type=int, help="apex: Ray actor processes stepping environments")
    train.add_argument("--address", help="apex/rllib: a Ray cluster's address (default: embedded local Ray)")
    train.add_argument("--plain", action="store_true", help="no progress bar (log lines only)")
    train.add_argument("--json", action="store_true", help="print ONE JSON object (the summary)")
    shared.add_set(train)
    train.set_defaults(func=cmd_atari_train)

    evaluate = jobs.add_parser("evaluate", help="evaluate a checkpoint under a protocol", description=cmd_atari_evaluate.__doc__,
                               epilog=EVALUATE_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("--checkpoint", required=True,
                          help=f"a DQN checkpoint (.safetensors), a shipped network by name ({shipped}) or 'random'")
    evaluate.add_argument("--env", help="game, e.g. Pong (default: the checkpoint's game)")
    evaluate.add_argument("--protocol", choices=("nature", "machado", "dopamine"), help="default: the checkpoint's (random: nature)")
    evaluate.add_argument("--episodes", type=int, default=30, help="episodes to play (default 30)")
    evaluate.add_argument("--epsilon", type=float, help="exploration rate (default: the protocol's)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the emulators and of exploration (default 0)")
    evaluate.add_argument("--num-envs", type=int, default=4, help="emulators played at once (default 4)")
    evaluate.add_argument("--threads", type=int, default=1,
                          help="torch intra-op threads of the Q-network (default 1, as every command)")
    evaluate.add_argument("--video", metavar="PATH",
                          help="record the game screen (RGB, not the network's 84x84 input) of the first "
                               "episode: .mp4 or .gif (the video extra: pip install 'tenuki-rl[video]', checked "
                               "before the first episode) or .npz (raw frames, needs nothing)")
    evaluate.add_argument("--json", action="store_true", help="print ONE JSON object")
    evaluate.set_defaults(func=cmd_atari_evaluate)

    watch = jobs.add_parser("watch", help="play one game and write a video of the game screen",
                            description=cmd_atari_watch.__doc__, epilog=WATCH_EXAMPLE,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    watch.add_argument("--checkpoint", required=True,
                       help=f"a DQN checkpoint (.safetensors), a shipped network by name ({shipped}) or 'random'")
    watch.add_argument("--video", metavar="PATH",
                       help="where the video goes: .mp4 (default CHECKPOINT-NAME.mp4) or .gif (the video extra: pip "
                            "install 'tenuki-rl[video]') or .npz (raw RGB frames, needs nothing)")
    watch.add_argument("--env", help="game, e.g. Pong (default: the checkpoint's game)")
    watch.add_argument("--protocol", choices=("nature", "machado", "dopamine"),
                       help="default: the checkpoint's (random: nature)")
    watch.add_argument("--epsilon", type=float, help="exploration rate (default: the protocol's)")
    watch.add_argument("--seed", type=int, default=0, help="seed of the emulator and of exploration (default 0)")
    watch.add_argument("--json", action="store_true", help="print ONE JSON object (the episode's evaluation)")
    watch.set_defaults(func=cmd_atari_watch)

    export = jobs.add_parser("export", help="write a checkpoint's Q-network to ship (float16)",
                             description=cmd_atari_export.__doc__, epilog=EXPORT_EXAMPLE,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("checkpoint", help="a DQN checkpoint: a q_network file or an agent checkpoint")
    export.add_argument("output", help="the new checkpoint's path (OUTPUT.safetensors and OUTPUT.json)")
    export.add_argument("--dtype", choices=("float16", "float32", "bfloat16"), default="float16",
                        help="stored precision of the weights (default float16; loaded back as float32)")
    export.set_defaults(func=cmd_atari_export)
    return atari
