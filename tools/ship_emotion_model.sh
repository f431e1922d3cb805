#!/usr/bin/env bash
# Ship a trained emotion run: score it (validation + the deduplicated test split, once), export the
# ONNX model, quantize it to static int8 (shipped instead of float32 when it loses under a point of validation
# accuracy: `python -m fer_core.training quantize` decides, fer_core/training/quantize.py), and produce every figure its card quotes, with the
# commands that made them.
#   tools/ship_emotion_model.sh RUN_DIR VERSION
# RUN_DIR is a training run, or a last-layer refit's folder (`python -m fer_core.training refit-head`).
set -euo pipefail
run_dir=$1
version=$2
py=${PYTHON:-.venv/bin/python}
reports=docs/reports
mkdir -p "$reports"

if [ -f "$run_dir"/refit.json ]; then
    # A last-layer refit (`python -m fer_core.training refit-head --version VERSION`) has scored validation and
    # test once and written its model; the body and its quantization are the refitted file's.
    grep -q "\"version\": \"$version\"" "$run_dir"/refit.json || { echo "refit.json is not version $version" >&2; exit 2; }
    cp "$run_dir"/emotion.onnx models/emotion_vgg16.onnx
    shipped=refit
else
    # The test split is scored once per trained model: a run already evaluated on it since its last training
    # is not again (`evaluate --validation-only`, used to choose between candidates, does not count).
    if [ ! -f "$run_dir"/metrics.json ] || [ "$run_dir"/best.weights.h5 -nt "$run_dir"/metrics.json ] \
        || ! grep -q '"test"' "$run_dir"/metrics.json; then
        $py -m fer_core.training evaluate --run-dir "$run_dir"
    fi
    $py -m fer_core.training export --run-dir "$run_dir" --out "$run_dir"/emotion_fp32.onnx --version "$version"
    $py -m fer_core.training quantize --onnx "$run_dir"/emotion_fp32.onnx --out "$run_dir"/emotion_int8.onnx \
        --json "$run_dir"/quantization.json --repeats 5
    if [ "$($py -c 'import json, sys; print(json.load(open(sys.argv[1]))["ship"])' "$run_dir"/quantization.json)" = True ]; then
        cp "$run_dir"/emotion_int8.onnx models/emotion_vgg16.onnx
        shipped=int8
    else
        cp "$run_dir"/emotion_fp32.onnx models/emotion_vgg16.onnx
        shipped=fp32
    fi
fi
cp "$run_dir"/confusion_validation.png "$run_dir"/confusion_test.png "$reports"/
cp "$run_dir"/metrics.json "$reports"/emotion_vgg16_metrics.json
# The run's small files go into the repository, so the card is made from (and checked against) files in it.
mkdir -p "$reports"/emotion_vgg16_run
rm -f "$reports"/emotion_vgg16_run/*
for f in config.json summary.json metrics.json export.json history.csv dedup.json template.json; do
    cp "$run_dir/$f" "$reports"/emotion_vgg16_run/
done
# A single run's stopping state; an ensemble (fer_core/training/ensemble.py) keeps its members' in summary.json.
if [ -f "$run_dir"/step2_state.json ]; then cp "$run_dir"/step2_state.json "$reports"/emotion_vgg16_run/; fi
if [ "$shipped" != fp32 ] && [ -f "$run_dir"/quantization.json ]; then cp "$run_dir"/quantization.json "$reports"/emotion_vgg16_run/; fi
if [ "$shipped" = refit ]; then cp "$run_dir"/refit.json "$reports"/emotion_vgg16_run/; fi

# Bias audit on the deduplicated test split, with proxy groups; it also measures the shipped file's ECE and the ECE
# a perfectly calibrated model would show (fer_core.calibration), and its count table gives the card this file's
# per-class precision, recall and F1 (metrics.json's are the float32 model's), which the card quotes for this file.
$py -m fer_core.training dedup --data ../shared/data/fer4 --split test --manifest "$run_dir"/test_dedup.csv > /dev/null
$py -m unveil.cli audit bias emotion "$run_dir"/test_dedup.csv --model models/emotion_vgg16.onnx \
    --out "$reports"/emotion_bias
# Real photos end to end, beside the shipped model it replaces and the two released models: what users judge.
# The release being replaced is the one the last commit holds, named by its commit so that the card's command
# reproduces from a clone (PREVIOUS_COMMIT overrides it).
previous=git:${PREVIOUS_COMMIT:-$(git rev-parse --short=12 HEAD)}:models/emotion_vgg16.onnx
fp32_model=()
if [ "$shipped" = int8 ]; then fp32_model=(--emotion-model "$run_dir"/emotion_fp32.onnx); fi
PYTHONPATH=. $py benchmarks/emotion_real_photos.py --emotion-model models/emotion_vgg16.onnx \
    --emotion-model "$previous" "${fp32_model[@]}" \
    --card-evaluation "$reports"/emotion_real_photos_card.json
# How faithful each explanation method is to this file: the card carries it, and the Explain page reads it there.
$py benchmarks/gradcam_faithfulness.py --model models/emotion_vgg16.onnx --out docs/gradcam --methods ${GRADCAM_METHODS:-gradcam gradcam++ hirescam layercam occlusion}
$py -m governance.model_cards emotion --name emotion_vgg16 --onnx models/emotion_vgg16.onnx --run "$reports"/emotion_vgg16_run \
    --bias "$reports"/emotion_bias/emotion_bias_audit.json --evaluation "$reports"/emotion_real_photos_card.json \
    --faithfulness docs/gradcam/deletion.json --out models

# A refit changes constants only: the graph, and so the latency, is the refitted file's.
if [ "$shipped" != refit ]; then
    $py benchmarks/bench_emotion.py --run-dir "$run_dir" --onnx "$run_dir"/emotion_fp32.onnx --int8 "$run_dir"/emotion_int8.onnx \
        | tee "$reports"/emotion_latency.md
fi

(cd models && sed -i '/emotion_vgg16.onnx/d' SHA256SUMS && sha256sum emotion_vgg16.onnx >> SHA256SUMS)
