#!/usr/bin/env python3
"""Runs `ranet bench` and the peers' benchmark (ONNX Runtime, OpenVINO: ../shared/bench/peers.py)
on the same network, batch sizes and threads, alternating them round by round so that both see
the same machine, and prints each runtime's median images/s and our ratio to the best peer.

    pip install onnxruntime openvino numpy        # optional: a missing runtime is skipped
    python3 scripts/bench_vs_peers.py --model ../shared/reference/models/cifar-c1 \\
        --onnx ../shared/reference/models/cifar-c1/cifar-c1.onnx --batch 1 64 --threads 2

Early exit against the peers' whole network (the bundled Fashion-MNIST model and its thresholds):

    python3 scripts/bench_vs_peers.py --onnx ../shared/models/fashion-mnist/fashion-mnist.onnx --batch 64 \\
        --ranet-args="--mode budgeted --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

On a CPU with bf16 units OpenVINO computes in bf16 by default (logits off by up to 4e-2 of the
largest): --openvino-f32 also times it held to f32 (INFERENCE_PRECISION_HINT), in both settings.
--openvino-env ONEDNN_MAX_CPU_ISA=AVX2 runs that f32 OpenVINO as on an AVX2-only CPU (where f32
is its default), beside ranet's --ranet-env caps; ONNX Runtime cannot be capped.
Every row says the precision it ran; each ranet row gets two ratios: against the best f32 peer,
and against OpenVINO's default (the best of its two settings). --ranet-precision f32 bf16 times
ranet in both.

ranet runs in both settings the peers' OpenVINO has: one call at a time on every thread, and (as
OpenVINO's throughput setting runs several requests) `--requests N`, N calls in flight each on
threads / N threads; --ranet-requests picks which (default: 1 and --threads).

Measure on a quiet machine and read the ratios, not the absolute figures."""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def run_json_lines(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# OpenVINO held to f32, in its latency and throughput settings, as peers.py times the others.
OPENVINO_F32 = r"""
import json, sys, time
import numpy as np
import openvino as ov
onnx, batch, threads, seconds, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
core = ov.Core(); m = core.read_model(onnx); m.reshape({"input": [batch, 3, size, size]})
for hint in ["LATENCY", "THROUGHPUT"]:
    c = core.compile_model(m, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": "f32"})
    q = ov.AsyncInferQueue(c, 1 if hint == "LATENCY" else c.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    def burst():
        for _ in range(len(q)):
            q.start_async({0: x})
        q.wait_all()
    for _ in range(3):
        burst()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        burst(); n += 1
    ips = batch * len(q) * n / (time.perf_counter() - t0)
    name = "openvino-f32" + ("" if hint == "LATENCY" else "-throughput")
    print(json.dumps({"runtime": name, "batch": batch, "images_per_s": round(ips, 2)}), flush=True)
"""


def machine_line(ranet_env_items, openvino_env_items):
    """Date, CPU and instruction sets, and the caps: what a ratio needs to be read against."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name", platform.processor() or platform.machine())
    if "cpu family" in fields:
        cpu += " (family %s, model %s)" % (fields["cpu family"], fields.get("model", "?"))
    flags = fields.get("flags", fields.get("Features", "")).split()
    isa = [name for name in ("avx512f", "avx2", "fma", "asimd") if name in flags]
    caps = " ".join(ranet_env_items) or "none"
    if openvino_env_items:
        caps += "; OpenVINO f32's caps: " + " ".join(openvino_env_items)
    return "%s UTC, %s, %d cores, %s; ranet's caps: %s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), cpu, os.cpu_count() or 0,
        " ".join(isa) or platform.machine(), caps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model for ranet (run folder, checkpoint or .safetensors; default: its bundled model)")
    ap.add_argument("--onnx", required=True, help="the same network exported to ONNX, for the peers")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=32, help="input height and width")
    ap.add_argument("--ranet", default=os.path.join(ROOT, ".build", "release", "ranet"))
    ap.add_argument("--peers", default=os.path.join(ROOT, "..", "shared", "bench", "peers.py"))
    ap.add_argument("--ranet-args", default="", help="more arguments for ranet bench, e.g. \"--mode budgeted --data FILE\"")
    ap.add_argument("--ranet-requests", type=int, nargs="+", metavar="N",
                    help="ranet's calls in flight, one setting each (default: 1 and --threads)")
    ap.add_argument("--openvino-f32", action="store_true", help="also OpenVINO held to f32")
    ap.add_argument("--ranet-precision", nargs="+", default=["f32"], choices=["f32", "bf16"], help="ranet's precisions, one run each")
    ap.add_argument("--ranet-env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment for ranet only, e.g. RANET_MAX_LANES=8 and DNNL_MAX_CPU_ISA=AVX2 to run the AVX2 "
                         "paths on an AVX-512 machine")
    ap.add_argument("--openvino-env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment for the OpenVINO held to f32 (with --openvino-f32), e.g. ONEDNN_MAX_CPU_ISA=AVX2; "
                         "its rows are then named 'capped'")
    a = ap.parse_args()
    if a.openvino_env and not a.openvino_f32:
        sys.exit("--openvino-env applies to --openvino-f32's runs: add --openvino-f32")
    if not os.path.exists(a.ranet):
        sys.exit("build ranet first: swift build -c release --product ranet")
    ranet_env = dict(os.environ, **dict(item.split("=", 1) for item in a.ranet_env))
    openvino_env = dict(os.environ, **dict(item.split("=", 1) for item in a.openvino_env))
    settings = a.ranet_requests or sorted({1, a.threads})
    results = {}  # (runtime, batch) -> [images/s]
    for round_ in range(a.rounds):
        for batch in a.batch:
            ours = []
            for precision in a.ranet_precision:
                for requests in settings:
                    ours += run_json_lines([a.ranet, "bench"] + (["--model", a.model] if a.model else []) +
                                           ["--batch", str(batch), "--threads", str(a.threads), "--requests", str(requests),
                                            "--precision", precision, "--seconds", str(a.seconds), "--json"] + a.ranet_args.split(),
                                           env=ranet_env)
            peers = run_json_lines([sys.executable, a.peers, a.onnx, "--batch", str(batch), "--threads", str(a.threads),
                                    "--seconds", str(a.seconds), "--size", str(a.size)])
            for row in ours:
                setting = "" if row["requests"] == 1 else ", %d requests" % row["requests"]
                results.setdefault(("ranet " + row["mode"] + setting, row["precision"], batch), []).append(row["images_per_s"])
            if a.openvino_f32:
                held = run_json_lines([sys.executable, "-c", OPENVINO_F32, a.onnx, str(batch), str(a.threads),
                                       str(a.seconds), str(a.size)], env=openvino_env)
                peers += [dict(row, runtime=row["runtime"] + " capped") for row in held] if a.openvino_env else held
            for row in peers:
                # "openvino 2026.4.1-22982-e213a…-releases/2026/4" reads as "openvino 2026.4.1".
                runtime = re.sub(r"-\d+-[0-9a-f]+-releases/\S+", "", row["runtime"])
                results.setdefault((runtime, row.get("precision", "f32"), batch), []).append(row["images_per_s"])
            print("round %d, batch %d done" % (round_ + 1, batch), file=sys.stderr)
    print(machine_line(a.ranet_env, a.openvino_env))
    print("%-34s %-9s %6s %12s %16s %18s" % ("runtime", "precision", "batch", "images/s", "vs best f32 peer",
                                               "vs OpenVINO default"))
    for batch in a.batch:
        medians = {(rt, p): statistics.median(v) for (rt, p, b), v in results.items() if b == batch}
        peers_f32 = [v for (rt, p), v in medians.items() if not rt.startswith("ranet") and p == "f32"]
        # OpenVINO as it comes (no precision held): peers.py's "openvino" rows, either setting.
        default = [v for (rt, p), v in medians.items() if rt.startswith("openvino") and not rt.startswith("openvino-f32")]
        best_f32, best_default = max(peers_f32, default=None), max(default, default=None)
        for (rt, p), v in sorted(medians.items(), key=lambda kv: -kv[1]):
            ours = rt.startswith("ranet")
            f32_ratio = "%.2fx" % (v / best_f32) if ours and best_f32 and p == "f32" else ""
            default_ratio = "%.2fx" % (v / best_default) if ours and best_default else ""
            print("%-34s %-9s %6d %12.1f %16s %18s" % (rt, p, batch, v, f32_ratio, default_ratio))


if __name__ == "__main__":
    main()
