#!/usr/bin/env bash
# What a round of gpu_real_photo_recipe.sh brought back, made into candidates and scored here: each run's
# float16 weights are reassembled, its config pointed at this machine, scored on validation only (test is
# scored once, by tools/ship_emotion_model.sh, for the model chosen), exported to float32 ONNX, and then every
# candidate of the round and the pairs named in ENSEMBLES are scored on the real-photo dev set end to end
# beside the shipped model (benchmarks/emotion_real_photos.py). About 2 minutes a run plus 1 a model scored.
#   experiments/gpu_round_score.sh FILES_AT RUNS ROUND [ENSEMBLE_NAME=MEMBER,MEMBER ...]
# FILES_AT: the device call's returned folder (runs.tgz, NAME.h5.partNN). RUNS: where runs live here (the
# earlier rounds' runs too, for ensembles across rounds). ROUND: names the report,
# experiments/reports/emotion_real_photos_round$ROUND.md (and .json). BENCH_ARGS adds benchmark options (a smoke
# test: BENCH_ARGS="--limit 60").
set -euo pipefail
files=$1 runs=$2 round=$3
shift 3
py=${PYTHON:-.venv/bin/python}
fer4=$(cd ../shared/data/fer4 && pwd)
start=$(pwd)/.gpu/imagenet_fp16.npz
mkdir -p "$runs"
tar -xzf "$files"/runs.tgz -C "$runs"
models=()
# A run or ensemble folder scored on validation, exported, and added to the models benchmarked.
candidate() {
    $py -m fer_core.training evaluate --run-dir "$1" --validation-only
    $py -m fer_core.training export --run-dir "$1" --out "$1"/emotion_fp32.onnx --version "rc-$(basename "$1")"
    models+=(--emotion-model "$1"/emotion_fp32.onnx)
}
for first in "$files"/*.h5.part00; do
    name=$(basename "$first" .h5.part00)
    run=$runs/$name
    cat "$files/$name".h5.part* > "$run"/best.weights.h5
    $py - "$run" "$fer4" "$start" <<'EOF'
import json, sys
from pathlib import Path
run, fer4, start = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
config = json.loads((run / "config.json").read_text())
config.update(data_root=fer4, run_dir=str(run), weights_file=start)
(run / "config.json").write_text(json.dumps(config, indent=2))
EOF
    candidate "$run"
done
for spec in "$@"; do
    name=${spec%%=*} members=${spec#*=}
    args=()
    for member in ${members//,/ }; do args+=(--member "$runs/$member"); done
    $py -m fer_core.training ensemble "${args[@]}" --data "$fer4" --run-dir "$runs/$name"
    candidate "$runs/$name"
done
PYTHONPATH=. $py benchmarks/emotion_real_photos.py --emotion-model models/emotion_vgg16.onnx "${models[@]}" \
    --skip-fer4 --n-boot 1000 --out experiments/reports/emotion_real_photos_round"$round" ${BENCH_ARGS:-}
