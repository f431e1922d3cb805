"""Wall time of the emotion bias audit, phase by phase (target: fer4's test split, 2.5k faces, <= 60 s on 2 cores).

    python benchmarks/bench_bias_audit.py [--data ../shared/data/fer4/test] [--model models/emotion_vgg16.onnx]

Runs the same path as `unveil audit bias emotion` (crops straight to the model, all proxy groups,
1000 bootstrap resamples, HTML + JSON written to a temporary folder) and prints a table. Model
inference is timed inside the predictor; "read + proxy groups" is the rest of the prediction loop.
The CPU column is process CPU time (all threads): on a machine shared with other work, wall time
stretches but CPU time does not, and CPU / 2 is the least wall time two free cores would need.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from fer_core.emotion import DEFAULT_MODEL, EmotionModel
from fer_core.model_files import models_dir
from governance.bias_audit import AuditSettings, crop_predictor, load_audit_set, run_emotion_audit, write_report

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "fer4" / "test")
    parser.add_argument("--model", type=Path, default=models_dir() / DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()

    started, cpu_started = time.perf_counter(), time.process_time()
    model = EmotionModel(args.model, threads=args.threads)
    audit_set = load_audit_set(args.data)
    setup, setup_cpu = time.perf_counter() - started, time.process_time() - cpu_started

    inner = crop_predictor(model)
    inference = inference_cpu = 0.0

    def timed_predict(images):
        nonlocal inference, inference_cpu
        t, c = time.perf_counter(), time.process_time()
        out = inner(images)
        inference += time.perf_counter() - t
        inference_cpu += time.process_time() - c
        return out

    audit = run_emotion_audit(samples=audit_set, predict=timed_predict, classes=model.classes,
                              settings=AuditSettings(n_boot=args.n_boot))
    t, c = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as folder:
        write_report(audit, folder)
    report, report_cpu = time.perf_counter() - t, time.process_time() - c
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    timings = audit.timings

    rows = [
        ("load model + list audit set", setup, setup_cpu),
        ("read images + proxy groups", timings["predict_s"] - inference, timings["predict_cpu_s"] - inference_cpu),
        ("model inference (onnxruntime)", inference, inference_cpu),
        ("metrics + bootstrap (MetricFrame)", timings["analyse_s"], timings["analyse_cpu_s"]),
        ("HTML + JSON report", report, report_cpu),
        ("total", total, total_cpu),
    ]
    print(f"model {args.model.name}, {audit.size} faces from {args.data}, {os.cpu_count()} cores, "
          f"threads={args.threads or 'all'}, n_boot={args.n_boot}")
    print(f"{'phase':<36}{'wall s':>9}{'CPU s':>9}")
    for name, seconds, cpu in rows:
        print(f"{name:<36}{seconds:>9.2f}{cpu:>9.2f}")
    print(f"accuracy {audit.overall.overall['accuracy'].value:.4f}; flagged groups: {len(audit.flags)}")


if __name__ == "__main__":
    main()
