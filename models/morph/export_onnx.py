"""Write a morph detector's weights (an .npz from train_mad.py) as a small ONNX graph.

    features (N, D) -> (x - mean) / scale -> [Gemm -> Relu] -> Gemm -> Sigmoid -> score (N, 1)

Runs in the conversion venv (`onnx` is not a product or dev dependency):
    /work/venvs/convert/bin/python models/morph/export_onnx.py WEIGHTS.npz OUT.onnx
The graph is deterministic: the same weights give the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(weights: dict[str, np.ndarray], name: str) -> onnx.ModelProto:
    dim = int(weights["mean"].shape[0])
    inits = [
        numpy_helper.from_array(weights["mean"].astype(np.float32), "mean"),
        numpy_helper.from_array(weights["scale"].astype(np.float32), "scale"),
    ]
    nodes = [
        helper.make_node("Sub", ["features", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["h0"]),
    ]
    layer, current = 0, "h0"
    while f"w{layer}" in weights:
        w, b = f"w{layer}", f"b{layer}"
        inits += [
            numpy_helper.from_array(weights[w].astype(np.float32), w),
            numpy_helper.from_array(weights[b].astype(np.float32), b),
        ]
        out = f"z{layer}"
        nodes.append(helper.make_node("Gemm", [current, w, b], [out]))
        layer += 1
        if f"w{layer}" in weights:
            nodes.append(helper.make_node("Relu", [out], [f"h{layer}"]))
            current = f"h{layer}"
        else:
            current = out
    nodes.append(helper.make_node("Sigmoid", [current], ["score"]))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", dim])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="train_mad"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    weights = dict(np.load(src))
    dst.write_bytes(build(weights, dst.stem).SerializeToString())


if __name__ == "__main__":
    main()
