#!/usr/bin/env bash
# The cards of the models trained elsewhere, regenerated from fresh measurements: every figure they quote is
# measured again (identity: tools/identity_reports.sh; detector: benchmarks/evaluate_detector.py, which needs
# the training extra), then each card is rendered from those JSON files and its provenance file.
# The emotion card comes from its training run: tools/ship_emotion_model.sh.
#   tools/model_cards.sh
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
reports=docs/reports
PYTHON=$py tools/identity_reports.sh models/face_recognition_dlib.onnx "$reports" 0.02
$py -m governance.model_cards identity --name face_recognition_dlib --onnx models/face_recognition_dlib.onnx \
    --provenance "$reports"/provenance/face_recognition_dlib.json \
    --evaluation "$reports"/identity_conversion.json --evaluation "$reports"/identity_calibration.json \
    --evaluation "$reports"/identity_benchmark.json --bias "$reports"/identity_bias/identity_bias_audit.json \
    --out models
# The default identity model: calibrated with no stranger named on the enrolment trials (FPIR 0).
mfn="$reports"/identity_mobilefacenet
PYTHON=$py tools/identity_reports.sh models/face_recognition_mobilefacenet.onnx "$mfn" 0
$py benchmarks/identity_lfw_pairs.py --model models/face_recognition_dlib.onnx \
    --model models/face_recognition_mobilefacenet.onnx --json "$mfn"/identity_lfw_pairs.json \
    --plot "$mfn"/identity_lfw_pairs_det.png | tee "$mfn"/identity_lfw_pairs.md
$py -m governance.model_cards identity --name face_recognition_mobilefacenet \
    --onnx models/face_recognition_mobilefacenet.onnx --provenance "$reports"/provenance/face_recognition_mobilefacenet.json \
    --evaluation "$mfn"/identity_conversion.json --evaluation "$mfn"/identity_calibration.json \
    --evaluation "$mfn"/identity_benchmark.json --evaluation "$mfn"/identity_lfw_pairs.json \
    --bias "$mfn"/identity_bias/identity_bias_audit.json --out models

mkdir -p "$reports"/mtcnn
$py benchmarks/evaluate_detector.py --out "$reports"/mtcnn | tee "$reports"/mtcnn/evaluation.md
$py -m governance.model_cards detector --name mtcnn \
    --onnx models/mtcnn_pnet.onnx --onnx models/mtcnn_rnet.onnx --onnx models/mtcnn_onet.onnx \
    --provenance "$reports"/provenance/mtcnn.json --evaluation "$reports"/mtcnn/conversion.json \
    --evaluation "$reports"/mtcnn/package_parity.json --evaluation "$reports"/mtcnn/lfw_detection.json \
    --out models
