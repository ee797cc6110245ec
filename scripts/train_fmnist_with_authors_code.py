#!/usr/bin/env python3
"""Trains the authors' RANet on Fashion-MNIST with their train() step, the shared model's recipe
and its split, with another seed: what one more run of their own code gives, to read
`ranet train`'s accuracy against.

    train_fmnist_with_authors_code.py RANET_PYTORCH_CHECKOUT --seed 1 [--threads 2]

The recipe of ../shared/models/fashion-mnist (args.txt, README): SGD with momentum 0.9 and weight
decay 1e-4, batch 64, learning rate 0.1 divided by 10 at epochs 6 and 9 (their multistep rule for
12 epochs, set per batch as their adjust_learning_rate does), the sum of the exits' cross-entropies;
training on the first 55,000 images of index.pth's permutation, validation on its last 5,000.
Inputs as preprocessing.json: 28×28 padded by 2 to 32×32, repeated to 3 channels, then for training
torchvision's RandomCrop(32, padding=4) (zero fill) and RandomHorizontalFlip, written out here so
that torchvision is not needed; normalized with mean 0.2860 and std 0.3530. Prints each epoch's
validation top-1 per exit and, at the end, the test set's (10,000 images). About 35 minutes on
two cores with PyTorch 2.15.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def idx_images(path):
    return np.frombuffer(gzip.open(path).read(), np.uint8, offset=16).reshape(-1, 28, 28)


def idx_labels(path):
    return np.frombuffer(gzip.open(path).read(), np.uint8, offset=8)


def normalized(image):
    """A 32×32 uint8 image as the network's 3×32×32 input."""
    return ((torch.from_numpy(image).float() / 255 - 0.2860) / 0.3530).expand(3, 32, 32).clone()


def augmented(image):
    """RandomCrop(32, padding=4) with zero fill, then RandomHorizontalFlip, as torchvision draws them."""
    padded = np.pad(image, 4)
    i, j = torch.randint(0, 9, (2,)).tolist()
    crop = padded[i:i + 32, j:j + 32]
    if torch.rand(1).item() < 0.5:
        crop = crop[:, ::-1]
    return normalized(np.ascontiguousarray(crop))


class Images(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(np.pad(self.images[i], 2)), int(self.labels[i])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout", help="the authors' RANet code (models/RANet.py)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model-dir", default=os.path.join(ROOT, "..", "shared", "models", "fashion-mnist"))
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    opts = parser.parse_args()
    sys.path.insert(0, opts.checkout)
    from models.RANet import RANet

    torch.manual_seed(opts.seed)
    torch.set_num_threads(opts.threads)
    with open(os.path.join(opts.model_dir, "args.txt")) as f:
        args = eval(f.read(), {"Namespace": argparse.Namespace})
    train_images = idx_images(os.path.join(opts.data, "train-images-idx3-ubyte.gz"))
    train_labels = idx_labels(os.path.join(opts.data, "train-labels-idx1-ubyte.gz"))
    permutation = torch.load(os.path.join(opts.model_dir, "index.pth"))
    train = torch.utils.data.DataLoader(Images(train_images, train_labels, augmented), batch_size=args.batch_size,
                                        sampler=torch.utils.data.SubsetRandomSampler(permutation[:-5000]))
    val = torch.utils.data.DataLoader(Images(train_images, train_labels, normalized), batch_size=256,
                                      sampler=torch.utils.data.SubsetRandomSampler(permutation[-5000:]))
    test = torch.utils.data.DataLoader(Images(idx_images(os.path.join(opts.data, "t10k-images-idx3-ubyte.gz")),
                                              idx_labels(os.path.join(opts.data, "t10k-labels-idx1-ubyte.gz")), normalized),
                                       batch_size=256)
    model = RANet(args)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), args.lr, momentum=args.momentum, weight_decay=args.weight_decay)

    def top1(loader):
        model.eval()
        correct, seen = None, 0
        with torch.no_grad():
            for x, y in loader:
                hits = torch.tensor([(o.argmax(1) == y).sum().item() for o in model(x)])
                correct = hits if correct is None else correct + hits
                seen += len(y)
        return " ".join("%.2f" % (100.0 * c / seen) for c in correct.tolist())

    start = time.time()
    for epoch in range(args.epochs):
        lr = args.lr * (0.01 if epoch >= args.epochs * 0.75 else 0.1 if epoch >= args.epochs * 0.5 else 1)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        total = 0.0
        for i, (x, y) in enumerate(train):
            loss = sum(criterion(o, y) for o in model(x))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print("epoch %d lr %g train loss %.4f val top-1 %s (%.0f s)" % (epoch, lr, total / (i + 1), top1(val), time.time() - start),
              flush=True)
    print("test top-1", top1(test), flush=True)


if __name__ == "__main__":
    main()
