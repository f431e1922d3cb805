#!/usr/bin/env bash
# Issue 20's candidates for the next emotion model (0.3.0), trained at once on one GPU machine (Keras 3 on
# JAX: that machine has no TensorFlow; see experiments/README.md, "GPU logistics"). Every candidate starts
# from ImageNet VGG16 (--weights imagenet-onnx) and is fine-tuned from block 1; the candidates differ in one
# change each from the full recipe (c_full), so their validation scores are the ablation table:
#
#   c_full      96x96 in the graph, FER+ votes as half of each target, domain-gap augmentation
#   c_no_domain   ... without the domain-gap augmentation
#   c_no_ferplus  ... with fer4's labels alone
#   c_ferplus1    ... with FER+'s votes alone
#   c_48px        ... at 48x48 (no upsampling: the recipe this CPU can afford)
#   c_full_s2     c_full with another seed (seed spread; an ensemble partner)
#
# Round 2 (the 48x48 recipe, which alone finished its schedule in round 1 and scored best on real photos):
#
#   g_full_s11, g_full_s12   c_48px with other seeds: ensemble members
#   g_no_domain              ... without the domain-gap augmentation
#   g_no_ferplus             ... with fer4's labels alone
#   g_ferplus1               ... with FER+'s votes alone
#
# Round 3: the 96x96 recipe given the whole GPU and its whole schedule, since round 1's
# 96-px runs were cut near epoch 20 of 40 while six runs shared the GPU; both come back, for the real-photo set:
#
#   u_full        96x96, FER+ 0.5, domain-gap augmentation (c_full finished)
#   u_no_ferplus  96x96, fer4 labels, domain-gap augmentation (c_no_ferplus finished: the best validation score)
#
# Round 4: round 3's two recipes with seed 2 (ensemble partners): u_full_s2, u_no_ferplus_s2.
#
# Round 5 (prepared, not run yet): the 0.4.0 recipe (u_full) plus 4,590 FER2013 training faces fer4 lacks,
# trained on their FER+ votes alone (`python -m fer_core.training ferplus-extra`: FER2013's anger, disgust
# and fear faces that FER+'s annotators mostly read as neutral, sad or surprise; experiments/reports/
# ferplus_extra.md). Refitting only 0.4.0's last layer with them added moved real photos from 0.697 to 0.710
# (+0.012 [+0.001, +0.024]; experiments/reports/emotion_head_refit/). Two seeds, to be judged as a pair's
# ensemble against 0.4.0 (the same pair without them):
#
#   x_extra, x_extra_s2   96x96, FER+ 0.5, domain-gap augmentation, the extra faces (EXTRA, an .npz)
#
# Round 6 (prepared): on real photos FER+ at 0.5 beat fer4's labels alone by 4-7 points at 96 px (rounds 3
# and 4); larger shares were only scored on validation, whose fer4 labels penalise them by construction.
# Refitting only 0.4.0's last layer (experiments/reports/emotion_head_refit/) moved real photos from 0.697
# to 0.703 at 0.75 but cut sad recall to 0.45; whole runs may differ:
#
#   v_ferplus075  96x96, FER+ 0.75, domain-gap augmentation
#   v_ferplus1    96x96, FER+ votes alone, domain-gap augmentation
#
# Round 7 (prepared; run it instead of round 6): round 5's recipe with seeds 3 and 4, so that round 5 and 7
# give a four-member ensemble and the seed spread of the recipe most likely to ship. Why before round 6: a larger
# FER+ share moves faces from sad to neutral (the last-layer refit at 0.75: sad recall 0.45), and per-class
# offsets on the shipped model's logits (experiments/reports/emotion_class_offsets/) find that trade worth
# points on real photos only with sad recall under the issue's 0.6 floor (0.749 at sad recall 0.50, fitted and
# scored on the same faces; with the floor the best offsets leave the sad-neutral boundary where it is). The
# extra faces are the one lever that moved real photos beyond noise at the last layer.
#
#   x_extra_s3, x_extra_s4   round 5's x_extra with seeds 3 and 4
#
# Rounds 8 and 9 (prepared; run them before any other): the recipe that shipped as 0.5.0, trained on the CPU
# (FER+ votes as a quarter of each target, which read real photos better than half: experiments/reports/
# emotion_ensemble_cpu_fp25/). More seeds of it at 96 px no longer move real photos: the CPU's third seed
# merged with the first two reads 0.737 against the pair's 0.736 (experiments/reports/
# emotion_ensemble_cpu_fp25_x3/). Round 8 therefore changes the one lever that helped beside the FER+ votes:
# the size the face is enlarged to inside the graph (48 -> 96 px gave +1.4 points on real photos, two seeds
# each), now 144 px; two seeds, so that they are judged as a pair. Round 9: three more 96-px seeds, should
# 144 px not pay. Run both with EPOCHS 20, the CPU runs' schedule; each call's returned weight parts and
# runs.tgz fit the device tool's eight files.
#
#   z_fp25_144_s5, z_fp25_144_s6          (round 8; 144 px costs 2.25 times 96 px a step)
#   y_fp25_s5, y_fp25_s6, y_fp25_s7       (round 9)
#
# Round 10 (prepared; run it first): 0.5.0's recipe learning FER+'s other emotions too (train
# --other-emotions: anger, disgust, fear and contempt as extra outputs the saved model drops), with the extra
# faces that mostly show them (EXTRA default .gpu/ferplus_extra8.npz, `ferplus-extra --other-emotions`: 7,359
# faces instead of 4,590). The one lever of the issue's list not yet tried; two seeds, judged as a pair:
#
#   o_fp25_s5, o_fp25_s6
#
# The extra faces do not fit in one call beside the data and the start (64 MiB a call): a first call stages
# the data and the start on the machine (build/gpu, kept while it stays warm), then rounds 5 and 6 follow at
# once (it is handed back 30 s after a call ends). A fresh checkout has neither .gpu/ nor .whl/:
# experiments/gpu_prepare.sh builds them; experiments/gpu_stash.sh moves the rest of the tree out for the
# calls; experiments/gpu_round_score.sh scores what comes back. experiments/README.md, "GPU logistics".
#
#   experiments/gpu_real_photo_recipe.sh DATA_TGZ IMAGENET_NPZ OUT EPOCHS SECONDS [ROUND]
#
# DATA_TGZ: `python experiments/gpu_pack.py data` output. IMAGENET_NPZ: `gpu_pack.py start imagenet-onnx`
# output. EPOCHS: step-2 epochs (no early stop; the best validation macro-F1 epoch is kept). SECONDS: the
# wall-clock cap of each run; a run cut there keeps its best checkpoint and its summary says how many
# epochs it finished. Scored on validation only: test and the real-photo set are scored here, after export.
# OUT receives runs.tgz (every run's JSON, CSV and log) and two candidates' weights in float16 (round 1: the
# two best on validation; round 2: the two ensemble members), in
# 15 MiB parts (the device tool returns at most 8 files of 16 MiB). Here, per candidate:
#   mkdir -p runs/c_full && cat OUT/c_full.h5.part* > runs/c_full/best.weights.h5; tar -xzf OUT/runs.tgz -C runs
# EXTRA: rounds 5 and 7's extra faces (default .gpu/ferplus_extra.npz). TRAIN_ARGS adds train options (a smoke test: TRAIN_ARGS="--limit-per-split 64 --max-steps-per-epoch 2").
set -uo pipefail
data_tgz=$1 start=$2 out=$3 epochs=$4 seconds=$5 round=${6:-1}
# Staged by an earlier call on a machine handed back since, the data and start are gone: stop at once (stage
# them again, then this call) rather than spend the call starting runs that find nothing.
for file in "$data_tgz" "$start"; do
    [ -f "$file" ] || { echo "no $file: stage the data and the start first (experiments/README.md, GPU logistics)" >&2; exit 1; }
done
export KERAS_BACKEND=${KERAS_BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
data=/tmp/fer4 runs=/tmp/unveil-runs
mkdir -p "$data" "$runs" "$out"
tar -xzf "$data_tgz" -C "$data"

if [ "$round" = 1 ]; then
    declare -A candidates=(
        [c_full]="--upsample 2 --ferplus-weight 0.5 --domain-augment"
        [c_no_domain]="--upsample 2 --ferplus-weight 0.5"
        [c_no_ferplus]="--upsample 2 --domain-augment"
        [c_ferplus1]="--upsample 2 --ferplus-weight 1.0 --domain-augment"
        [c_48px]="--ferplus-weight 0.5 --domain-augment"
        [c_full_s2]="--upsample 2 --ferplus-weight 0.5 --domain-augment --seed 2"
    )
    bring=""
elif [[ "$round" =~ ^([5789]|10)$ ]]; then
    default_extra=.gpu/ferplus_extra.npz
    [ "$round" = 10 ] && default_extra=.gpu/ferplus_extra8.npz
    extra=${EXTRA:-$default_extra}
    [ -f "$extra" ] || { echo "round $round needs the extra faces: no $extra" >&2; exit 1; }
    half="--upsample 2 --ferplus-weight 0.5 --domain-augment --ferplus-extra $extra"
    quarter="--ferplus-weight 0.25 --domain-augment --ferplus-extra $extra"
    case $round in
        5) declare -A candidates=([x_extra]="$half" [x_extra_s2]="$half --seed 2") ;;
        7) declare -A candidates=([x_extra_s3]="$half --seed 3" [x_extra_s4]="$half --seed 4") ;;
        8) declare -A candidates=([z_fp25_144_s5]="--upsample 3 $quarter --seed 5"
                                  [z_fp25_144_s6]="--upsample 3 $quarter --seed 6") ;;
        9) declare -A candidates=([y_fp25_s5]="--upsample 2 $quarter --seed 5" [y_fp25_s6]="--upsample 2 $quarter --seed 6"
                                  [y_fp25_s7]="--upsample 2 $quarter --seed 7") ;;
        10) declare -A candidates=([o_fp25_s5]="--upsample 2 $quarter --other-emotions --seed 5"
                                   [o_fp25_s6]="--upsample 2 $quarter --other-emotions --seed 6") ;;
    esac
    bring="${!candidates[*]}"
elif [ "$round" = 6 ]; then
    declare -A candidates=(
        [v_ferplus075]="--upsample 2 --ferplus-weight 0.75 --domain-augment"
        [v_ferplus1]="--upsample 2 --ferplus-weight 1.0 --domain-augment"
    )
    bring="v_ferplus075 v_ferplus1"
elif [ "$round" = 4 ]; then
    declare -A candidates=(
        [u_full_s2]="--upsample 2 --ferplus-weight 0.5 --domain-augment --seed 2"
        [u_no_ferplus_s2]="--upsample 2 --domain-augment --seed 2"
    )
    bring="u_full_s2 u_no_ferplus_s2"
elif [ "$round" = 3 ]; then
    declare -A candidates=(
        [u_full]="--upsample 2 --ferplus-weight 0.5 --domain-augment"
        [u_no_ferplus]="--upsample 2 --domain-augment"
    )
    bring="u_full u_no_ferplus"
else
    declare -A candidates=(
        [g_full_s11]="--ferplus-weight 0.5 --domain-augment --seed 11"
        [g_full_s12]="--ferplus-weight 0.5 --domain-augment --seed 12"
        [g_no_domain]="--ferplus-weight 0.5"
        [g_no_ferplus]="--domain-augment"
        [g_ferplus1]="--ferplus-weight 1.0 --domain-augment"
    )
    bring="g_full_s11 g_full_s12"
fi
for name in "${!candidates[@]}"; do
    # shellcheck disable=SC2086  # the options are words
    (
        timeout "$seconds" python3 -m fer_core.training train --data "$data" --run-dir "$runs/$name" \
            --arch vgg16 --weights imagenet-onnx --weights-file "$start" --fine-tune-from block1_conv1 \
            --step2-epochs "$epochs" --patience 1000 ${candidates[$name]} ${TRAIN_ARGS:-} || echo "train ended with status $?"
    ) >"$runs/$name.log" 2>&1 &
done
wait

best=$(python3 - "$runs" <<'EOF'
import json, sys
from pathlib import Path
scores = {p.parent.name: json.loads(p.read_text()) for p in Path(sys.argv[1]).glob("*/step2_state.json")}
for name, state in sorted(scores.items(), key=lambda kv: -kv[1]["best_macro_f1"]):
    print(f"{name}: best validation macro-F1 {state['best_macro_f1']:.4f} after {state['epochs_done']} epochs", file=sys.stderr)
print(" ".join(sorted(scores, key=lambda n: -scores[n]["best_macro_f1"])[:2]))
EOF
)
best=${bring:-$best}
echo "brought back: ${best:-none}"
for name in $best; do
    python3 experiments/gpu_pack.py weights --run-dir "$runs/$name" --out "$runs/$name.half.h5" >>"$runs/$name.log" 2>&1
    split -b 15M -d "$runs/$name.half.h5" "$out/$name.h5.part"
    sha256sum "$runs/$name.half.h5"
done
for name in "${!candidates[@]}"; do
    echo "== $name"; grep -E "epoch [0-9]+:|step 1:|Error|error|status" "$runs/$name.log" | tail -3
done
tar -C "$runs" --exclude='*.h5' --exclude=backup -czf "$out/runs.tgz" .
