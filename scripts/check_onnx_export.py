#!/usr/bin/env python3
"""Runs ONNX files that `ranet convert --output X.onnx` wrote on a model's reference
input and compares every exit with the authors' logits (exits.npy), with ONNX Runtime
and, when installed, OpenVINO. Prints one line per runtime and model; exits 1 when an
exit differs by more than 1e-4 of the largest logit.

    python3 scripts/check_onnx_export.py MODEL.onnx REFERENCE_FOLDER [MODEL.onnx FOLDER ...]
(REFERENCE_FOLDER holds input.npy and exits.npy; pip install onnxruntime openvino.)
"""
import sys

import numpy as np


def runtimes():
    import onnxruntime as ort
    found = [("onnxruntime", lambda path, x: ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x}))]
    try:
        import openvino as ov
        core = ov.Core()
        def run_openvino(path, x):
            # f32, as the reference was computed: on CPUs with bf16 units OpenVINO would pick bf16.
            compiled = core.compile_model(core.read_model(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
            result = compiled(x)
            return [result[out] for out in compiled.outputs]
        found.append(("openvino", run_openvino))
    except ImportError:
        pass
    return found


def main(args):
    if len(args) < 2 or len(args) % 2:
        print(__doc__)
        return 64
    worst_failed = False
    for path, folder in zip(args[0::2], args[1::2]):
        x = np.load(f"{folder}/input.npy").astype(np.float32)
        expected = np.load(f"{folder}/exits.npy")
        scale = max(1.0, float(np.abs(expected).max()))
        for name, run in runtimes():
            outputs = run(path, x)
            if len(outputs) != expected.shape[0]:
                print(f"FAIL {name} {path}: {len(outputs)} outputs for {expected.shape[0]} exits")
                worst_failed = True
                continue
            error = max(float(np.abs(np.asarray(o) - e).max()) for o, e in zip(outputs, expected)) / scale
            same_argmax = all((np.asarray(o).argmax(1) == e.argmax(1)).all() for o, e in zip(outputs, expected))
            ok = error <= 1e-4 and same_argmax
            worst_failed |= not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name} {path}: {len(outputs)} exits, max error {error:.2e} of the largest logit"
                  f"{'' if same_argmax else ', argmax differs'}")
    return 1 if worst_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
