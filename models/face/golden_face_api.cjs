// Records the source model's outputs: runs @vladmandic/face-api's own FaceRecognitionNet
// (TensorFlow.js, CPU backend) on raw 150x150x3 RGB uint8 inputs and prints the descriptors.
// Usage: node golden_face_api.cjs FACE_API_PACKAGE_DIR INPUTS.u8 COUNT > outputs.json
// (run from a directory whose node_modules has @tensorflow/tfjs and tfjs-backend-wasm 4.22.0)
const fs = require('fs');
const path = require('path');
const [pkgDir, inputsPath, countArg] = process.argv.slice(2);
const faceapi = require(path.resolve(pkgDir, 'dist/face-api.node-wasm.js'));
const tf = faceapi.tf;

(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  const modelDir = path.join(pkgDir, 'model');
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'face_recognition_model-weights_manifest.json')));
  const bin = fs.readFileSync(path.join(modelDir, 'face_recognition_model.bin'));
  const weightMap = tf.io.decodeWeights(
    bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights);
  const net = faceapi.nets.faceRecognitionNet;
  net.loadFromWeightMap(weightMap);
  const raw = fs.readFileSync(inputsPath);
  const count = parseInt(countArg, 10);
  const size = 150 * 150 * 3;
  const out = [];
  for (let i = 0; i < count; i++) {
    const pixels = new Int32Array(raw.subarray(i * size, (i + 1) * size));
    const x = tf.tensor3d(pixels, [150, 150, 3], 'int32');
    const d = await net.computeFaceDescriptor(x);
    out.push(Array.from(d));
    x.dispose();
  }
  process.stdout.write(JSON.stringify({ tfjs: tf.version_core, backend: tf.getBackend(), descriptors: out }));
})();
