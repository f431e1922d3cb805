"""Issue 20's ablation table: what each training change gave, from the runs' own files.

    python experiments/emotion_ablation.py experiments/reports/emotion_ablation/*/ \
        --real-photos experiments/reports/emotion_real_photos_round{1,2,3}.json --out experiments/reports/emotion_ablation.md

Each RUN folder holds what `python -m fer_core.training train` wrote (config.json, summary.json,
step2_state.json, history.csv); experiments/gpu_real_photo_recipe.sh trained them on one GPU machine.
Validation macro-F1 and accuracy are on the deduplicated fer4 validation split with fer4's own labels, at
the run's best epoch. A run cut by its time cap before its cosine schedule ended says so ("cut"): its
learning rate had not come down, so it is not comparable with a finished run.
--real-photos: benchmarks/emotion_real_photos.py JSON reports; a run whose exported model was scored there gets
its real-photo accuracy (the candidate was exported as version <next version>-rc-<run folder's name>).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def _row(run: Path, real: dict[str, float]) -> dict:
    config = json.loads((run / "config.json").read_text())
    state = json.loads((run / "step2_state.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    history = list(csv.DictReader((run / "history.csv").open()))
    best = max(history, key=lambda r: float(r["val_macro_f1"]))
    return {
        "run": run.name,
        "start": summary["initial_weights"]["source"],
        "input": f"{48 * config.get('upsample', 1)} px",
        "ferplus": config.get("ferplus_weight", 0.0),
        "domain": "yes" if config.get("domain_augment") else "no",
        "seed": config["seed"],
        "epochs": f"{state['epochs_done']} of {config['step2_epochs']}" + ("" if state["epochs_done"] >= config["step2_epochs"] else " (cut)"),
        "macro_f1": state["best_macro_f1"],
        "accuracy": float(best["val_accuracy"]),
        "real": real.get(run.name),
    }


def _real_photo_accuracy(paths: list[Path]) -> dict[str, float]:
    found = {}
    for path in paths:
        models = json.loads(path.read_text())["sets"]["real photos"]["models"]
        found.update({name.split("-rc-", 1)[1]: scores["accuracy"]["value"] for name, scores in models.items() if "-rc-" in name})
    return found


def render(rows: list[dict], command: str) -> str:
    lines = [
        "# Emotion training ablation (issue 20)",
        "",
        "Every run starts from a VGG16 and fine-tunes it from block 1 (step 2) after a frozen-base step 1. "
        "Validation: the deduplicated fer4 validation split (2,373 faces), fer4's labels, best epoch. "
        "Real photos: the dev set of `benchmarks/emotion_real_photos_data.py` end to end through FaceAnalyzer "
        "(1,364 detected faces), for the runs whose model was exported and scored.",
        "",
        "| run | start | input | FER+ share | domain augmentation | seed | step-2 epochs | validation macro-F1 | validation accuracy | real-photo accuracy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        real = "" if r["real"] is None else f"{r['real']:.3f}"
        lines.append(f"| {r['run']} | {r['start']} | {r['input']} | {r['ferplus']:g} | {r['domain']} | {r['seed']} | "
                     f"{r['epochs']} | {r['macro_f1']:.4f} | {r['accuracy']:.4f} | {real} |")
    lines += ["", "Reproduce:", "", "```bash", command, "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--real-photos", type=Path, nargs="*", default=[])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    real = _real_photo_accuracy(args.real_photos)
    rows = [_row(run, real) for run in args.runs]
    command = "python experiments/emotion_ablation.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = render(rows, command)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
