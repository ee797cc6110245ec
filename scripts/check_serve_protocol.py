#!/usr/bin/env python3
"""Drives `ranet serve` as a user's client does: tritonclient.http (the Open Inference
Protocol's reference client) for health, metadata, config and inference, in binary and JSON,
with preprocessed tensors and encoded images; plain HTTP for the requests a client gets wrong;
and the server's overload, deadline and SIGTERM drain. Every server listens on 127.0.0.1 only,
every request has a timeout, and every server is stopped at the end.

    pip install "tritonclient[http]" numpy
    python3 scripts/check_serve_protocol.py --ranet .build/debug/ranet

Prints one line per check and `N passed, M failed`; exits non-zero when any failed."""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import tritonclient.http as httpclient

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SAMPLES = os.path.join(ROOT, "Samples")
RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    RESULTS["passed" if condition else "failed"] += 1
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f": {detail}"), flush=True)


class Server:
    """`ranet serve --port 0` with the given arguments; the port it took, read from its first line."""

    def __init__(self, ranet, *arguments):
        self.process = subprocess.Popen([ranet, "serve", "--port", "0", *arguments], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        line = ""
        while time.time() < deadline:
            line = self.process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.url = f"127.0.0.1:{match.group(1)}"
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"ranet serve did not start: {line!r} {self.process.stderr.read()}")

    def http(self, method, path, body=None, headers=None):
        request = urllib.request.Request(f"http://{self.url}{path}", data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def expected_predictions(ranet):
    """What `ranet predict` gives for the sample images, by file name."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "predictions.jsonl")
        subprocess.run([ranet, "predict", os.path.join(SAMPLES, "images"), "--top", "10", "--output", path],
                       check=True, capture_output=True)
        rows = [json.loads(line) for line in open(path)]
    return {os.path.basename(row["path"]): row for row in rows}


def protocol_checks(ranet):
    expected = expected_predictions(ranet)
    check("ranet predict gave the 16 samples", len(expected) == 16, str(len(expected)))
    names = sorted(expected)
    server = Server(ranet, "--max-body-bytes", "2000000")
    try:
        client = httpclient.InferenceServerClient(server.url, network_timeout=30)
        check("live", client.is_server_live())
        check("ready", client.is_server_ready())
        check("model ready", client.is_model_ready("ranet"))
        metadata = client.get_server_metadata()
        check("server metadata lists binary_tensor_data", "binary_tensor_data" in metadata["extensions"], metadata)
        model = client.get_model_metadata("ranet")
        check("model metadata: inputs input and image",
              [i["name"] for i in model["inputs"]] == ["input", "image"] and model["inputs"][0]["shape"] == [-1, 3, 32, 32], model)
        config = client.get_model_config("ranet")
        check("config: max_batch_size and names", config["max_batch_size"] == 64 and config["output"][1]["name"] == "exit", config)

        # Encoded images as BYTES, binary (tritonclient's default): exactly what predict gives.
        images = np.array([open(os.path.join(SAMPLES, "images", n), "rb").read() for n in names], dtype=np.object_)
        request = httpclient.InferInput("image", [len(names)], "BYTES")
        request.set_data_from_numpy(images)
        result = client.infer("ranet", [request])
        probabilities, exits = result.as_numpy("probabilities"), result.as_numpy("exit")
        same = all(
            int(exits[i]) == expected[n]["exit"] + 1 and int(np.argmax(probabilities[i])) == expected[n]["top"][0]["label"]
            and abs(float(probabilities[i].max()) - expected[n]["top"][0]["probability"]) < 1e-6
            for i, n in enumerate(names))
        check("images (binary BYTES): the classes, probabilities and exits of ranet predict", same,
              f"{exits} {[expected[n]['exit'] + 1 for n in names]}")
        check("operations per image returned", result.as_numpy("operations").shape == (16,))

        # Preprocessed tensors, binary and JSON; the classification extension.
        tensor = np.load(os.path.join(SAMPLES, "fashion-mnist-test.npy"))
        for binary in (True, False):
            request = httpclient.InferInput("input", list(tensor.shape), "FP32")
            request.set_data_from_numpy(tensor, binary_data=binary)
            outputs = [httpclient.InferRequestedOutput("exit", binary_data=binary),
                       httpclient.InferRequestedOutput("probabilities", binary_data=binary, class_count=2)]
            result = client.infer("ranet", [request], outputs=outputs, request_id="r-1")
            labels = result.as_numpy("probabilities")
            text = lambda item: item.decode() if isinstance(item, bytes) else str(item)
            top = [int(text(row[0]).split(":")[1]) for row in labels]
            check(f"tensors ({'binary' if binary else 'JSON'}): top class by the classification extension",
                  top == [expected[n]["top"][0]["label"] for n in names] and result.get_response()["id"] == "r-1",
                  f"{top}")
            check(f"tensors ({'binary' if binary else 'JSON'}): 'value:index:label'", text(labels[0][0]).endswith(":Ankle boot"),
                  labels[0][0])

        # Requests a client gets wrong: one line of JSON error each, and the status.
        def refused(name, status, body, code, fragment, headers=None):
            got, _, text = server.http("POST", "/v2/models/ranet/infer", body, headers)
            message = json.loads(text).get("error", "") if text else ""
            check(name, got == code and fragment in message, f"{got} {text[:200]!r}")

        refused("bad JSON: 400", 400, b"{not json", 400, "not valid JSON")
        refused("wrong shape: 400", 400, json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 28, 28],
                                                                   "data": [0.0] * 2352}]}).encode(), 400, "[N, 3, 32, 32]")
        refused("wrong datatype: 400", 400, json.dumps({"inputs": [{"name": "input", "datatype": "INT8", "shape": [1],
                                                                      "data": [1]}]}).encode(), 400, "FP32")
        refused("undecodable image: 400", 400, json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                                                         "data": ["bm90IGFuIGltYWdl"]}]}).encode(), 400, "cannot be decoded")
        refused("binary sizes that do not add up: 400", 400,
                json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32],
                                        "parameters": {"binary_data_size": 12288}}]}).encode() + b"\0" * 100, 400, "binary_data_size",
                {"Inference-Header-Content-Length": str(len(json.dumps({"inputs": [{"name": "input", "datatype": "FP32",
                                                                                     "shape": [1, 3, 32, 32],
                                                                                     "parameters": {"binary_data_size": 12288}}]})))})
        refused("body over --max-body-bytes: 400", 400, b"x" * 3000000, 400, "max-body-bytes")
        got, _, text = server.http("GET", "/v2/models/other")
        check("unknown model: 404", got == 404 and b"unknown model" in text, f"{got} {text!r}")
        got, _, text = server.http("GET", "/metrics")
        metrics = text.decode()
        check("metrics: requests, exits, queue depth", "ranet_request_duration_seconds_count" in metrics
              and 'ranet_exit_images_total{exit="1"}' in metrics and "ranet_queue_depth_images" in metrics, metrics[:300])
        check("the server still answers after the bad requests", client.is_server_live())
    finally:
        server.stop()


def overload_checks(ranet):
    """A queue of one whose batch waits 300 ms: a second request is refused at once (503,
    Retry-After); the first, past its 100 ms deadline when the batch starts, gets 504."""
    server = Server(ranet, "--max-queue", "1", "--max-queue-delay-us", "300000", "--deadline-ms", "100")
    try:
        png = open(os.path.join(SAMPLES, "images", "0002-trouser.png"), "rb").read()
        body = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                       "data": [__import__("base64").b64encode(png).decode()]}]}).encode()
        first = {}
        thread = threading.Thread(target=lambda: first.update(answer=server.http("POST", "/v2/models/ranet/infer", body)))
        thread.start()
        time.sleep(0.1)
        status, headers, text = server.http("POST", "/v2/models/ranet/infer", body)
        check("a full queue: 503 with Retry-After", status == 503 and headers.get("Retry-After") == "1", f"{status} {text!r}")
        thread.join(timeout=30)
        status, _, text = first["answer"]
        check("a request past its deadline: 504", status == 504 and b"deadline" in text, f"{status} {text!r}")
        _, _, metrics = server.http("GET", "/metrics")
        check("metrics count the shed request", b"ranet_shed_requests_total 1" in metrics, metrics[-400:])
    finally:
        server.stop()


def budget_checks(ranet):
    """--calibration-data with --latency-target: the operating points are calibrated at start
    (on 500 validation images here, to keep the check short), every response names the point
    it ran at, and a burst of concurrent requests is answered whole, each within the exits."""
    train = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
    if not os.path.exists(train):
        check("load-following budget: Fashion-MNIST training images installed", False, f"{train} is missing")
        return
    with tempfile.TemporaryDirectory() as folder:
        indices = os.path.join(folder, "calibration.npy")
        np.save(indices, np.load(os.path.join(SAMPLES, "fashion-mnist-recipe", "val_indices.npy"))[:500].astype(np.int64))
        server = Server(ranet, "--calibration-data", train, "--calibration-indices", indices, "--latency-target", "50")
    try:
        client = httpclient.InferenceServerClient(server.url, network_timeout=30, concurrency=8)
        tensor = np.load(os.path.join(SAMPLES, "fashion-mnist-test.npy"))[:1]
        request = httpclient.InferInput("input", list(tensor.shape), "FP32")
        request.set_data_from_numpy(tensor)
        answer = client.infer("ranet", [request]).get_response()
        point = answer.get("parameters", {}).get("operating_point")
        check("load-following budget: the response names its operating point", isinstance(point, (int, float)) and point >= 0, answer)
        pending = [client.async_infer("ranet", [request]) for _ in range(64)]
        exits = [int(p.get_result(timeout=30).as_numpy("exit")[0]) for p in pending]
        check("load-following budget: 64 concurrent requests all answered at an exit 1-6",
              len(exits) == 64 and all(1 <= e <= 6 for e in exits), exits)
        _, _, metrics = server.http("GET", "/metrics")
        gauge = re.search(rb"^ranet_operating_point_index (\S+)", metrics, re.M)
        check("load-following budget: /metrics shows the operating point", gauge is not None and float(gauge.group(1)) >= 0,
              metrics[-400:])
    finally:
        server.stop()


def drain_checks(ranet):
    """SIGTERM: not ready at once, still serving during the drain window, then exit 0."""
    server = Server(ranet, "--drain-seconds", "2")
    try:
        client = httpclient.InferenceServerClient(server.url, network_timeout=30)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        check("after SIGTERM: not ready", not client.is_server_ready())
        check("after SIGTERM: still live", client.is_server_live())
        tensor = np.load(os.path.join(SAMPLES, "fashion-mnist-test.npy"))[:2]
        request = httpclient.InferInput("input", list(tensor.shape), "FP32")
        request.set_data_from_numpy(tensor)
        check("after SIGTERM: still serving while draining", client.infer("ranet", [request]).as_numpy("exit").shape == (2,))
        status = server.process.wait(timeout=30)
        check("after the drain: exit 0", status == 0, f"status {status}: {server.process.stderr.read()}")
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranet", required=True, help="the ranet binary")
    args = parser.parse_args()
    protocol_checks(args.ranet)
    overload_checks(args.ranet)
    budget_checks(args.ranet)
    drain_checks(args.ranet)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
