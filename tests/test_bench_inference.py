"""bench.inference on a tiny budget: the torch paths only (the peers are made unimportable, so they must be
reported as skipped), the JSON's keys, and the outputs within tolerance of the float32 model."""

from __future__ import annotations

import json
import sys

from bench import inference


def test_inference_benchmark_torch_paths_and_skipped_peers(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError: reported as skipped
    monkeypatch.setitem(sys.modules, "openvino", None)
    engines = ("torch_fast", "torch_fp32", "torch_fused_fp32", "onnxruntime_fp32", "openvino_fp32")
    result = inference.run_benchmark(engines=engines, batches=(8, 16), rounds=2, slice_s=0.05, positions=32)
    json.dumps(result)  # one JSON object
    for key in ("benchmark", "baseline", "reference", "tolerance", "engines", "batches", "fastest_peer",
                "two_threads", "machine", "versions"):
        assert key in result, key
    for peer in ("onnxruntime_fp32", "openvino_fp32"):
        assert "not installed" in result["engines"][peer]["skipped"]
    for name in ("torch_fast", "torch_fp32", "torch_fused_fp32"):
        engine = result["engines"][name]
        assert engine["within_tolerance"], (name, engine["max_abs_diff"])
        for batch in ("8", "16"):
            row = result["batches"][batch][name]
            assert row["positions_per_s"] > 0 and row["us_per_batch"] > 0 and len(row["rounds"]) == 2
    assert result["engines"]["torch_fp32"]["max_abs_diff"]["policy_logits"] < 1e-4
    assert result["batches"]["8"]["torch_fast"]["vs_fast"] == 1.0
    assert result["fastest_peer"] is None
    assert set(result["two_threads"]["8"]) == {"torch_fast@1", "torch_fast@2"}


def test_realistic_planes_are_positions_not_zeros():
    planes = inference.realistic_planes(12)
    assert planes.shape == (12, 17, 9, 9) and planes.dtype.name == "float32"
    assert planes[:, :16].sum() > 0  # stones on the boards
