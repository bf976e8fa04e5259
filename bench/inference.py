"""Benchmark: the shipped 9x9 network's inference on the CPU, today's fast torch path against ONNX Runtime,
OpenVINO and torch.compile, all measured in the same run (issue 27).

    python -m bench.inference [--rounds 7] [--seconds 0.5] [--batches 8,16,32] [--record]

The network is ``agents/go/weights/az9x9.safetensors`` (AlphaZeroNet, 4 blocks x 48 channels; its ownership
head is not computed: search reads the policy logits and the value, ``TorchEvaluator.__call__``). Every
engine is a numpy-in, numpy-out callable like the evaluator that search calls, timed on the same batches
of realistic planes (positions of random 9x9 games, ``board_planes``):

- ``torch_fast``: the baseline, ``TorchEvaluator(model, **fast_cpu_options())`` as play and self-play
  use it (batch norm folded, NHWC, bfloat16 autocast where the CPU computes it natively);
- ``torch_fp32`` (the plain float32 model, also the reference of the error columns) and
  ``torch_fused_fp32`` (folded + NHWC, float32): context;
- peers, each given the same folded float32 model: ``onnxruntime_fp32`` (legacy TorchScript ONNX export,
  dynamic batch, CPU provider, all graph optimisations), ``openvino_fp32`` / ``openvino_bf16``
  (``ov.convert_model`` of the torch module, batch dynamic, 9x9 static, precision hint f32 / bf16, the
  latter only where the CPU has bf16), ``torch_compile_fp32`` / ``torch_compile_fast`` (``torch.compile``,
  default mode, inductor, one static graph per batch size; the second under bfloat16 autocast as the
  fast path). A peer whose package is missing or whose build fails is reported as skipped with the reason.

Threads: 1 for everyone (torch.set_num_threads(1), ORT intra_op_num_threads=1, OpenVINO
INFERENCE_NUM_THREADS=1), as the play and self-play workers run; then the fast torch path and the fastest
peer within tolerance again at 1 and 2 threads (``two_threads``). Each batch size is timed in ``rounds``
rounds of alternating slices (the order reversed every other round); each engine's rate is the median
over rounds and ``vs_fast`` the median of its per-round ratios to ``torch_fast`` (paired, so a load that
comes and goes hits both alike).

Errors: the maximum absolute difference of the policy logits, of the softmax policy and of the values
against the plain float32 torch model, over all the positions, at each batch size. Tolerances: float32
engines ``|d| <= 1e-3 * max(1, |reference|)``; bfloat16 engines logits within 0.15 and values within 0.03
(3x the ``TorchEvaluator`` docstring's ~0.05 / ~0.01), and the policy within 0.02 in probability.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bench.common import print_result, timed_until

WEIGHTS = "agents/go/weights/az9x9.safetensors"
BASELINE = "torch_fast"
REFERENCE = "torch_fp32"
CONTEXT = ("torch_fp32", "torch_fused_fp32")  # torch rows that are not peers
ENGINES = ("torch_fast", "torch_fp32", "torch_fused_fp32", "onnxruntime_fp32", "openvino_fp32", "openvino_bf16",
           "torch_compile_fp32", "torch_compile_fast")
TOLERANCE = {
    "float32": {"rule": "|d| <= 1e-3 * max(1, |reference|), elementwise", "relative": 1e-3},
    "bfloat16": {"rule": "|d| <= bound, elementwise", "policy_logits": 0.15, "values": 0.03, "policy_probs": 0.02},
}

Outputs = tuple[np.ndarray, np.ndarray]  # policy_logits float32[B, 82], values float32[B]


class Skipped(Exception):
    """An engine that cannot run here (package missing, build failed): the reason goes into the JSON."""


@dataclass
class Engine:
    name: str
    run: Callable[[np.ndarray], Outputs]
    precision: str  # "float32" or "bfloat16"
    threads: int
    torch_threads: bool  # torch.set_num_threads(threads) before each slice
    description: str
    build_s: float = 0.0
    errors: dict[str, float] = field(default_factory=dict)
    within_tolerance: bool | None = None


# --- positions -------------------------------------------------------------------------------------------


def realistic_planes(count: int = 96, seed: int = 0) -> np.ndarray:
    """float32[count, 17, 9, 9]: positions of random 9x9 games (uniform legal moves, pass only when forced),
    taken every few moves from the opening to ~70 moves in, planes for the side to move."""
    from tenuki.envs.go.board import Board
    from tenuki.envs.go.features import board_planes

    rng = np.random.default_rng(seed)
    planes: list[np.ndarray] = []
    while len(planes) < count:
        board = Board(9)
        for move in range(int(rng.integers(40, 90))):
            legal = board.legal_moves()
            points = legal[legal != 81]
            board.play(int(rng.choice(points)) if len(points) else 81)
            if move % 3 == 0 and len(planes) < count:
                planes.append(board_planes(board, board.to_play))
    return np.ascontiguousarray(np.stack(planes), dtype=np.float32)


# --- engines ---------------------------------------------------------------------------------------------


def load_model():
    from tenuki.agents.go.networks.checkpoint import load_checkpoint

    model, _ = load_checkpoint(WEIGHTS)
    return model.eval()


def _torch_evaluator(model, options: dict[str, bool]) -> Callable[[np.ndarray], Outputs]:
    from tenuki.agents.go.evaluator import TorchEvaluator

    return TorchEvaluator(copy.deepcopy(model), **options)


def _folded(model):
    from tenuki.agents.go.evaluator import fold_batch_norm

    return fold_batch_norm(model).eval()


def _onnxruntime(model, threads: int) -> Callable[[np.ndarray], Outputs]:
    try:
        import onnxruntime as ort
    except ImportError as error:
        raise Skipped(f"onnxruntime not installed ({error})") from None
    import io
    import warnings

    buffer = io.BytesIO()
    axes = {"planes": {0: "batch"}, "policy_logits": {0: "batch"}, "values": {0: "batch"}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_folded(model), (torch.zeros(8, 17, 9, 9),), buffer, dynamo=False, opset_version=17,
                              input_names=["planes"], output_names=["policy_logits", "values"], dynamic_axes=axes)
    except Exception as error:  # noqa: BLE001 - any exporter failure is a result to report
        raise Skipped(f"torch.onnx.export failed: {type(error).__name__}: {error}"[:400]) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(planes: np.ndarray) -> Outputs:
        logits, values = session.run(None, {"planes": planes})
        return logits, values

    return run


def openvino_has_bf16() -> bool:
    try:
        import openvino as ov
    except ImportError:
        return False
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def _openvino(model, threads: int, precision: str) -> Callable[[np.ndarray], Outputs]:
    try:
        import openvino as ov
    except ImportError as error:
        raise Skipped(f"openvino not installed ({error})") from None
    if precision == "bf16" and not openvino_has_bf16():
        raise Skipped("the CPU has no bf16 for OpenVINO")
    core = ov.Core()
    converted = ov.convert_model(_folded(model), example_input=torch.zeros(8, 17, 9, 9))
    converted.reshape({converted.input(0): ov.PartialShape([-1, 17, 9, 9])})
    compiled = core.compile_model(converted, "CPU", {
        "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": precision,
    })
    request = compiled.create_infer_request()

    def run(planes: np.ndarray) -> Outputs:
        result = request.infer({0: planes}, share_inputs=True, share_outputs=False)
        return result[0], result[1]

    return run


def _torch_compile(model, threads: int, bf16: bool) -> Callable[[np.ndarray], Outputs]:
    """torch.compile of the folded NHWC model (default mode); compiles on the first call of each batch size."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # inductor's C++ kernels take the thread count when they are generated
    network = _folded(model).to(memory_format=torch.channels_last)
    compiled = torch.compile(network, dynamic=False)

    def run(planes: np.ndarray) -> Outputs:
        x = torch.from_numpy(planes).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, values = compiled(x)
        return logits.float().numpy(), values.float().numpy()

    torch.set_num_threads(previous)
    return run


def build_engine(name: str, model, threads: int = 1) -> Engine:
    """The engine ``name`` at ``threads`` threads; ``Skipped`` where it cannot run here."""
    from tenuki.agents.go.evaluator import fast_cpu_options

    fast = fast_cpu_options()
    fast_precision = "bfloat16" if fast["autocast_bfloat16"] else "float32"
    start = time.perf_counter()
    if name == "torch_fast":
        engine = Engine(name, _torch_evaluator(model, fast), fast_precision, threads, True,
                        f"TorchEvaluator(**fast_cpu_options()) = {fast}")
    elif name == "torch_fp32":
        engine = Engine(name, _torch_evaluator(model, {}), "float32", threads, True,
                        "TorchEvaluator(model): plain float32, NCHW, batch norm as is (the reference)")
    elif name == "torch_fused_fp32":
        engine = Engine(name, _torch_evaluator(model, {"fuse": True, "channels_last": True}), "float32", threads,
                        True, "TorchEvaluator(fuse=True, channels_last=True): the fast path in float32")
    elif name == "onnxruntime_fp32":
        engine = Engine(name, _onnxruntime(model, threads), "float32", threads, False,
                        "ONNX Runtime CPUExecutionProvider, folded model, legacy export opset 17, ORT_ENABLE_ALL")
    elif name in ("openvino_fp32", "openvino_bf16"):
        precision = {"openvino_fp32": "f32", "openvino_bf16": "bf16"}[name]
        engine = Engine(name, _openvino(model, threads, precision), "bfloat16" if precision == "bf16" else "float32",
                        threads, False, f"OpenVINO CPU, ov.convert_model(folded model), "
                                        f"INFERENCE_PRECISION_HINT={precision}, LATENCY, 1 stream")
    elif name in ("torch_compile_fp32", "torch_compile_fast"):
        bf16 = name == "torch_compile_fast" and fast["autocast_bfloat16"]
        if name == "torch_compile_fast" and not bf16:
            raise Skipped("no native bfloat16 on this CPU: the same as torch_compile_fp32")
        engine = Engine(name, _torch_compile(model, threads, bf16), "bfloat16" if bf16 else "float32", threads,
                        True, "torch.compile(folded NHWC model, dynamic=False), mode default (inductor)"
                              + (", bfloat16 autocast" if bf16 else ""))
    else:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    engine.build_s = time.perf_counter() - start
    return engine


# --- accuracy --------------------------------------------------------------------------------------------


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def compare(engine: Engine, planes: np.ndarray, reference: Outputs, batches: Sequence[int]) -> None:
    """Run ``engine`` over all ``planes`` at each batch size (this is also its warm-up and, for
    torch.compile, its compilation) and set its errors against ``reference`` and its verdict."""
    ref_logits, ref_values = reference
    errors = {"policy_logits": 0.0, "values": 0.0, "policy_probs": 0.0}
    ok = True
    _set_threads(engine)
    for batch in batches:
        outs = [engine.run(planes[i:i + batch]) for i in range(0, len(planes) - batch + 1, batch)]
        used = len(outs) * batch
        logits = np.concatenate([np.asarray(o[0], np.float32).reshape(-1, ref_logits.shape[1]) for o in outs])
        values = np.concatenate([np.asarray(o[1], np.float32).reshape(-1) for o in outs])
        d_logits = np.abs(logits - ref_logits[:used])
        d_values = np.abs(values - ref_values[:used])
        d_probs = np.abs(_softmax(logits) - _softmax(ref_logits[:used]))
        errors["policy_logits"] = max(errors["policy_logits"], float(d_logits.max()))
        errors["values"] = max(errors["values"], float(d_values.max()))
        errors["policy_probs"] = max(errors["policy_probs"], float(d_probs.max()))
        if engine.precision == "float32":
            rel = TOLERANCE["float32"]["relative"]
            ok &= bool((d_logits <= rel * np.maximum(1.0, np.abs(ref_logits[:used]))).all())
            ok &= bool((d_values <= rel * np.maximum(1.0, np.abs(ref_values[:used]))).all())
        else:
            bound = TOLERANCE["bfloat16"]
            ok &= errors["policy_logits"] <= bound["policy_logits"] and errors["values"] <= bound["values"]
            ok &= errors["policy_probs"] <= bound["policy_probs"]
    engine.errors = {key: float(f"{value:.3g}") for key, value in errors.items()}
    engine.within_tolerance = bool(ok)


# --- timing ----------------------------------------------------------------------------------------------


def _set_threads(engine: Engine) -> None:
    torch.set_num_threads(engine.threads if engine.torch_threads else 1)


def interleaved_rates(engines: Sequence[Engine], planes: np.ndarray, batch: int, rounds: int,
                      slice_s: float) -> dict[str, list[float]]:
    """Positions per second of each engine in each of ``rounds`` rounds of alternating slices of
    ``slice_s`` seconds at ``batch`` (the order reversed every other round)."""
    chunks = [planes[i:i + batch] for i in range(0, len(planes) - batch + 1, batch)]
    rates: dict[str, list[float]] = {engine.name: [] for engine in engines}
    for round_index in range(rounds):
        for engine in engines if round_index % 2 == 0 else engines[::-1]:
            _set_threads(engine)
            counter = [0]

            def run(engine: Engine = engine, counter: list[int] = counter) -> int:
                engine.run(chunks[counter[0] % len(chunks)])
                counter[0] += 1
                return batch

            time.sleep(0.02)  # the previous engine's idle threads stop spinning
            engine.run(chunks[0])  # one untimed call after a thread change
            timed = timed_until(run, slice_s)
            rates[engine.name].append(timed.units / timed.elapsed)
    return rates


def summarise(rates: dict[str, list[float]], batch: int, baseline: str) -> dict[str, dict[str, Any]]:
    base = rates[baseline]
    out = {}
    for name, per_round in rates.items():
        median = statistics.median(per_round)
        out[name] = {
            "positions_per_s": round(median, 1),
            "us_per_batch": round(batch / median * 1e6, 1),
            "vs_fast": round(statistics.median(r / b for r, b in zip(per_round, base, strict=True)), 3),
            "rounds": [round(r) for r in per_round],
        }
    return out


# --- the benchmark ---------------------------------------------------------------------------------------


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"torch": torch.__version__}
    for package in ("onnxruntime", "openvino", "onnx"):
        try:
            found[package] = __import__(package).__version__
        except ImportError:
            found[package] = None
    return found


def run_benchmark(engines: Sequence[str] = ENGINES, batches: Sequence[int] = (8, 16, 32), rounds: int = 7,
                  slice_s: float = 0.5, two_threads: bool = True, positions: int = 96,
                  note: str = "") -> dict[str, Any]:
    """The benchmark's result (without the common tail that ``print_result`` adds)."""
    if BASELINE not in engines:
        engines = (BASELINE, *engines)
    previous_threads = torch.get_num_threads()
    load_start = os.getloadavg()
    try:
        torch.manual_seed(0)
        model = load_model()
        planes = realistic_planes(max(positions, max(batches)))
        torch.set_num_threads(1)
        with torch.inference_mode():
            ref_logits, ref_values = model(torch.from_numpy(planes))
        reference = (ref_logits.numpy().copy(), ref_values.numpy().copy())

        built: list[Engine] = []
        report: dict[str, dict[str, Any]] = {}
        for name in engines:
            start = time.perf_counter()
            try:
                engine = build_engine(name, model, threads=1)
                compare(engine, planes, reference, batches)
                engine.build_s = time.perf_counter() - start
            except Skipped as why:
                report[name] = {"skipped": str(why)}
                continue
            except Exception as error:  # noqa: BLE001 - e.g. inductor without a working compiler: report it
                report[name] = {"skipped": f"failed: {type(error).__name__}: {error}"[:600]}
                continue
            built.append(engine)
            report[name] = {"description": engine.description, "precision": engine.precision,
                            "build_and_warmup_s": round(engine.build_s, 2), "max_abs_diff": engine.errors,
                            "within_tolerance": engine.within_tolerance}

        results: dict[str, dict[str, Any]] = {}
        for batch in batches:
            rates = interleaved_rates(built, planes, batch, rounds, slice_s)
            results[str(batch)] = summarise(rates, batch, BASELINE)

        peers = [e for e in built if e.name not in (BASELINE, *CONTEXT) and e.within_tolerance]
        fastest = max(peers, key=lambda e: statistics.mean(results[str(b)][e.name]["vs_fast"] for b in batches),
                      default=None)
        result: dict[str, Any] = {
            "benchmark": "inference",
            "network": "az9x9 (AlphaZeroNet 4 blocks x 48 channels, 9x9, 17 planes); policy + value, "
                       "the ownership head not computed",
            "input": f"{len(planes)} positions of random 9x9 games (board_planes), cycled in batches",
            "baseline": BASELINE,
            "reference": f"{REFERENCE}: the plain float32 torch model",
            "threads": 1,
            "rounds": rounds,
            "slice_s": slice_s,
            "rates": "median over rounds of alternating slices; vs_fast: median of the per-round ratios",
            "tolerance": TOLERANCE,
            "engines": report,
            "batches": results,
            "fastest_peer": None if fastest is None else fastest.name,
            "versions": versions(),
        }
        if two_threads:
            result["two_threads"] = _two_threads(model, built, fastest, planes, batches, rounds, slice_s)
        load_end = os.getloadavg()
        result["machine"] = {
            "load_average_1min_start_end": [round(load_start[0], 2), round(load_end[0], 2)],
            "shared": load_start[0] > 0.5 or load_end[0] > 1.5,
            "note": note or "other processes' load is the load average above; engines interleaved",
        }
        return result
    finally:
        torch.set_num_threads(previous_threads)


def _two_threads(model, built: Sequence[Engine], fastest: Engine | None, planes: np.ndarray,
                 batches: Sequence[int], rounds: int, slice_s: float) -> dict[str, Any]:
    """The fast torch path and the fastest peer at 1 and 2 threads, interleaved; ``vs_fast`` against
    ``torch_fast`` at 1 thread."""
    by_name = {engine.name: engine for engine in built}
    group = [by_name[BASELINE]]
    names = [BASELINE]
    if fastest is not None:
        names.append(fastest.name)
    for name in names[1:]:
        group.append(by_name[name])
    for name in names:
        try:
            engine = build_engine(name, model, threads=2)
        except Skipped:
            continue
        engine.name = f"{name}@2"
        for batch in batches:  # warm-up (and compilation) at 2 threads
            _set_threads(engine)
            engine.run(planes[:batch])
        group.append(engine)
    out: dict[str, Any] = {"engines": [e.name if "@" in e.name else f"{e.name}@1" for e in group]}
    for batch in batches:
        rates = interleaved_rates(group, planes, batch, rounds, slice_s)
        out[str(batch)] = {(name if "@" in name else f"{name}@1"): row
                           for name, row in summarise(rates, batch, BASELINE).items()}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any] | int:
    parser = argparse.ArgumentParser(prog="python -m bench.inference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of alternating slices (default 7)")
    parser.add_argument("--seconds", type=float, default=0.5, help="seconds per slice (default 0.5)")
    parser.add_argument("--batches", default="8,16,32", help="batch sizes, comma-separated (default 8,16,32)")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"engines (default all: {','.join(ENGINES)})")
    parser.add_argument("--no-two-threads", action="store_true", help="leave out the 2-thread comparison")
    parser.add_argument("--note", default="", help="what else ran on the machine, kept in the JSON")
    parser.add_argument("--record", action="store_true",
                        help="run through bench.record: docs/bench/inference.json with the command")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.record:
        from bench import record

        rest = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--record"]
        return record.main(["inference", "--", "python", "-m", "bench.inference", *rest])
    t0 = time.perf_counter()
    result = run_benchmark(engines=tuple(args.engines.split(",")),
                           batches=tuple(int(b) for b in args.batches.split(",")), rounds=args.rounds,
                           slice_s=args.seconds, two_threads=not args.no_two_threads, note=args.note)
    return print_result(result, t0)


if __name__ == "__main__":
    outcome = main()
    raise SystemExit(outcome if isinstance(outcome, int) else 0)
