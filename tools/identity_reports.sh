#!/usr/bin/env bash
# The identity model's figures: conversion check, threshold calibration, benchmark table and the per-group
# bias report on the development face set (../shared/data/faces; gender from people.csv). Each step also
# writes the JSON the model card quotes (tools/model_cards.sh renders the card from them).
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
out=docs/reports
model=models/face_recognition_dlib.onnx
mkdir -p "$out"/identity_bias
$py benchmarks/identity_conversion_parity.py --model "$model" --json "$out"/identity_conversion.json \
    | tee "$out"/identity_conversion.md
$py benchmarks/calibrate_identity.py --model "$model" --json "$out"/identity_calibration.json \
    | tee "$out"/identity_calibration.md
$py benchmarks/bench_identity.py --model "$model" --json "$out"/identity_benchmark.json | tee "$out"/identity_benchmark.md
$py benchmarks/identity_bias_trials.py --model "$model" --out "$out"/identity_bias/identity_trials.csv
threshold=$($py -c "from fer_core import load_embedding_model; print(load_embedding_model('$model').threshold)")
$py -m unveil.cli audit bias identity "$out"/identity_bias/identity_trials.csv --model "$model" \
    --threshold "$threshold" --score-kind distance --out "$out"/identity_bias
