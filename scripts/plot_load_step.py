#!/usr/bin/env python3
"""Draws the step scenario of scripts/load_test.py: p50/p99 latency, top-1 accuracy and
operations per image over time, for the load-following budget and for the full network only,
with the offered load, the latency target and the accuracy floor.

    pip install matplotlib
    python3 scripts/plot_load_step.py --adaptive adaptive.jsonl --full full.jsonl \\
        --phases 800:20,1600:20,800:20 --target 50 --floor 91.3 --output step.png"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path):
    return [json.loads(line) for line in open(path)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--adaptive", required=True)
    parser.add_argument("--full", required=True)
    parser.add_argument("--phases", required=True)
    parser.add_argument("--target", type=float, required=True, help="latency target, ms")
    parser.add_argument("--floor", type=float, required=True, help="accuracy floor, percent")
    parser.add_argument("--title", default="")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    phases = [(float(r), float(s)) for r, s in (p.split(":") for p in args.phases.split(","))]
    load_x, load_y, t = [], [], 0.0
    for rate, seconds in phases:
        load_x += [t, t + seconds]
        load_y += [rate, rate]
        t += seconds
    figure, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    axes[0].plot(load_x, load_y, color="black", label="offered load")
    axes[0].set_ylabel("offered load\n(requests/s)")
    for name, path, color in (("load-following budget", args.adaptive, "tab:blue"), ("full network only", args.full, "tab:red")):
        data = rows(path)
        x = [r["second"] + 0.5 for r in data]
        axes[1].plot(x, [r["p99_ms"] for r in data], color=color, label=f"{name}, p99")
        axes[1].plot(x, [r["p50_ms"] for r in data], color=color, linestyle=":", label=f"{name}, p50")
        axes[2].plot(x, [r["accuracy"] for r in data], color=color, label=name)
        axes[3].plot(x, [r["mops"] for r in data], color=color, label=name)
        shed = [r["shed"] + r["failed"] for r in data]
        if any(shed):
            axes[0].bar(x, shed, width=0.8, color=color, alpha=0.5, label=f"{name}: shed or lost")
    axes[0].legend(fontsize=8)
    axes[1].axhline(args.target, color="gray", linestyle="--", label=f"target {args.target:g} ms")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("latency (ms)")
    axes[1].legend(fontsize=8)
    axes[2].axhline(args.floor, color="gray", linestyle="--", label=f"floor {args.floor:g}%")
    axes[2].set_ylabel("top-1 (%)")
    axes[2].legend(fontsize=8)
    axes[3].set_ylabel("operations per\nimage (M)")
    axes[3].set_xlabel("seconds")
    axes[3].legend(fontsize=8)
    if args.title:
        axes[0].set_title(args.title, fontsize=10)
    figure.tight_layout()
    figure.savefig(args.output, dpi=100)


if __name__ == "__main__":
    main()
