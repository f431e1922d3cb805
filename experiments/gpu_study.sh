#!/usr/bin/env bash
# The six-architecture reproduction study and the shipped VGG16's candidates, trained at once on one GPU
# machine (Keras 3 on JAX: that machine has no TensorFlow; see experiments/README.md, "GPU logistics").
#
#   experiments/gpu_study.sh DATA HED_NPZ OUT TABLE_EPOCHS MAIN_EPOCHS SECONDS
#
# DATA: a fer4-style folder. HED_NPZ: `python experiments/gpu_pack.py start hed` output. OUT: where results go.
# TABLE_EPOCHS: step-2 epochs of every architecture in the table (one budget for all; no early stop).
# MAIN_EPOCHS: step-2 epochs of the VGG16 candidates. SECONDS: wall-clock cap of each training run; a run
# cut there keeps its best checkpoint, and the summary says how many epochs it finished.
#
# Table runs are scored on validation and test here (test once per model, for the table). The VGG16
# candidates are scored on validation only: the one chosen is scored on test once, after export, by
# tools/ship_emotion_model.sh. OUT receives runs.tgz (every run's JSON, CSV, PNG and log) and the chosen
# candidate's best.weights.h5 cut into 15 MiB parts (the device tool returns files of at most 16 MiB).
set -uo pipefail
data=$1 hed=$2 out=$3 table_epochs=$4 main_epochs=$5 seconds=$6
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
runs=/tmp/unveil-runs
mkdir -p "$runs" "$out"

train() {  # name, evaluate (yes/no), train arguments...
    local name=$1 score=$2
    shift 2
    timeout "$seconds" python3 -m fer_core.training train --data "$data" --run-dir "$runs/$name" "$@" \
        >"$runs/$name.log" 2>&1 || echo "train ended with status $?" >>"$runs/$name.log"
    if [ "$score" = yes ]; then
        python3 -m fer_core.training evaluate --run-dir "$runs/$name" >>"$runs/$name.log" 2>&1
    fi
}

for arch in cnn3_rgb cnn4_rgb resnet50v2 efficientnetb0 cnn5_gray; do
    train "table_$arch" yes --arch "$arch" --step2-epochs "$table_epochs" --patience 1000 &
done
train table_vgg16 yes --arch vgg16 --weights hed --weights-file "$hed" --step2-epochs "$table_epochs" --patience 1000 &
train main_vgg16_up2 no --arch vgg16 --weights hed --weights-file "$hed" --upsample 2 --fine-tune-from block1_conv1 \
    --step2-epochs "$main_epochs" --patience 1000 &
train main_vgg16_up1 no --arch vgg16 --weights hed --weights-file "$hed" --fine-tune-from block1_conv1 \
    --step2-epochs "$main_epochs" --patience 1000 &
wait

best=$(python3 - "$runs" <<'EOF'
import json, sys
from pathlib import Path
scores = {p.parent.name: json.loads(p.read_text())["best_macro_f1"] for p in Path(sys.argv[1]).glob("main_*/step2_state.json")}
print(max(scores, key=scores.get) if scores else "", file=sys.stdout)
for name, f1 in sorted(scores.items()):
    print(f"{name}: best validation macro-F1 {f1:.4f}", file=sys.stderr)
EOF
)
echo "chosen candidate: ${best:-none}"
tar -C "$runs" --exclude='*.weights.h5' --exclude=backup -czf "$out/runs.tgz" .
if [ -n "$best" ]; then
    split -b 15M -d "$runs/$best/best.weights.h5" "$out/best.weights.h5.part"
    sha256sum "$runs/$best/best.weights.h5"
fi
for log in "$runs"/*.log; do echo "== $log"; grep -E "epoch [0-9]+:|accuracy|step 1:|Error|error" "$log" | tail -4; done
