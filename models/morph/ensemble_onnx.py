"""Write several portrait networks as one ONNX graph whose logit is the mean of theirs.

    /work/venvs/train/bin/python models/morph/ensemble_onnx.py OUT.onnx MEMBER.onnx MEMBER.onnx...

Why: networks trained alike from different random starts make partly different mistakes on a
small training set; the mean of their logits is steadier than either (held-out figures in
models/morph/README.md). One graph keeps the product's contract (`portrait` in, `logit` out),
so neither `portrait_net.py` nor a signed model overlay need to know how many members it has.
The members (`train_portrait.py --seed N`) must share the input and output names and shapes;
the combined graph is checked against the mean of the members' own outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import compose, helper, numpy_helper


def combine(members: list[Path], out: Path) -> float:
    """Write the mean graph; the largest difference to the members' mean on random input."""
    import onnxruntime as ort

    loaded = [onnx.load(str(path)) for path in members]
    first = loaded[0].graph
    name_in, name_out = first.input[0].name, first.output[0].name
    nodes, inits, outputs = [], [], []
    for i, model in enumerate(loaded):
        graph = model.graph
        if (graph.input[0].name, graph.output[0].name) != (name_in, name_out):
            raise SystemExit(f"{members[i]}: input or output names differ from the first")
        prefixed = compose.add_prefix(model, f"m{i}_").graph
        nodes.append(helper.make_node("Identity", [name_in], [f"m{i}_{name_in}"]))
        nodes.extend(prefixed.node)
        inits.extend(prefixed.initializer)
        outputs.append(f"m{i}_{name_out}")
    inits.append(numpy_helper.from_array(np.array(1.0 / len(loaded), np.float32), "share"))
    nodes.append(helper.make_node("Sum", outputs, ["summed"]))
    nodes.append(helper.make_node("Mul", ["summed", "share"], [name_out]))
    graph = helper.make_graph(
        nodes, "portrait_ensemble", list(first.input), list(first.output), inits
    )
    model = helper.make_model(graph, opset_imports=list(loaded[0].opset_import))
    model.ir_version = loaded[0].ir_version
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    shape = [d.dim_value or 4 for d in first.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    want = np.mean(
        [ort.InferenceSession(str(p)).run(None, {name_in: x})[0] for p in members], axis=0
    )
    got = ort.InferenceSession(str(out)).run(None, {name_in: x})[0]
    return float(np.abs(got - want).max())


def main() -> None:
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    out, members = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    diff = combine(members, out)
    print(f"wrote {out} ({len(members)} members); max |graph - members' mean| = {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit("the combined graph does not reproduce the members' mean")


if __name__ == "__main__":
    main()
