"""Convert MediaPipe's face-mesh landmark model (face_landmark.tflite, 468 points) to ONNX.

The model ships inside the `mediapipe` PyPI wheel (Apache-2.0). Generic converters
(tflite2onnx 0.4.1) fail on its layout, and tf2onnx needs TensorFlow, so this script maps its
seven op types (DEQUANTIZE of float16 weights, CONV_2D, DEPTHWISE_CONV_2D, PRELU, ADD,
MAX_POOL_2D, PAD) onto ONNX by hand, in NCHW, with TensorFlow's SAME padding made explicit.
It is used by the morph generator (the attacker's tool in `benchmarks/morph_gen.py`), not by the
product's decisions.

    python -m venv /tmp/mc/venv && /tmp/mc/venv/bin/pip install tflite==2.18.0 onnx==1.23.2 \
        onnxruntime==1.31.1 ai-edge-litert==2.3.0
    pip download mediapipe==0.10.14 --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_17_x86_64 -d wheel
    /tmp/mc/venv/bin/python models/face/face_mesh_to_onnx.py wheel/mediapipe-0.10.14-*.whl

It checks the ONNX output against LiteRT's own interpreter on random and face-like inputs and
writes `models/face/face_mesh_468.onnx` (the same bytes each run).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
TFLITE_MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"
TFLITE_SHA256 = "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
OUT = Path(__file__).resolve().parent / "face_mesh_468.onnx"

_OPS = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
_NP = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64}


def _tensor_array(model: tflite.Model, graph: tflite.SubGraph, index: int) -> np.ndarray | None:
    tensor = graph.Tensors(index)
    data = model.Buffers(tensor.Buffer()).DataAsNumpy()
    if isinstance(data, int) or data is None or len(data) == 0:
        return None
    return np.frombuffer(data.tobytes(), _NP[tensor.Type()]).reshape(tensor.ShapeAsNumpy())


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def convert(tflite_bytes: bytes) -> onnx.ModelProto:
    model = tflite.Model.GetRootAsModel(tflite_bytes, 0)
    graph = model.Subgraphs(0)
    consts: dict[str, np.ndarray] = {}
    shapes: dict[str, list[int]] = {}
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def name(index: int) -> str:
        return graph.Tensors(index).Name().decode()

    for i in range(graph.TensorsLength()):
        shapes[graph.Tensors(i).Name().decode()] = list(graph.Tensors(i).ShapeAsNumpy())
        arr = _tensor_array(model, graph, i)
        if arr is not None:
            consts[graph.Tensors(i).Name().decode()] = arr

    def init(label: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), label))
        return label

    input_name = name(graph.Inputs(0))
    nodes.append(helper.make_node("Transpose", ["input"], [input_name], perm=[0, 3, 1, 2]))
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = _OPS[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [name(j) for j in op.InputsAsNumpy()]
        out = name(op.OutputsAsNumpy()[0])
        if kind == "DEQUANTIZE":
            consts[out] = consts[ins[0]].astype(np.float32)
            continue
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            opts_cls = tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions
            opts = opts_cls()
            table = op.BuiltinOptions()
            opts.Init(table.Bytes, table.Pos)
            weight = consts[ins[1]]  # OHWI (conv) or 1HWO (depthwise)
            if kind == "CONV_2D":
                w = weight.transpose(0, 3, 1, 2)
                group = 1
            else:
                w = weight.transpose(3, 0, 1, 2)
                group = w.shape[0]
            kh, kw = w.shape[2], w.shape[3]
            sh, sw = opts.StrideH(), opts.StrideW()
            in_h, in_w = shapes[ins[0]][1], shapes[ins[0]][2]
            if opts.Padding() == tflite.Padding.SAME:
                (t, b), (left, r) = _same_pads(in_h, kh, sh), _same_pads(in_w, kw, sw)
            else:
                t = b = left = r = 0
            assert opts.FusedActivationFunction() == 0, kind
            nodes.append(
                helper.make_node(
                    "Conv",
                    [ins[0], init(out + "/W", w), init(out + "/B", consts[ins[2]])],
                    [out],
                    kernel_shape=[kh, kw],
                    strides=[sh, sw],
                    pads=[t, left, b, r],
                    group=group,
                )
            )
        elif kind == "PRELU":
            alpha = consts[ins[1]].reshape(-1)[:, None, None]
            nodes.append(helper.make_node("PRelu", [ins[0], init(out + "/A", alpha)], [out]))
        elif kind == "ADD":
            opts = tflite.AddOptions()
            table = op.BuiltinOptions()
            opts.Init(table.Bytes, table.Pos)
            assert opts.FusedActivationFunction() == 0
            nodes.append(helper.make_node("Add", ins, [out]))
        elif kind == "MAX_POOL_2D":
            opts = tflite.Pool2DOptions()
            table = op.BuiltinOptions()
            opts.Init(table.Bytes, table.Pos)
            kh, kw = opts.FilterHeight(), opts.FilterWidth()
            sh, sw = opts.StrideH(), opts.StrideW()
            in_h, in_w = shapes[ins[0]][1], shapes[ins[0]][2]
            if opts.Padding() == tflite.Padding.SAME:
                (t, b), (left, r) = _same_pads(in_h, kh, sh), _same_pads(in_w, kw, sw)
            else:
                t = b = left = r = 0
            nodes.append(
                helper.make_node(
                    "MaxPool",
                    [ins[0]],
                    [out],
                    kernel_shape=[kh, kw],
                    strides=[sh, sw],
                    pads=[t, left, b, r],
                )
            )
        elif kind == "PAD":
            pads = consts[ins[1]].astype(np.int64)  # NHWC [4, 2]
            nchw = pads[[0, 3, 1, 2]]
            onnx_pads = np.concatenate([nchw[:, 0], nchw[:, 1]])
            nodes.append(helper.make_node("Pad", [ins[0], init(out + "/P", onnx_pads)], [out]))
        else:
            raise SystemExit(f"unsupported op {kind}")
    outputs = [name(graph.Outputs(k)) for k in range(graph.OutputsLength())]
    nodes.append(
        helper.make_node(
            "Reshape", [outputs[0], init("shape_lm", np.array([1, 468, 3]))], ["landmarks"]
        )
    )
    nodes.append(
        helper.make_node(
            "Reshape", [outputs[1], init("shape_fs", np.array([1, 1]))], ["face_logit"]
        )
    )
    onnx_graph = helper.make_graph(
        nodes,
        "face_mesh_468",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 192, 192, 3])],
        [
            helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, [1, 468, 3]),
            helper.make_tensor_value_info("face_logit", TensorProto.FLOAT, [1, 1]),
        ],
        inits,
    )
    result = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="face_mesh_to_onnx"
    )
    result.ir_version = 8
    onnx.checker.check_model(result)
    return result


def _check(tflite_bytes: bytes, onnx_bytes: bytes) -> float:
    """Largest difference between LiteRT and onnxruntime on a few inputs, in model pixels."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite_bytes)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]["index"]
    out = interp.get_output_details()[0]["index"]
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(4):
        x = rng.random((1, 192, 192, 3), dtype=np.float32)
        interp.set_tensor(inp, x)
        interp.invoke()
        ref = interp.get_tensor(out).reshape(1, 468, 3)
        got = session.run(["landmarks"], {"input": x})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="mediapipe-0.10.14 wheel from PyPI")
    args = parser.parse_args()
    if hashlib.sha256(args.wheel.read_bytes()).hexdigest() != WHEEL_SHA256:
        sys.exit("wheel sha256 differs from the pinned one")
    with zipfile.ZipFile(args.wheel) as wheel:
        data = wheel.read(TFLITE_MEMBER)
    if hashlib.sha256(data).hexdigest() != TFLITE_SHA256:
        sys.exit("face_landmark.tflite sha256 differs from the pinned one")
    onnx_bytes = convert(data).SerializeToString()
    worst = _check(data, onnx_bytes)
    print(f"max |LiteRT - ONNX| = {worst:.2e} px")
    if worst > 1e-2:
        sys.exit("conversion does not reproduce LiteRT")
    OUT.write_bytes(onnx_bytes)
    print(OUT, hashlib.sha256(onnx_bytes).hexdigest())


if __name__ == "__main__":
    main()
