#!/usr/bin/env python3
"""`ranet serve` side by side with peer servers (Ray Serve, LitServe, each running the ONNX export
on OpenVINO at its default precision), all behind the same Open Inference Protocol requests:
for each server and setting, the highest rate of PNG requests (Fashion-MNIST test images,
Poisson arrivals from scripts/load_test.py on loopback) answered whole with p99 at or under the
target. Servers run one at a time on this machine and share its cores with the load generator.

    python3 scripts/serve_vs_peers.py --peers-python /path/to/venv/bin/python --json serve-vs-peers.jsonl
    python3 scripts/serve_vs_peers.py --servers ranet,ranet-full --step-seconds 20 --step-out /tmp/step

The peers need `pip install "ray[serve]==2.60.0" litserve==0.2.19 openvino pillow numpy` in the
Python given by --peers-python. With --step-seconds, the step scenario follows: 1x, 2x, 1x the
full network's highest rate, for the load-following budget and the full network alone, written as
per-second rows for scripts/plot_load_step.py."""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_test  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
# The peers' batching, tuned here: these are the settings worth trying on 2 cores (a batch of
# one answers at once; larger ones trade waiting for fewer calls into OpenVINO).
PEER_SETTINGS = [(1, 0.0, 1), (8, 1.0, 1), (32, 2.0, 1), (32, 2.0, 2)]   # max batch, wait ms, OpenVINO threads


def servers(args, full_thresholds):
    ranet = [args.ranet, "serve", "--host", "127.0.0.1", "--port", "8000"]
    adaptive = ["--calibration-data", f"{DATA}/train-images-idx3-ubyte.gz", "--calibration-indices",
                f"{ROOT}/Samples/fashion-mnist-recipe/val_indices.npy", "--latency-target", str(args.target)]
    yield "ranet", "load-following budget", ranet + adaptive, 8000
    # The full network alone queues without bound, as the peers do: what early exit saves.
    yield "ranet-full", "full network", ranet + ["--thresholds", full_thresholds, "--max-queue", "1000000"], 8000
    for batch, wait, threads in args.peer_settings:
        setting = f"max batch {batch}, wait {wait:g} ms, {threads} OpenVINO thread{'s' if threads > 1 else ''}"
        knobs = ["--max-batch", str(batch), "--batch-wait-ms", str(wait), "--threads", str(threads)]
        yield "litserve", setting, [args.peers_python, f"{ROOT}/scripts/peers/litserve_peer.py", "--port", "8002"] + knobs, 8002
        yield "ray-serve", setting, [args.peers_python, f"{ROOT}/scripts/peers/ray_serve_peer.py", "--port", "8001"] + knobs, 8001


def passes(s, target):
    return s["answered"] == s["sent"] and s["p99_ms"] <= target


def highest_rate(url, args):
    """Doubles the rate while requests are answered whole within the target, then bisects."""
    load_test.measure(url, [(args.start_rate, 3)])   # warm-up
    good, bad, rate, best = None, None, args.start_rate, None
    while bad is None and rate <= args.max_rate:
        s, _ = load_test.measure(url, [(rate, args.seconds)])
        print(f"    {rate:7.0f}/s: p50 {s['p50_ms']:6.1f} ms p99 {s['p99_ms']:7.1f} ms, answered {s['answered']}/{s['sent']}, top-1 {s['accuracy']:.2f}", flush=True)
        if passes(s, args.target):
            good, best, rate = rate, s, rate * 2
        else:
            bad = rate
    if good is None or bad is None:
        return good, best
    for _ in range(args.bisections):
        rate = round((good + bad) / 2)
        s, _ = load_test.measure(url, [(rate, args.seconds)])
        print(f"    {rate:7.0f}/s: p50 {s['p50_ms']:6.1f} ms p99 {s['p99_ms']:7.1f} ms, answered {s['answered']}/{s['sent']}, top-1 {s['accuracy']:.2f}", flush=True)
        if passes(s, args.target):
            good, best = rate, s
        else:
            bad = rate
    return good, best


def port_in_use(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(command, port, log):
    deadline = time.time() + 30
    while port_in_use(port):   # a server stopped just before may still be closing
        if time.time() > deadline:
            raise RuntimeError(f"port {port} is taken by another process")
        time.sleep(0.5)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    url = f"127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode}; see {log.name}")
        try:
            s, _ = load_test.measure(url, [(20, 0.5)], timeout=2)
            if s["answered"] > 0:
                return process, url
        except (OSError, SystemExit):
            pass
        time.sleep(1)
    stop(process)
    raise RuntimeError(f"{' '.join(command[:2])} did not answer within 180 s; see {log.name}")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranet", default=f"{ROOT}/.build/release/ranet")
    parser.add_argument("--peers-python", default=sys.executable)
    parser.add_argument("--servers", default="ranet,ranet-full,litserve,ray-serve")
    parser.add_argument("--peer-settings", type=lambda text: [(int(b), float(w), int(t)) for b, w, t in (x.split(":") for x in text.split(","))],
                        default=PEER_SETTINGS, help="the peers' batching to try: max-batch:wait-ms:threads,...")
    parser.add_argument("--target", type=float, default=50, help="p99 latency target, ms")
    parser.add_argument("--seconds", type=float, default=8, help="seconds each rate runs")
    parser.add_argument("--start-rate", type=float, default=100)
    parser.add_argument("--max-rate", type=float, default=20000)
    parser.add_argument("--bisections", type=int, default=3)
    parser.add_argument("--json", help="append one JSON line per server and setting here")
    parser.add_argument("--step-seconds", type=float, help="then run the 1x-2x-1x step, each phase this long")
    parser.add_argument("--step-out", default="step", help="prefix of the step's per-second rows")
    args = parser.parse_args()
    wanted = args.servers.split(",")
    full = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    full.write(json.dumps({"exits": 6, "thresholds": [2, 2, 2, 2, 2, 0]}))   # above any confidence: every image to the last exit
    full.close()
    rows = []
    for name, setting, command, port in servers(args, full.name):
        if name not in wanted:
            continue
        print(f"{name} ({setting})", flush=True)
        with open(f"{tempfile.gettempdir()}/serve-vs-peers-{name}.log", "w") as log:
            process, url = start(command, port, log)
            try:
                rate, s = highest_rate(url, args)
            finally:
                stop(process)
        precision = "f32"
        if name in ("litserve", "ray-serve"):
            precision = next((line.split(" at ")[-1].strip() for line in open(log.name) if "OpenVINO at" in line), "?")
        row = {"server": name, "setting": setting, "precision": precision, "target_ms": args.target,
               "highest_rate": rate, **({k: round(v, 2) for k, v in s.items()} if s else {})}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(row) + "\n")
    print("\nhighest rate answered whole with p99 <= %g ms:" % args.target)
    for row in rows:
        print(f"  {row['server']:10s} {row['precision']:5s} {row['setting']:45s} {row['highest_rate'] or 0:8.0f}/s")
    if args.step_seconds:
        capacity = next(r["highest_rate"] for r in rows if r["server"] == "ranet-full")
        phases = [(capacity, args.step_seconds), (2 * capacity, args.step_seconds), (capacity, args.step_seconds)]
        print(f"\nstep: {','.join(f'{r:.0f}:{s:g}' for r, s in phases)}")
        for name, setting, command, port in servers(args, full.name):
            if name not in ("ranet", "ranet-full"):
                continue
            with open(f"{tempfile.gettempdir()}/serve-vs-peers-{name}-step.log", "w") as log:
                process, url = start(command, port, log)
                try:
                    load_test.measure(url, [(capacity / 2, 3)])   # warm-up
                    s, per_second = load_test.measure(url, phases)
                finally:
                    stop(process)
            with open(f"{args.step_out}-{name}.jsonl", "w") as f:
                for row in per_second:
                    f.write(json.dumps(row) + "\n")
            print(f"  {name}: p99 {s['p99_ms']:.1f} ms, shed {s['shed']}, failed {s['failed']}, top-1 {s['accuracy']:.2f}"
                  f" -> {args.step_out}-{name}.jsonl", flush=True)


if __name__ == "__main__":
    main()
