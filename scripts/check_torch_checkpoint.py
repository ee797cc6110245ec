#!/usr/bin/env python3
"""Loads a checkpoint `ranet train` or `ranet train-steps` wrote into the authors' RANet.

    check_torch_checkpoint.py RANET_PYTORCH_CHECKOUT RUN_FOLDER_OR_CHECKPOINT [ARGS_TXT]

Checks that torch.load(..., weights_only=True) reads it, that the authors' model (built
from the run's args.txt with their models/RANet.py) takes its state_dict with
strict=True, and prints the model's eval-mode top-1 per exit on a fixed random batch next
to `ranet logits` on the same batch (run from the project root, after `swift build`).
Needs torch and torchvision-free imports only; nothing is downloaded.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch


def main():
    checkout, target = sys.argv[1], sys.argv[2]
    if os.path.isdir(target):
        args_txt = os.path.join(target, "args.txt")
        checkpoint = os.path.join(target, "save_models", "model_best.pth.tar")
    else:
        checkpoint = target
        args_txt = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.dirname(target)), "args.txt")
    sys.path.insert(0, checkout)
    from models.RANet import RANet  # the authors' module

    with open(args_txt) as f:
        args = eval(f.read(), {"Namespace": argparse.Namespace})
    model = RANet(args)
    state = torch.load(checkpoint, weights_only=True)
    weights = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state["state_dict"].items()}
    model.load_state_dict(weights, strict=True)
    model.eval()
    size = 224 if args.data == "ImageNet" else 32
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((4, 3, size, size)).astype(np.float32))
    with torch.no_grad():
        theirs = torch.stack(model(x)).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), x.numpy())
        subprocess.run([".build/debug/ranet", "logits", "--model", checkpoint, "--config", args_txt,
                        "--input", os.path.join(tmp, "x.npy"), "--output", os.path.join(tmp, "y.npy")], check=True,
                       stdout=subprocess.DEVNULL)
        ours = np.load(os.path.join(tmp, "y.npy"))
    error = float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-12))
    print(f"{checkpoint}: loaded strictly into the authors' RANet ({len(weights)} tensors, "
          f"optimizer state for {len(state['optimizer']['state'])} parameters); "
          f"their eval logits vs ranet logits: {error:.2e} of the largest")
    return 0 if error < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
