"""What the peer servers share: the Fashion-MNIST model's ONNX export on OpenVINO (its default
precision: bf16 on CPUs with bf16 units), the model's preprocessing, and the Open Inference
Protocol's request and response as `ranet serve` speaks them (an `image` BYTES input in the
binary tensor extension; `probabilities` with the classification extension). The peers run the
whole network for every image: neither has early exit."""
import argparse
import io
import json
import struct

import numpy as np
import openvino as ov
from PIL import Image

PREPROCESSING = json.load(open(__file__.rsplit("/", 2)[0] + "/../Samples/fashion-mnist-recipe/preprocessing.json"))


def arguments(description: str, port: int):
    """The options both peers take: the ONNX file, the port, the model's name, OpenVINO's
    threads and the batching."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--onnx", default="../shared/models/fashion-mnist/fashion-mnist.onnx")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--model-name", default="ranet")
    parser.add_argument("--threads", type=int, default=1, help="OpenVINO's threads")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--batch-wait-ms", type=float, default=2.0)
    return parser.parse_args()


def encoded_images(body: bytes, header_length: int):
    """The encoded images of a request's `image` input: binary extension (each element
    length-prefixed) after a JSON header of `header_length` bytes."""
    header = json.loads(body[:header_length])
    (tensor,) = [t for t in header["inputs"] if t["name"] == "image"]
    if tensor["datatype"] != "BYTES":
        raise ValueError("the 'image' input must be BYTES")
    data, images, at = body[header_length:], [], 0
    while at < len(data):
        (length,) = struct.unpack_from("<I", data, at)
        images.append(data[at + 4:at + 4 + length])
        at += 4 + length
    return images


def response(model_name: str, probabilities: np.ndarray) -> dict:
    """The v2 JSON response for one image: its top-1 as `value:index:label`."""
    index = int(np.argmax(probabilities))
    label = PREPROCESSING["classes"][index]
    return {"model_name": model_name, "outputs": [
        {"name": "probabilities", "datatype": "BYTES", "shape": [1, 1], "data": [f"{probabilities[index]:.6f}:{index}:{label}"]}]}


class Classifier:
    """The ONNX export compiled once by OpenVINO at its default precision, dynamic batch."""

    def __init__(self, onnx_path: str, threads: int):
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(onnx_path), "CPU",
                                           {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.request = self.compiled.create_infer_request()
        self.last = self.compiled.outputs[-1]
        size, pad = PREPROCESSING["input_size"], PREPROCESSING["pad"]["each_side"]
        self.mean, self.std = PREPROCESSING["mean"][0], PREPROCESSING["std"][0]
        self.source, self.pad, self.size = tuple(PREPROCESSING["source_size"]), pad, size

    def tensor(self, encoded: bytes) -> np.ndarray:
        """One encoded image as the model's 3×32×32 input (grey, scaled, padded, normalized)."""
        image = Image.open(io.BytesIO(encoded)).convert("L")
        if image.size != self.source:
            image = image.resize(self.source, Image.BILINEAR)
        grey = np.asarray(image, dtype=np.float32) / 255.0
        grey = np.pad(grey, self.pad, constant_values=0.0)
        grey = (grey - self.mean) / self.std
        return np.broadcast_to(grey, (3, self.size, self.size))

    def probabilities(self, images: list) -> np.ndarray:
        """Softmax of the last exit for a batch of encoded images."""
        batch = np.stack([self.tensor(image) for image in images])
        logits = self.request.infer({0: batch})[self.last]
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)
