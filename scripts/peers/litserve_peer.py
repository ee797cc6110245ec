#!/usr/bin/env python3
"""A LitServe peer of `ranet serve`: the Fashion-MNIST ONNX export on OpenVINO (default
precision), behind the same v2 request format, batched by LitServe (max_batch_size,
batch_timeout). LitServe's handlers read JSON bodies, so a small ASGI middleware turns the v2
binary extension into JSON (the image base64-encoded) before LitServe sees it.

    python3 scripts/peers/litserve_peer.py --port 8002 --max-batch 32 --batch-wait-ms 2"""
import base64
import json
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import v2_openvino  # noqa: E402

import litserve as ls  # noqa: E402
from fastapi import HTTPException  # noqa: E402


class BinaryToJSON:
    """ASGI middleware: a v2 request in the binary extension becomes {"images": [base64...]}."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        if scope["type"] != "http" or b"inference-header-content-length" not in headers:
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            images = v2_openvino.encoded_images(body, int(headers[b"inference-header-content-length"]))
            payload = json.dumps({"images": [base64.b64encode(i).decode() for i in images]}).encode()
        except (KeyError, ValueError) as error:
            payload = json.dumps({"error": str(error)}).encode()
        headers[b"content-type"] = b"application/json"
        headers[b"content-length"] = str(len(payload)).encode()
        scope = dict(scope, headers=list(headers.items()))
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await self.app(scope, replay, send)


class ClassifierAPI(ls.LitAPI):
    def setup(self, device):
        self.model = v2_openvino.Classifier(self.onnx, self.threads)
        print(f"litserve: OpenVINO at {self.model.precision}", flush=True)

    def decode_request(self, request):
        if "error" in request or len(request.get("images", [])) != 1:
            raise HTTPException(status_code=400, detail=request.get("error", "one image per request"))
        return base64.b64decode(request["images"][0])

    def predict(self, images):
        if isinstance(images, bytes):   # max_batch_size 1: one image, not a list
            return self.model.probabilities([images])[0]
        return list(self.model.probabilities(images))

    def encode_response(self, probabilities):
        return v2_openvino.response(self.model_name, probabilities)


def main():
    args = v2_openvino.arguments(__doc__.split("\n")[0], port=8002)
    api = ClassifierAPI(max_batch_size=args.max_batch, batch_timeout=args.batch_wait_ms / 1000,
                        api_path=f"/v2/models/{args.model_name}/infer")
    api.onnx, api.threads, api.model_name = args.onnx, args.threads, args.model_name
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, middlewares=[(BinaryToJSON, {})])
    server.run(host="127.0.0.1", port=args.port, generate_client_file=False, log_level="warning")


if __name__ == "__main__":
    main()
