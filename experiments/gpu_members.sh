#!/usr/bin/env bash
# Ensemble members for the shipped emotion model: VGG16 runs of the shipped recipe (HED start, 96x96
# in-graph, fine-tuned from block 1), one per seed, trained at once on one GPU machine (Keras 3 on JAX),
# brought back as float16 weights. Merged here with `python -m fer_core.training ensemble`.
#
#   experiments/gpu_members.sh DATA_TGZ HED_NPZ OUT EPOCHS SECONDS SEED [SEED ...]
#
# DATA_TGZ: `python experiments/gpu_pack.py data` output (train and validation, deduplicated against
# all splits: 34 MB). HED_NPZ: `gpu_pack.py start hed` output (27 MB). OUT: where results go. EPOCHS: step-2 epochs
# of each member (no early stop; the best validation macro-F1 epoch is kept). SECONDS: wall-clock cap of
# each run; a run cut there keeps its best checkpoint and its summary says how many epochs it finished.
#
# What a call may move sets the shape: 64 MiB there (code + data + HED weights + the keras wheels, with
# models/ and docs/ left behind) and 8 files of at most 16 MiB, 64 MiB in all, back. A float16 VGG16 is
# 30 MB, so a call brings back two members: OUT receives each one's weights in 15 MiB parts
# (member_s<SEED>.h5.partNN) and members.tgz (every run's JSON, CSV and log). Here:
#   cat OUT/member_s1.h5.part* > runs/member_s1/best.weights.h5; tar -xzf OUT/members.tgz -C runs
# TRAIN_ARGS adds train options (a smoke test here: TRAIN_ARGS="--limit-per-split 64 --max-steps-per-epoch 2").
set -uo pipefail
data_tgz=$1 hed=$2 out=$3 epochs=$4 seconds=$5
shift 5
export KERAS_BACKEND=${KERAS_BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
data=/tmp/fer4 runs=/tmp/unveil-runs
mkdir -p "$data" "$runs" "$out"
tar -xzf "$data_tgz" -C "$data"

for seed in "$@"; do
    name=member_s$seed
    (
        timeout "$seconds" python3 -m fer_core.training train --data "$data" --run-dir "$runs/$name" --seed "$seed" \
            --arch vgg16 --weights hed --weights-file "$hed" --upsample 2 --fine-tune-from block1_conv1 \
            --step2-epochs "$epochs" --patience 1000 ${TRAIN_ARGS:-} || echo "train ended with status $?"
    ) >"$runs/$name.log" 2>&1 &
done
wait

for seed in "$@"; do
    name=member_s$seed
    if [ -f "$runs/$name/best.weights.h5" ]; then
        python3 experiments/gpu_pack.py weights --run-dir "$runs/$name" --out "$runs/$name.half.h5" >>"$runs/$name.log" 2>&1
        split -b 15M -d "$runs/$name.half.h5" "$out/$name.h5.part"
        sha256sum "$runs/$name.half.h5"
    fi
    echo "== $name"; grep -E "epoch [0-9]+:|step 1:|Error|error|status" "$runs/$name.log" | tail -4
done
tar -C "$runs" --exclude='*.h5' --exclude=backup -czf "$out/members.tgz" .
