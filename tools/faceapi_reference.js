// Reference embeddings from @vladmandic/face-api 1.7.15's own FaceRecognitionNet (tfjs, cpu backend).
// Run by tools/make_identity_reference.py from a folder where the package and tfjs are installed:
//   node faceapi_reference.js crops.u8 N out.f32
// crops.u8: N x 150 x 150 x 3 uint8 RGB aligned faces, raw bytes; out.f32: N x 128 float32.
const fs = require('fs');
const path = require('path');

const faceapi = require(path.join(process.cwd(), 'node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js'));

const { tf } = faceapi;
const SIZE = 150;

async function main() {
  const [crops, n, out] = process.argv.slice(2);
  await tf.setBackend('cpu');
  await tf.ready();
  await faceapi.nets.faceRecognitionNet.loadFromDisk(path.join(process.cwd(), 'node_modules/@vladmandic/face-api/model'));
  const bytes = fs.readFileSync(crops);
  const count = parseInt(n, 10);
  const result = new Float32Array(count * 128);
  for (let i = 0; i < count; i += 1) {
    const slice = bytes.subarray(i * SIZE * SIZE * 3, (i + 1) * SIZE * SIZE * 3);
    const input = tf.tensor3d(new Int32Array(slice), [SIZE, SIZE, 3], 'int32');
    result.set(await faceapi.computeFaceDescriptor(input), i * 128);
    input.dispose();
  }
  fs.writeFileSync(out, Buffer.from(result.buffer));
  console.log(`face-api ${faceapi.version}, tfjs ${tf.version_core} (${tf.getBackend()}): ${count} embeddings`);
}

main();
