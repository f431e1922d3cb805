#!/usr/bin/env bash
# One shipped identity model's figures: conversion check, threshold calibration, benchmark table and the
# per-group bias report on the development face set (../shared/data/faces; gender from people.csv). Each step
# also writes the JSON the model card quotes (tools/model_cards.sh renders the card from them).
#   tools/identity_reports.sh MODEL OUT TARGET_FPIR
# TARGET_FPIR is the bound the model's threshold was calibrated with (benchmarks/calibrate_identity.py), so
# the calibration report describes the shipped threshold.
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
model=$1 out=$2 target=$3
mkdir -p "$out"/identity_bias
$py benchmarks/identity_conversion_parity.py --model "$model" --json "$out"/identity_conversion.json \
    | tee "$out"/identity_conversion.md
$py benchmarks/calibrate_identity.py --model "$model" --target-fpir "$target" --json "$out"/identity_calibration.json \
    | tee "$out"/identity_calibration.md
$py benchmarks/bench_identity.py --model "$model" --target-fpir "$target" --json "$out"/identity_benchmark.json | tee "$out"/identity_benchmark.md
$py benchmarks/identity_bias_trials.py --model "$model" --out "$out"/identity_bias/identity_trials.csv
threshold=$($py -c "from fer_core import load_embedding_model; print(load_embedding_model('$model').threshold)")
$py -m unveil.cli audit bias identity "$out"/identity_bias/identity_trials.csv --model "$model" \
    --threshold "$threshold" --score-kind distance --cluster probe_person --cluster enrolled_person \
    --out "$out"/identity_bias
