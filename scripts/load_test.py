#!/usr/bin/env python3
"""An open-loop load generator for an Open Inference Protocol server (`ranet serve`, or a peer
behind the same request format): requests leave at Poisson arrival times at a fixed rate,
whatever the server does, and each request's latency counts from its intended send time, so a
server that stalls shows it (no coordinated omission). Each request is one Fashion-MNIST test
image as a PNG (Debian's dataset-fashion-mnist), in the binary tensor extension as an `image`
BYTES input; the answer's class is scored against the image's label.

Loopback only, bounded in count and time: the target must be on 127.0.0.0/8, every phase ends
after its seconds, and a request still unanswered 10 s after the last phase counts as lost.

    python3 scripts/load_test.py --url 127.0.0.1:8000 --phases 1000:10           # 1,000 requests/s for 10 s
    python3 scripts/load_test.py --url 127.0.0.1:8000 --phases 1000:20,2000:20,1000:20 --json step.jsonl

Prints one line per second (sent, answered, p50 and p99 latency, top-1 accuracy, operations
per image, shed) and a summary; --json writes the same per-second rows."""
import argparse
import asyncio
import gc
import gzip
import ipaddress
import json
import random
import statistics
import struct
import sys
import time
import zlib

DATA = "/usr/share/datasets/fashion-mnist"


def png(pixels, width, height):
    """A grey 8-bit PNG of these pixels."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + pixels[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_images(count):
    images = gzip.open(f"{DATA}/t10k-images-idx3-ubyte.gz").read()
    labels = gzip.open(f"{DATA}/t10k-labels-idx1-ubyte.gz").read()
    n = min(count, struct.unpack(">I", images[4:8])[0])
    return [(png(images[16 + i * 784:16 + (i + 1) * 784], 28, 28), labels[8 + i]) for i in range(n)]


def request_body(model, image):
    header = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                     "parameters": {"binary_data_size": 4 + len(image)}}],
                         "outputs": [{"name": "exit"}, {"name": "operations"},
                                     {"name": "probabilities", "parameters": {"classification": 1}}]}).encode()
    body = header + struct.pack("<I", len(image)) + image
    return (f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            f"Inference-Header-Content-Length: {len(header)}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


class Connections:
    """Keep-alive HTTP/1.1 connections, one request at a time each, opened as needed."""

    def __init__(self, host, port, limit):
        self.host, self.port, self.idle, self.open, self.limit = host, port, [], 0, limit

    async def warm(self, count):
        """Opens `count` connections before the load starts, a few at a time, as a client
        population that keeps its connections would have them: connections opened in a
        burst mid-run would overflow the server's listen queue and stall a second on a
        SYN retransmit, a cost of the test rather than of the server."""
        while self.open < count:
            batch = min(32, count - self.open)
            opened = await asyncio.gather(*(asyncio.open_connection(self.host, self.port) for _ in range(batch)))
            self.idle.extend(opened)
            self.open += batch

    async def call(self, payload):
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            self.open += 1
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length)
        except Exception:
            writer.close()
            self.open -= 1
            raise
        if len(self.idle) < self.limit:
            self.idle.append((reader, writer))
        else:
            writer.close()
            self.open -= 1
        return status, body


async def run(args):
    host, port = args.url.rsplit(":", 1)
    if not ipaddress.ip_address("127.0.0.1" if host == "localhost" else host).is_loopback:
        sys.exit("load_test.py sends only to loopback addresses (127.0.0.0/8)")
    images = test_images(args.images)
    payloads = [(request_body(args.model, image), label) for image, label in images]
    pool = Connections(host, int(port), args.connections)
    await pool.warm(min(args.connections, max(8, int(max(float(p.split(":")[0]) for p in args.phases.split(",")) * 0.05))))
    phases = [(float(rate), float(seconds)) for rate, seconds in (p.split(":") for p in args.phases.split(","))]
    results = []   # (intended second, latency s or None, status, correct, operations)
    rng = random.Random(args.seed)
    start = time.perf_counter() + 0.5
    tasks = []

    async def one(intended, payload, label):
        try:
            status, body = await asyncio.wait_for(pool.call(payload), timeout=args.timeout)
        except Exception:
            results.append((intended - start, None, 0, False, None))
            return
        latency = time.perf_counter() - intended
        correct, operations = False, None
        if status == 200:
            outputs = {o["name"]: o["data"] for o in json.loads(body)["outputs"]}
            correct = int(outputs["probabilities"][0].split(":")[1]) == label
            operations = outputs.get("operations", [None])[0]   # peers without early exit do not say
        results.append((intended - start, latency, status, correct, operations))

    async def schedule():
        at, index = start, 0
        for rate, seconds in phases:
            end = at + seconds
            while True:
                at += rng.expovariate(rate)
                if at >= end:
                    at = end
                    break
                payload, label = payloads[index % len(payloads)]
                index += 1
                delay = at - time.perf_counter()
                if delay > 0.0005:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(one(at, payload, label)))

    await schedule()
    await asyncio.gather(*tasks)
    return results, phases


def summary(results):
    """The whole run: sent, answered, p50 and p99 in ms, shed, failed, top-1."""
    ok = sorted(r[1] for r in results if r[2] == 200)
    return {"sent": len(results), "answered": len(ok),
            "p50_ms": 1000 * ok[len(ok) // 2] if ok else float("nan"),
            "p99_ms": 1000 * ok[min(len(ok) - 1, int(0.99 * len(ok)))] if ok else float("nan"),
            "shed": sum(1 for r in results if r[2] == 503),
            "failed": sum(1 for r in results if r[2] not in (200, 503)),
            "accuracy": 100 * sum(r[3] for r in results if r[2] == 200) / max(1, len(ok))}


def measure(url, phases, model="ranet", images=2000, connections=512, timeout=10.0, seed=0, quiet=True):
    """Runs the phases ([(rate, seconds)]) against the server at url; returns (summary, per-second rows)."""
    args = argparse.Namespace(url=url, model=model, phases=",".join(f"{r}:{s}" for r, s in phases), images=images,
                              connections=connections, timeout=timeout, seed=seed)
    results, phases = timed_run(args)
    return summary(results), per_second(results, phases, quiet)


def timed_run(args):
    """Runs the load with Python's cycle collector off: its full collections grow with the
    results kept and would pause the sender for tens of milliseconds, and the burst that
    follows is the load generator's, not the server's. The run is bounded, so is its memory."""
    gc.disable()
    try:
        return asyncio.run(run(args))
    finally:
        gc.enable()


def per_second(results, phases, quiet=False):
    rows = []
    total = int(sum(seconds for _, seconds in phases))
    for second in range(total):
        mine = [r for r in results if second <= r[0] < second + 1]
        ok = [r for r in mine if r[2] == 200]
        latencies = sorted(r[1] for r in ok)
        row = {"second": second, "sent": len(mine), "answered": len(ok),
               "shed": sum(1 for r in mine if r[2] == 503), "failed": sum(1 for r in mine if r[2] not in (200, 503)),
               "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
               "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else None,
               "accuracy": 100 * sum(r[3] for r in ok) / len(ok) if ok else None,
               "mops": statistics.fmean(r[4] for r in ok) / 1e6 if ok and ok[0][4] is not None else None}
        rows.append(row)
        if not quiet:
            fmt = lambda v, f: "-" if v is None else f % v
            print(f"{second:4d}s sent {row['sent']:5d} answered {row['answered']:5d} p50 {fmt(row['p50_ms'], '%7.1f')} ms "
                  f"p99 {fmt(row['p99_ms'], '%7.1f')} ms top-1 {fmt(row['accuracy'], '%5.1f')} {fmt(row['mops'], '%5.2f')} M ops "
                  f"shed {row['shed']} failed {row['failed']}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="127.0.0.1:8000", help="host:port of the server (loopback only)")
    parser.add_argument("--model", default="ranet")
    parser.add_argument("--phases", required=True, help="rate:seconds[,rate:seconds...], requests per second")
    parser.add_argument("--images", type=int, default=2000, help="test images to cycle through")
    parser.add_argument("--connections", type=int, default=512, help="keep-alive connections kept open at most")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before an unanswered request counts as lost")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the per-second rows here (JSON lines)")
    args = parser.parse_args()
    results, phases = timed_run(args)
    rows = per_second(results, phases)
    if args.json:
        with open(args.json, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    s = summary(results)
    print(f"summary: {s['sent']} sent, {s['answered']} answered, p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, "
          f"shed {s['shed']}, failed {s['failed']}, top-1 {s['accuracy']:.2f}")


if __name__ == "__main__":
    main()
