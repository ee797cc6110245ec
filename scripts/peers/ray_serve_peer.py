#!/usr/bin/env python3
"""A Ray Serve peer of `ranet serve`: the Fashion-MNIST ONNX export on OpenVINO (default
precision), behind the same v2 request format, batched by `@serve.batch`.

    python3 scripts/peers/ray_serve_peer.py --port 8001 --max-batch 32 --batch-wait-ms 2"""
import asyncio
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import v2_openvino  # noqa: E402

import ray  # noqa: E402
from ray import serve  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402


def deployment(args):
    @serve.deployment(max_ongoing_requests=4 * args.max_batch, ray_actor_options={"num_cpus": 0})
    class Classifier:
        def __init__(self):
            self.model = v2_openvino.Classifier(args.onnx, args.threads)

        @serve.batch(max_batch_size=args.max_batch, batch_wait_timeout_s=args.batch_wait_ms / 1000)
        async def classify(self, images: list) -> list:
            return list(self.model.probabilities(images))

        async def __call__(self, request: Request):
            body = await request.body()
            try:
                images = v2_openvino.encoded_images(body, int(request.headers["inference-header-content-length"]))
            except (KeyError, ValueError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            if len(images) != 1:
                return JSONResponse({"error": "one image per request"}, status_code=400)
            return JSONResponse(v2_openvino.response(args.model_name, await self.classify(images[0])))
    return Classifier.bind()


def main():
    args = v2_openvino.arguments(__doc__.split("\n")[0], port=8001)
    # The replica's own output goes to Ray's logs: say here what precision OpenVINO runs at.
    print(f"ray serve: OpenVINO at {v2_openvino.Classifier(args.onnx, args.threads).precision}", flush=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    serve.run(deployment(args), name="ranet", route_prefix=f"/v2/models/{args.model_name}/infer")
    print(f"serving on http://127.0.0.1:{args.port}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
