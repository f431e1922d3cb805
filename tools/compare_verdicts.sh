#!/usr/bin/env bash
# Runs the given tests twice, with different hash seeds and thread counts (one CPU and one thread per
# runtime, then every CPU and the runtimes' defaults), and fails if any test's verdict differs.
# Usage: tools/compare_verdicts.sh tests/unit/governance/test_gradcam_layers.py tests/unit/fer_core/training/test_training_quantize.py ...
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
PYTHONHASHSEED=0 OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
    taskset -c 0 .venv/bin/python -m pytest -q -rA -p no:cacheprovider "$@" > "$out/one_thread.log" || true
PYTHONHASHSEED=4242 .venv/bin/python -m pytest -q -rA -p no:cacheprovider "$@" > "$out/all_threads.log" || true
for run in one_thread all_threads; do
    grep -E '^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) ' "$out/$run.log" | sort > "$out/$run.verdicts"
    echo "$run: $(tail -1 "$out/$run.log")"
done
diff "$out/one_thread.verdicts" "$out/all_threads.verdicts" && echo "same verdicts for $(wc -l < "$out/one_thread.verdicts") tests"
