#!/usr/bin/env bash
# The identity model's figures: benchmark table, threshold calibration and the per-group bias report
# on the development face set (../shared/data/faces; gender from people.csv).
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
out=docs/reports
mkdir -p "$out"/identity_bias
$py scripts/calibrate_identity.py | tee "$out"/identity_calibration.md
$py scripts/bench_identity.py | tee "$out"/identity_benchmark.md
$py scripts/identity_bias_trials.py --out "$out"/identity_bias/identity_trials.csv
threshold=$($py -c "from fer_core import load_embedding_model; print(load_embedding_model().threshold)")
$py -m governance.cli audit bias identity "$out"/identity_bias/identity_trials.csv \
    --threshold "$threshold" --score-kind distance --out "$out"/identity_bias
