// Reference expression probabilities from @vladmandic/face-api 1.7.15's own FaceExpressionNet (tfjs, cpu backend).
// Run by benchmarks/released_emotion_models.py from a folder where the package and tfjs are installed:
//   node faceapi_expression_reference.js faces.u8 faces.txt out.f32
// faces.u8: the raw face crops (HxWx3 uint8 RGB each, back to back); faces.txt: "H W" per face;
// out.f32: N x 7 float32 (neutral, happy, sad, angry, fearful, disgusted, surprised).
// Each face goes in as its own tensor, so face-api pads it to a square and resizes it itself.
const fs = require('fs');
const path = require('path');

const faceapi = require(path.join(process.cwd(), 'node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js'));

const { tf } = faceapi;

async function main() {
  const [facesFile, shapesFile, out] = process.argv.slice(2);
  await tf.setBackend('cpu');
  await tf.ready();
  await faceapi.nets.faceExpressionNet.loadFromDisk(path.join(process.cwd(), 'node_modules/@vladmandic/face-api/model'));
  const bytes = fs.readFileSync(facesFile);
  const shapes = fs.readFileSync(shapesFile, 'utf8').trim().split('\n').map((line) => line.split(' ').map(Number));
  const result = new Float32Array(shapes.length * 7);
  let offset = 0;
  for (let i = 0; i < shapes.length; i += 1) {
    const [h, w] = shapes[i];
    const slice = bytes.subarray(offset, offset + h * w * 3);
    offset += h * w * 3;
    const input = tf.tensor3d(new Int32Array(slice), [h, w, 3], 'int32');
    const expressions = await faceapi.nets.faceExpressionNet.predictExpressions(input);
    faceapi.FACE_EXPRESSION_LABELS.forEach((label, k) => { result[i * 7 + k] = expressions[label]; });
    input.dispose();
  }
  fs.writeFileSync(out, Buffer.from(result.buffer));
  console.log(`face-api ${faceapi.version}, tfjs ${tf.version_core} (${tf.getBackend()}): ${shapes.length} faces`);
}

main();
