"""Build an ONNX graph of face-api's ResNet-34 face embedder from its TF.js weight manifest.

`@vladmandic/face-api` ships only weights (`face_recognition_model-weights_manifest.json` + `.bin`);
the topology lives in its JavaScript (`src/faceRecognitionNet/*.ts`). This module rebuilds that
topology op for op with the `onnx` helper API, so the ONNX model computes what face-api computes:

    x (N,150,150,3 RGB 0..255) -> (x - mean_rgb) / 255 -> conv7x7/2 valid -> maxpool3/2 valid
    -> residual blocks (32 x3, 64 down + x3, 128 down + x2, 256 down + x2, 256 down_out)
    -> global mean -> fc 256x128  (no L2 normalisation: callers normalise)

TF 'same' padding for 3x3 stride-1 convs is a symmetric pad of 1; 'valid' is no pad. residualDown
adds a 2x2/2 average pool of the input as shortcut, zero-pads channels when they double, and
zero-pads the conv branch by one row/column when its spatial size is smaller than the pool's.

Quantised weights stay uint8 in the file (Cast -> Mul scale -> Add min, as TF.js dequantises);
onnxruntime folds those constants once at session creation, so the file stays ~7 MB and holds the
source's bytes exactly (transposed from TF's HWIO to ONNX's OIHW, which is lossless).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN_RGB = (122.782, 117.001, 104.298)
INPUT_SIZE = 150


@dataclass
class _Weight:
    name: str
    shape: list[int]
    quant: dict[str, Any] | None
    raw: np.ndarray  # uint8 (quantised) or float32


def read_weight_manifest(manifest_path: Path, bin_dir: Path) -> dict[str, _Weight]:
    """Slice the concatenated weight shards into named arrays, exactly as tfjs decodeWeights."""
    groups = json.loads(manifest_path.read_text())
    out: dict[str, _Weight] = {}
    for group in groups:
        blob = b"".join((bin_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            quant = spec.get("quantization")
            if quant is not None:
                if quant["dtype"] != "uint8" or "min" not in quant:
                    raise ValueError(f"unsupported quantisation for {spec['name']}")
                raw = np.frombuffer(blob, np.uint8, count, offset).reshape(spec["shape"])
                offset += count
            else:
                if spec["dtype"] != "float32":
                    raise ValueError(f"unsupported dtype for {spec['name']}")
                raw = np.frombuffer(blob, "<f4", count, offset).reshape(spec["shape"])
                offset += count * 4
            out[spec["name"]] = _Weight(spec["name"], spec["shape"], quant, raw.copy())
        if offset != len(blob):
            raise ValueError("weight manifest does not cover the whole .bin")
    return out


def dequantise(w: _Weight) -> np.ndarray:
    """The float32 values TF.js uses (for checks; the graph dequantises itself)."""
    if w.quant is None:
        return w.raw.astype(np.float32)
    return (w.raw.astype(np.float64) * w.quant["scale"] + w.quant["min"]).astype(np.float32)


class _GraphBuilder:
    def __init__(self, weights: dict[str, _Weight]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def _name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}__{self._n}"

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = self._name(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def weight(self, name: str, transpose: tuple[int, ...] | None = None) -> str:
        """A weight as a float tensor; uint8 ones go through Cast/Mul/Add like TF.js."""
        w = self.weights[name]
        raw = w.raw if transpose is None else np.ascontiguousarray(w.raw.transpose(transpose))
        key = name.replace("/", ".")
        if w.quant is None:
            return self.const(key, raw.astype(np.float32))
        q = self.const(key + ".q", raw)
        f = self.node("Cast", [q], key + ".f", to=TensorProto.FLOAT)
        scale = self.const(key + ".scale", np.array(w.quant["scale"], np.float32))
        low = self.const(key + ".min", np.array(w.quant["min"], np.float32))
        return self.node("Add", [self.node("Mul", [f, scale], key + ".mul"), low], key)

    def per_channel(self, name: str) -> str:
        """A [C] vector reshaped to [1,C,1,1] for NCHW broadcasting."""
        vec = self.weight(name)
        shape = self.const(self._name("shape_c11"), np.array([1, -1, 1, 1], np.int64))
        return self.node("Reshape", [vec, shape], name.replace("/", ".") + ".c11")

    def conv_layer(self, x: str, prefix: str, stride: int, relu: bool, same: bool) -> str:
        k = self.weights[f"{prefix}/conv/filters"].shape[0]
        pad = (k - 1) // 2 if same else 0
        filters = self.weight(f"{prefix}/conv/filters", transpose=(3, 2, 0, 1))
        y = self.node(
            "Conv",
            [x, filters],
            prefix + ".conv",
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad, pad, pad, pad],
        )
        y = self.node("Add", [y, self.per_channel(f"{prefix}/conv/bias")], prefix + ".bias")
        y = self.node("Mul", [y, self.per_channel(f"{prefix}/scale/weights")], prefix + ".sw")
        y = self.node("Add", [y, self.per_channel(f"{prefix}/scale/biases")], prefix + ".sb")
        return self.node("Relu", [y], prefix + ".relu") if relu else y

    def residual(self, x: str, prefix: str) -> str:
        y = self.conv_layer(x, f"{prefix}/conv1", 1, relu=True, same=True)
        y = self.conv_layer(y, f"{prefix}/conv2", 1, relu=False, same=True)
        return self.node("Relu", [self.node("Add", [y, x], prefix + ".add")], prefix + ".out")

    def residual_down(self, x: str, prefix: str, in_hw: int, in_c: int) -> tuple[str, int]:
        y = self.conv_layer(x, f"{prefix}/conv1", 2, relu=True, same=False)
        y = self.conv_layer(y, f"{prefix}/conv2", 1, relu=False, same=True)
        out_c = self.weights[f"{prefix}/conv2/conv/filters"].shape[3]
        conv_hw = (in_hw - 3) // 2 + 1  # valid 3x3 stride 2
        pool_hw = (in_hw - 2) // 2 + 1  # valid 2x2 stride 2
        pooled = self.node(
            "AveragePool", [x], prefix + ".pool", kernel_shape=[2, 2], strides=[2, 2]
        )
        if conv_hw != pool_hw:  # face-api concatenates one zero row (bottom) and column (right)
            pads = self.const(self._name("pads"), np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))
            y = self.node("Pad", [y, pads], prefix + ".padhw")
        if out_c != in_c:  # zero channels appended to the shortcut
            pads = np.array([0, 0, 0, 0, 0, out_c - in_c, 0, 0], np.int64)
            pooled = self.node(
                "Pad", [pooled, self.const(self._name("pads"), pads)], prefix + ".padc"
            )
        out = self.node("Relu", [self.node("Add", [pooled, y], prefix + ".add")], prefix + ".out")
        return out, pool_hw


def build_model(weights: dict[str, _Weight]) -> onnx.ModelProto:
    """The face-api FaceRecognitionNet forward pass as a self-contained ONNX model."""
    g = _GraphBuilder(weights)
    perm = g.node("Transpose", ["image"], "nchw", perm=[0, 3, 1, 2])
    mean = g.const("mean_rgb", np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1))
    x = g.node("Sub", [perm, mean], "centred")
    x = g.node("Div", [x, g.const("div255", np.array(255.0, np.float32))], "normalised")
    x = g.conv_layer(x, "conv32_down", 2, relu=True, same=False)
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2])
    hw, c = ((INPUT_SIZE - 7) // 2 + 1 - 3) // 2 + 1, 32
    for block in ("conv32_1", "conv32_2", "conv32_3"):
        x = g.residual(x, block)
    for down, rest in (
        ("conv64_down", ("conv64_1", "conv64_2", "conv64_3")),
        ("conv128_down", ("conv128_1", "conv128_2")),
        ("conv256_down", ("conv256_1", "conv256_2")),
        ("conv256_down_out", ()),
    ):
        x, hw = g.residual_down(x, down, hw, c)
        c = weights[f"{down}/conv2/conv/filters"].shape[3]
        for block in rest:
            x = g.residual(x, block)
    pooled = g.node("GlobalAveragePool", [x], "gap")
    flat = g.node("Flatten", [pooled], "flat", axis=1)
    fc = g.weight("fc")
    g.nodes.append(helper.make_node("MatMul", [flat, fc], ["embedding"], name="fc"))
    graph = helper.make_graph(
        g.nodes,
        "face_api_resnet34_128",
        [
            helper.make_tensor_value_info(
                "image", TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 3]
            )
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
        g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="border-appliance models/face/face_api_to_onnx.py",
        producer_version="1",
        doc_string=(
            "dlib ResNet-34 face embedder (weights CC0 by Davis King) as ported to TF.js by "
            "face-api (@vladmandic/face-api 1.7.15, MIT); input NHWC RGB float 0..255, 150x150 "
            "aligned face chip; output un-normalised 128-d embedding."
        ),
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model
