#!/usr/bin/env python3
"""Training speed side by side: the authors' PyTorch code against `ranet bench --train`.

    bench_train_vs_pytorch.py RANET_PYTORCH_CHECKOUT ARGS_TXT [--batch 64] [--threads 2] [--rounds 3]

Both train the architecture of ARGS_TXT on random 32×32 (or 224×224) images and labels:
train mode, the sum of the exits' cross-entropies, backward, SGD with momentum 0.9 and
weight decay 1e-4 (the authors' train() step, without data loading). Rounds alternate
between the two, each timing about 10 s after a warm-up; images/s per round and the
median ratio are printed. Run it on a quiet machine, from the project root after
`swift build -c release`.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch


def pytorch_rate(model, optimizer, criterion, x, y, seconds):
    def step():
        outputs = model(x)
        loss = sum(criterion(o, y) for o in outputs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for _ in range(3):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 5:
        step()
        steps += 1
    return steps * x.shape[0] / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout")
    parser.add_argument("args_txt")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    opts = parser.parse_args()
    sys.path.insert(0, opts.checkout)
    from models.RANet import RANet

    torch.set_num_threads(opts.threads)
    with open(opts.args_txt) as f:
        args = eval(f.read(), {"Namespace": argparse.Namespace})
    model = RANet(args)
    model.train()
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
    size = 224 if args.data == "ImageNet" else 32
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(opts.batch, 3, size, size, generator=generator) * 2 - 1
    y = torch.randint(0, args.num_classes, (opts.batch,), generator=generator)
    ours, theirs = [], []
    for r in range(opts.rounds):
        theirs.append(pytorch_rate(model, optimizer, criterion, x, y, opts.seconds))
        out = subprocess.run([".build/release/ranet", "bench", "--train", "--config", opts.args_txt,
                              "--batch", str(opts.batch), "--threads", str(opts.threads), "--seconds", str(opts.seconds), "--json"],
                             check=True, capture_output=True, text=True).stdout
        ours.append(json.loads(out.strip().splitlines()[-1])["images_per_s"])
        print(f"round {r + 1}: PyTorch {torch.__version__} {theirs[-1]:.1f} images/s, ranet {ours[-1]:.1f} images/s, "
              f"ratio {ours[-1] / theirs[-1]:.2f}", flush=True)
    ratios = sorted(o / t for o, t in zip(ours, theirs))
    print(f"median ratio ranet / PyTorch: {ratios[len(ratios) // 2]:.2f} (batch {opts.batch}, {opts.threads} threads)")


if __name__ == "__main__":
    main()
