"""The six-architecture reproduction table, rendered from the run folders `fer_core.training` wrote.

    python -m fer_core.training reproduction-table RUN_DIR... [--out experiments/reports/reproduction.md] [--copy-to DIR]

Each RUN_DIR is one architecture's run, trained and then scored by `python -m fer_core.training evaluate`
(validation and the deduplicated test split). Every number comes from the run's files: validation and
test metrics from metrics.json, seconds per epoch (median of step 2's epochs, the first one excluded
because it includes XLA compilation) and training accuracy from history.csv, the hardware from
summary.json. `--copy-to` copies each run's small files (JSON, CSV, PNG) there, so the table can be
re-rendered from the repository alone.
"""
from __future__ import annotations

import csv
import json
import shutil
import statistics
from pathlib import Path

from fer_core.training.zoo import ZOO

# The reference study's published figures (4-class, 48x48, 128-image test set, V100): train / validation
# accuracy, macro-F1, seconds per epoch.
REFERENCE = {
    "cnn3_rgb": ("62.06", "66.41", "63.16", "28 s"),
    "cnn4_rgb": ("64.17", "69.10", "69.72", "29 s"),
    "vgg16": ("77.14", "75.57", "81.30", "28 s"),
    "resnet50v2": ("75.05", "73.10", "76.56", "52 s"),
    "efficientnetb0": ("53.40", "54.09", "59.61", "29 s"),
    "cnn5_gray": ("75.76", "75.35", "78.73", "24 s"),
}
SMALL_FILES = ("config.json", "summary.json", "metrics.json", "step2_state.json", "dedup.json", "history.csv",
               "confusion_validation.png", "confusion_test.png")


def _history(run: Path) -> list[dict[str, str]]:
    path = run / "history.csv"
    return list(csv.DictReader(path.open())) if path.exists() else []


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def row(run: Path) -> dict:
    config = json.loads((run / "config.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").exists() else None
    history = _history(run)
    state = json.loads((run / "step2_state.json").read_text())
    if metrics is None and state.get("best_epoch"):
        # Cut before it was scored (its checkpoint was lost): validation from the best epoch's history row,
        # test not measured. The table marks such a row.
        best = history[state["best_epoch"] - 1]
        metrics = {"validation": {"accuracy": float(best["val_accuracy"]), "macro_f1": float(best["val_macro_f1"])},
                   "test": {"accuracy": None, "macro_f1": None}, "from_history": True}
    seconds = [float(r["epoch_seconds"]) for r in history[1:] if r.get("epoch_seconds")]
    train_acc = [float(r["accuracy"]) for r in history if r.get("accuracy")]
    hardware = summary.get("hardware", {})
    return {
        "arch": config["arch"],
        "description": ZOO[config["arch"]].description,
        "initial_weights": summary.get("initial_weights", {}).get("source", "?"),
        "epochs_done": len(history),
        "scored": metrics is not None and not metrics.get("from_history", False),
        "epochs_planned": config["step2_epochs"],
        "train_accuracy": train_acc[-1] if train_acc else None,
        "val_accuracy": metrics["validation"]["accuracy"] if metrics else None,
        "val_macro_f1": metrics["validation"]["macro_f1"] if metrics else None,
        "test_accuracy": metrics["test"]["accuracy"] if metrics else None,
        "test_macro_f1": metrics["test"]["macro_f1"] if metrics else None,
        "seconds_per_epoch": statistics.median(seconds) if seconds else None,
        "hardware": ", ".join(hardware.get("gpus") or []) or f"{hardware.get('cpu_count', '?')}-core CPU",
        "backend": hardware.get("backend", "tensorflow"),
    }


def render(rows: list[dict], command: str, budget: str | None) -> str:
    lines = [
        "# Reproduction of the six-architecture study on fer4 (deduplicated)",
        "",
        f"Rendered by `{command}` from the runs' own files.",
        "",
        *([f"Budget: {budget}", ""] if budget else []),
        "| model | weights | epochs | train acc | val acc | val macro-F1 | test acc | test macro-F1 | s/epoch | hardware "
        "| reference train / val / F1 / time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seconds = "n/a" if r["seconds_per_epoch"] is None else f"{r['seconds_per_epoch']:.1f}"
        reference = " / ".join(REFERENCE[r["arch"]])
        lines.append(
            f"| {r['description']}{'' if r['scored'] else ' *'} | {r['initial_weights']} | {r['epochs_done']}/{r['epochs_planned']} "
            f"| {_pct(r['train_accuracy'])} | {_pct(r['val_accuracy'])} | {_pct(r['val_macro_f1'])} "
            f"| {_pct(r['test_accuracy'])} | {_pct(r['test_macro_f1'])} | {seconds} | {r['hardware']} ({r['backend']}) "
            f"| {reference} |"
        )
    if not all(r["scored"] for r in rows):
        lines += ["", "\\* stopped by the time cap before it was scored: validation figures from its best epoch in "
                  "history.csv, test not measured."]
    return "\n".join(lines) + "\n"


def write_table(runs: list[Path], *, out: Path | None = None, copy_to: Path | None = None,
                budget: str | None = None) -> str:
    """Render the table of `runs` (one per architecture, in the zoo's order), print it, and write it to `out`
    with a JSON of every row beside it. `copy_to` first copies each run's small files there (a run already
    in its place is left as it is), and the table then names those copies."""
    order = list(ZOO)
    rows = sorted((row(run) for run in runs), key=lambda r: order.index(r["arch"]))
    if copy_to:
        for run in runs:
            target = copy_to / json.loads((run / "config.json").read_text())["arch"]
            if target.resolve() == run.resolve():
                continue  # re-rendering from the copies themselves
            target.mkdir(parents=True, exist_ok=True)
            for name in SMALL_FILES:
                if (run / name).exists():
                    shutil.copy2(run / name, target / name)
    shown = copy_to or Path("RUN_DIRS")
    command = "python -m fer_core.training reproduction-table " + " ".join(f"{shown}/{r['arch']}" for r in rows)
    if out:
        command += f" --out {out}"
    if budget:
        command += " --budget '...'"
    text = render(rows, command, budget)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    return text
