"""Model cards (Mitchell et al. 2019, "Model Cards for Model Reporting") generated from measured numbers.

A card is never written by hand: this command reads the model files and the JSON their pipeline wrote,
and renders models/<name>.md and models/<name>.json with the paper's nine sections.

    python -m governance.model_cards emotion --name emotion_vgg16 --onnx models/emotion_vgg16.onnx \\
        --run runs/vgg16 --bias reports/bias/emotion_bias_audit.json
    tools/model_cards.sh    # the identity and detector cards, with every evaluation they quote

Inputs (every number in the card comes from one of them; each is listed with its SHA-256):
- --onnx (repeatable: a detector is three networks): the model files. Size, SHA-256, inputs, outputs
  and metadata_props (classes, version, threshold...). Emotion and identity cards take one file.
- --run (emotion): the training run folder fer_core.training writes: config.json (recipe), summary.json
  (initial weights, dedup counts, epochs), metrics.json (validation and test metrics, calibration),
  export.json (the exported file's SHA-256, which must be the --onnx file's), history.csv if present
  (seconds per epoch).
- --evaluation (repeatable): a JSON object written by an evaluation script through write_evaluation():
  its "kind", the "models" it measured (file name and SHA-256, which must be the --onnx files'),
  "evaluation_data" (object with at least "name"), "metrics" (name -> number, or {"value", "ci",
  "count", "of"}), a definition of every metric the kind does not define, and optionally the
  "threshold" the metrics were measured at and "findings" (sentences on single cases).
- --provenance (models trained elsewhere: identity, detector): a JSON object stating where the
  weights come from: "kind", the "files" it describes, "upstream_sha256" (the published file the
  weights were taken from, which every model's metadata must name), "details" (source, licence,
  conversion...), "training_data" (at least "description", as published by the model's authors) and
  optionally "limitations" (known failure modes). Text, not measurements: the card quotes it.
- --bias (repeatable): a bias-audit JSON (governance.bias_audit) of this model: per-group numbers with
  intervals and the flagged groups. It must be of the card's kind and, when it records the model's
  SHA-256, of this very file.
- --faithfulness (emotion): the deletion-metric JSON of benchmarks/gradcam_faithfulness.py on this very
  file: how faithful each explanation method is to the model, against random order. The app reads it
  from the card to tell users which heatmaps to trust (governance.explain.measured_faithfulness).

The card's `generated` stamp is the time it is written, or SOURCE_DATE_EPOCH when that is set; everything else
follows from the inputs. So a committed card is reproduced byte for byte by its own `generated_by` command run
from the repository with SOURCE_DATE_EPOCH=$(date -d GENERATED +%s).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fer_core import UnveilError
from fer_core.model_files import load_session, metadata, models_dir, sha256_file

CARD_VERSION = 2  # 2: model_details lists the model files (a detector has several)
KINDS = ("emotion", "identity", "detector")

SECTIONS = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation data"),
    ("training_data", "Training data"),
    ("quantitative_analyses", "Quantitative analyses"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats_and_recommendations", "Caveats and recommendations"),
)

# What each kind of model is for and not for. Text, not numbers: it states Unveil's design decisions.
INTENDED_USE = {
    "emotion": {
        "primary_uses": [
            "Read the dominant facial expression (the model's classes) of faces in a household's own photos "
            "and videos, on the user's device.",
        ],
        "primary_users": ["People organising or reflecting on their own photos; developers auditing the model."],
        "out_of_scope": [
            "Inferring what a person feels: a facial expression is not an emotional state.",
            "Decisions about people: hiring, education, policing, insurance, health or credit.",
            "Surveillance, or analysing people who have not agreed to it.",
            "Faces of children, and expressions outside the model's classes (they get one of its classes anyway).",
        ],
    },
    "identity": {
        "primary_uses": [
            "Recognise the members of a household who enrolled themselves, in that household's own photos, on "
            "the user's device; everyone else stays unknown.",
        ],
        "primary_users": ["Households that enrolled with consent; developers auditing the model."],
        "out_of_scope": [
            "Identifying strangers, or anyone who did not enrol and consent.",
            "Surveillance, access control or any security decision: a false match names the wrong person.",
            "Inferring gender, ethnicity, age or any other attribute from a face.",
        ],
    },
    "detector": {
        "primary_uses": [
            "Find the faces, and five landmarks on each, in a household's own photos and videos on the user's "
            "device, so that the emotion and identity models can read them.",
        ],
        "primary_users": ["The analysis pipeline (fer_core.detection); developers auditing the model."],
        "out_of_scope": [
            "Counting, tracking or locating people for surveillance.",
            "Deciding whether a person is present for any security purpose: faces are missed and false faces found.",
        ],
    },
}

RELEVANT_FACTORS = {
    "emotion": [
        "Skin tone, age and gender of the person (FER2013 skews towards young adults with lighter skin).",
        "Illumination, face size, head pose, occlusion (glasses, hands, masks), grayscale or colour source.",
        "Posed versus spontaneous expressions, and cultural differences in how expressions are shown.",
    ],
    "identity": [
        "Demographic group (gender, skin tone, age): published face-recognition tests report error rates that "
        "differ by group.",
        "Image quality: illumination, face size, head pose, occlusion, ageing between enrolment and photo.",
    ],
    "detector": [
        "Face size, head pose (profile views), occlusion (hands, masks, hair), blur and illumination.",
        "Demographic group (skin tone, age, gender): detection rates can differ by group.",
        "Image source: the cascade runs on RGB; grayscale faces are read as three equal channels.",
    ],
}

METRIC_DEFINITIONS = {
    "emotion": {
        "accuracy": "share of faces whose most probable class is the true one",
        "macro_f1": "mean over classes of the F1 score, each class counting equally",
        "recall[c]": "share of faces of class c predicted as c",
        "predicted_rate[c]": "share of faces predicted as c",
        "ece": "expected calibration error, 15 equal-width confidence bins",
        "ece_if_calibrated": "the ECE a perfectly calibrated model with the same confidences shows on as many faces "
                             "(each face right with probability its confidence): mean and 95th percentile over "
                             "simulated sets (fer_core.calibration); an ECE under that percentile is within sample "
                             "noise",
        "nll": "mean negative log-likelihood of the true class",
    },
    "identity": {
        "false_match_rate": "share of impostor trials (different people) that match at the operating threshold",
        "false_non_match_rate": "share of genuine trials (same person) that do not match at the operating threshold",
        "false_positive_identification_rate": "share of faces of people who are not enrolled that are named as "
                                              "someone (FPIR)",
        "false_negative_identification_rate": "share of faces of enrolled people that are not named as the right "
                                              "person (FNIR)",
    },
    "detector": {},  # every detector metric is defined by the evaluation that measured it
}

ETHICAL_CONSIDERATIONS = {
    "emotion": [
        "Faces are personal data: Unveil runs on the device, sends nothing, and stores no face images.",
        "Expression labels in FER2013 were assigned by annotators from web images; they encode the annotators' "
        "reading of a face, not the person's feeling.",
        "Errors are not evenly spread: see the quantitative analyses per group before relying on any output.",
    ],
    "identity": [
        "Recognition needs the enrolled person's consent; names and embeddings are stored encrypted and erased "
        "on request.",
        "A false match attaches someone else's name to a face; unknown faces are never named.",
        "Error rates differ across groups: see the quantitative analyses per group.",
    ],
    "detector": [
        "Faces are personal data: detection runs on the device and its boxes and landmarks are not stored.",
        "A missed face is silently left out of every later step (emotion, recognition) for that person.",
    ],
}

BASE_CAVEATS = {
    "emotion": [
        "FER2013's labels are noisy (the FER+ relabelling by ten annotators per image, Barsoum et al. 2016, "
        "changed many of them) and it holds duplicate images; test numbers are on the split deduplicated "
        "against train.",
    ],
    "identity": [
        "The operating threshold trades false matches for false non-matches; it was set on development data "
        "and is not tuned per household.",
        "The threshold belongs to the whole pipeline: calibrate again (benchmarks/calibrate_identity.py) whenever "
        "the detector, the alignment or the model changes.",
    ],
    "detector": [
        "Every later step reads the faces this detector finds: its misses and false faces carry into the "
        "emotion and identity results.",
    ],
}


class ModelCardError(UnveilError, ValueError):
    """An input of the card is missing or does not hold what the card needs; nothing was written.

    A message names the input by build_model_card's parameter (models, run_dir, evaluations, provenance,
    bias) or by its file and field, never by a command-line flag: cards are built by scripts too."""


NEEDS_RUN = "an emotion card needs run_dir: the training run folder with its metrics"
RUN_OR_PROVENANCE = "give run_dir (a model trained here) or provenance (a model trained elsewhere), not both"
NEEDS_PROVENANCE = "{a_kind} card needs provenance: where the weights come from, their licence and training data"
NEEDS_NUMBERS = "a card needs measured numbers: give run_dir or at least one file in evaluations"
NEEDS_MODEL = "a card needs at least one model file in models"
FAITHFULNESS_OF_ANOTHER_MODEL = ("{path} measured the explanations of a model with SHA-256 {measured}, not this card's "
                                 "{file} ({sha256}): re-run benchmarks/gradcam_faithfulness.py on this model")
MODEL_NOT_FOUND = "model file not found: {path}"
PER_CLASS_TABLE_SHAPE = "a per-class count table must be {n} rows of {n} counts, one per class ({classes})"
EVALUATION_CAVEATS = "{path}: 'caveats' must be a list of sentences"
BAD_SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, got {value!r}"


def build_model_card(
    *,
    name: str,
    kind: str,
    models: Sequence[str | Path],
    run_dir: str | Path | None = None,
    evaluations: Sequence[str | Path] = (),
    provenance: str | Path | None = None,
    bias: Sequence[str | Path] = (),
    faithfulness: str | Path | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """The card as a JSON-ready dict with the nine sections, built only from the given inputs."""
    if kind not in KINDS:
        raise ModelCardError(f"unknown model kind '{kind}'; expected one of: {', '.join(KINDS)}")
    if kind == "emotion" and run_dir is None:
        raise ModelCardError(NEEDS_RUN)
    if run_dir is not None and provenance is not None:
        raise ModelCardError(RUN_OR_PROVENANCE)
    if run_dir is None and provenance is None:
        raise ModelCardError(NEEDS_PROVENANCE.format(a_kind=_a(kind)))
    if run_dir is None and not evaluations:
        raise ModelCardError(NEEDS_NUMBERS)
    if not models:
        raise ModelCardError(NEEDS_MODEL)
    if kind != "detector" and len(models) != 1:
        raise ModelCardError(f"{_a(kind)} card describes one model file; got {len(models)}")
    sources: list[dict[str, str]] = []
    details = _model_details([Path(m) for m in models], sources)
    card: dict[str, Any] = {
        "card_version": CARD_VERSION,
        "name": name,
        "kind": kind,
        "generated_by": command or "governance.model_cards.build_model_card",
        "sources": sources,
        "model_details": details,
        "intended_use": INTENDED_USE[kind],
        "factors": {"relevant": RELEVANT_FACTORS[kind], "evaluated": []},
        "metrics": {"definitions": dict(METRIC_DEFINITIONS[kind])},
        "evaluation_data": [],
        "training_data": {},
        "quantitative_analyses": {"overall": {}, "per_group": [], "flags": [], "findings": []},
        "ethical_considerations": ETHICAL_CONSIDERATIONS[kind],
        "caveats_and_recommendations": list(BASE_CAVEATS[kind]),
    }
    if run_dir is not None:
        _add_training_run(card, Path(run_dir), sources)
    if provenance is not None:
        _add_provenance(card, Path(provenance), sources)
    for path in evaluations:
        _add_evaluation(card, Path(path), sources)
    for path in bias:
        _add_bias_audit(card, Path(path), sources)
    if not bias:
        card["caveats_and_recommendations"].append(
            "No bias audit was given: per-group performance of this model is not known."
        )
    if faithfulness is not None:
        if kind != "emotion":
            raise ModelCardError(f"faithfulness measures explanations of an emotion model; this is {_a(kind)} card")
        _add_faithfulness(card, Path(faithfulness), sources)
    return card


# How counted_rate's interval is made; an evaluation that quotes such rates says so in its evaluation_data.
COUNTED_RATE_INTERVAL = ("95% Clopper-Pearson (exact binomial) intervals, as if the trials were independent; "
                         "trials that share a person or a photo make the true interval wider")


def counted_rate(count: int, total: int) -> dict[str, Any]:
    """A measured share as a card quotes it: value, its interval (COUNTED_RATE_INTERVAL), and the counts behind
    it. A rate seen as 0 of 50 is not 0: its 95% interval reaches 7.1%, which the card must show beside the 0."""
    # Imported here: governance.explain imports this module at run time, and the bias audit brings fairlearn.
    from governance.bias_audit import clopper_pearson

    low, high = clopper_pearson(count, total, confidence=0.95)
    return {"value": count / total, "ci": [float(low), float(high)], "count": int(count), "of": int(total)}


def write_evaluation(
    path: str | Path,
    *,
    kind: str,
    models: Sequence[str | Path],
    evaluation_data: dict[str, Any],
    metrics: dict[str, Any],
    definitions: dict[str, str] | None = None,
    threshold: float | None = None,
    findings: Sequence[str] = (),
    command: str | None = None,
    caveats: Sequence[str] = (),
) -> Path:
    """Write an evaluation JSON that a card can quote (evaluations), checked as the card will check it.

    `models` are the files measured (their names and SHA-256 go in, so a card refuses the numbers of
    another file); `command` defaults to this process's command line, so the card says how to re-measure;
    `caveats` are what the measurement says a reader must know (they join the card's caveats).
    """
    path = Path(path)
    evaluation: dict[str, Any] = {
        "kind": kind,
        "command": command or "python " + shlex.join(sys.argv),
        "models": [{"file": Path(m).name, "sha256": _sha256(Path(m))} for m in models],
        "evaluation_data": evaluation_data,
        "metrics": metrics,
        "definitions": definitions or {},
    }
    if threshold is not None:
        evaluation["threshold"] = threshold
    if findings:
        evaluation["findings"] = list(findings)
    if caveats:
        evaluation["caveats"] = list(caveats)
    _check_evaluation(evaluation, path)
    text = json.dumps(evaluation, indent=1, allow_nan=False)  # serialised before writing: an error leaves no file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def render_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown, in the section order of Mitchell et al."""
    lines = [f"# Model card: {card['name']}", ""]
    when = f" on {card['generated']}" if "generated" in card else ""
    lines += [f"Generated by `{card['generated_by']}`{when} from the files below; do not edit by hand.", ""]
    lines += ["| input | SHA-256 |", "|---|---|"]
    lines += [f"| {s['role']}: `{s['path']}` | `{s['sha256']}` |" for s in card["sources"]]
    for number, (key, title) in enumerate(SECTIONS, start=1):
        lines += ["", f"## {number}. {title}", ""]
        lines += _render_section(key, card[key])
    return "\n".join(lines) + "\n"


def write_model_card(card: dict[str, Any], out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write `<name>.md` and `<name>.json` into `out_dir` (default: the models folder)."""
    out_dir = Path(out_dir) if out_dir is not None else models_dir()
    text = render_markdown(card)  # rendered before writing: an error leaves no half card
    payload = json.dumps(card, indent=1, allow_nan=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, as_json = out_dir / f"{card['name']}.md", out_dir / f"{card['name']}.json"
    markdown.write_text(text, encoding="utf-8")
    as_json.write_text(payload + "\n", encoding="utf-8")
    return markdown, as_json


# --- inputs -------------------------------------------------------------------------------------------


def _model_details(models: list[Path], sources: list[dict[str, str]]) -> dict[str, Any]:
    files = []
    for model in models:
        if not model.is_file():
            raise ModelCardError(MODEL_NOT_FOUND.format(path=model))
        if model.name in (f["file"] for f in files):
            raise ModelCardError(f"model file {model.name} is given twice")
        digest = _record(sources, "model", model)
        session = load_session(model)
        files.append({
            "file": model.name,
            "bytes": model.stat().st_size,
            "sha256": digest,
            "inputs": [_tensor(t) for t in session.get_inputs()],
            "outputs": [_tensor(t) for t in session.get_outputs()],
            "metadata": metadata(session),
        })
    versions = sorted({f["metadata"]["version"] for f in files if "version" in f["metadata"]})
    return {
        "files": files,
        "format": "ONNX",
        "version": ", ".join(versions) or "not recorded in the model's metadata",
    }


def _tensor(node: Any) -> dict[str, Any]:
    """An ONNX input or output as name, element type and shape ('?' for a dimension fixed at run time)."""
    element = node.type.removeprefix("tensor(").removesuffix(")")
    return {
        "name": node.name,
        "type": {"float": "float32", "double": "float64"}.get(element, element),
        "shape": [d if isinstance(d, int) else "?" for d in node.shape],
    }


def _add_training_run(card: dict[str, Any], run_dir: Path, sources: list[dict[str, str]]) -> None:
    if not run_dir.is_dir():
        raise ModelCardError(f"run folder not found: {run_dir}")
    config = _read_json(run_dir / "config.json", "run config", sources, run_dir=run_dir)
    summary = _read_json(run_dir / "summary.json", "run summary", sources, run_dir=run_dir)
    metrics = _read_json(run_dir / "metrics.json", "run metrics", sources, run_dir=run_dir)
    export = _read_json(run_dir / "export.json", "run export", sources, run_dir=run_dir)
    path = run_dir / "metrics.json"
    for split in ("validation", "test"):
        for key in ("n", "accuracy", "macro_f1", "per_class", "ece"):
            _need(metrics, f"{split}.{key}", path)
    _need(metrics, "temperature", path)
    _need(config, "arch", run_dir / "config.json")
    _need(config, "data_root", run_dir / "config.json")
    _need(summary, "initial_weights.source", run_dir / "summary.json")
    _need(summary, "dedup.kept", run_dir / "summary.json")
    _need(export, "sha256", run_dir / "export.json")
    (model,) = card["model_details"]["files"]  # an emotion card has one file (build_model_card)
    refit = _refit_of(run_dir, model, sources)
    # A refitted model's file is the refit's; the file the run exported (or quantized) is the one it refitted.
    trained = {"file": refit["from"]["file"], "sha256": refit["from"]["sha256"]} if refit else model
    quantization = None
    if export["sha256"] != trained["sha256"]:
        quantization = _quantization_of(run_dir, export, trained, sources)
    recipe_keys = ("arch", "seed", "batch_size", "step1_epochs", "step1_lr", "step2_epochs", "step2_lr",
                   "weight_decay", "label_smoothing", "patience", "fine_tune_from", "input_size", "upsample",
                   "face_size", "jit_compile", "ferplus_weight", "domain_augment", "other_emotions")
    details = card["model_details"]
    details["architecture"] = config["arch"]
    details["initial_weights"] = summary["initial_weights"]
    details["training_recipe"] = {k: config[k] for k in recipe_keys if k in config}
    details["trainable_params"] = summary.get("trainable_params")
    details["training_epochs"] = {"step1": summary.get("step1"), "step2": summary.get("step2")}
    if summary.get("members"):  # an ensemble run (fer_core/training/ensemble.py)
        details["ensemble"] = (f"mean of the logits of {len(summary['members'])} independently trained runs, "
                               f"seeds {config.get('seeds')}")
        recipes = config.get("member_recipes") or []
        if len({recipe.get("arch") for recipe in recipes}) > 1:  # members of several architectures
            details["ensemble"] += ", architectures " + ", ".join(
                f"{m['run']} {recipe['arch']}" for m, recipe in zip(summary["members"], recipes))
            details["training_recipe"] = {m["run"]: recipe for m, recipe in zip(summary["members"], recipes)}
        shares = config.get("member_shares")
        if shares and len(set(shares)) > 1:
            details["ensemble"] += ", weighted by shares " + ", ".join(
                f"{m['run']} {share:.3f}" for m, share in zip(summary["members"], shares))
        details["training_epochs"] = {m["run"]: {"step1": m.get("step1"), "step2": m.get("step2")}
                                      for m in summary["members"]}
        recovered = {m["run"]: m["recovered_from"] for m in summary["members"] if m.get("recovered_from")}
        if recovered:  # fer_core/training/recover.py: members read back from a shipped file, not trained again
            details["members_read_back"] = {
                run: f"from {r['onnx']} version {r['version']} (SHA-256 {r['sha256']})"
                     + (", its int8 weights dequantized" if r["int8"] else "") + "; output bias: that file's"
                for run, r in recovered.items()}
    details["hardware"] = summary.get("hardware", "not recorded by the run")
    details["seconds_per_epoch"] = _seconds_per_epoch(run_dir / "history.csv", sources)
    details["export"] = {k: export[k] for k in ("opset", "parity_images", "parity_max_prob_diff") if k in export}
    if quantization is not None:
        # The parity is the float32 export's against Keras, not this file's; this file's agreement with it is
        # same_prediction_as_float32 in the quantitative analyses.
        details["export"] = {"model": f"the float32 model before int8, SHA-256 {export['sha256']}",
                             **details["export"]}
    if quantization is not None:
        details["quantization"] = {**quantization["quantization"], "from": f"the exported float32 model, SHA-256 "
                                   f"{export['sha256']}"}
    if refit is not None:
        details["last_layer_refit"] = {
            "what": "the logits layer refitted on the frozen hidden activations of the training faces, then the "
                    "temperature on validation; body, hidden layer and quantization unchanged "
                    "(fer_core.training.head_refit)",
            "from": f"{refit['from']['file']}, SHA-256 {refit['from']['sha256']}",
            **{k: refit[k] for k in ("settings", "training_faces", "ferplus")},
        }
    dedup = summary["dedup"]
    card["training_data"] = {
        "name": f"{Path(config['data_root']).name} train split",
        "root": config["data_root"],
        "classes": metrics.get("classes", config.get("classes")),
        "images_kept": dedup["kept"].get("train"),
        "deduplication": dedup,
    }
    # A run that also learnt FER+'s other emotions (train --other-emotions) trained outputs this file lacks.
    others = summary.get("other_emotions")
    over = (f"the four classes and {', '.join(others)}, learnt as outputs this file drops" if others
            else "the four classes")
    if summary.get("ferplus"):
        card["training_data"]["labels"] = {
            "targets": f"{1 - summary['ferplus']['weight']:g} x the fer4 label + {summary['ferplus']['weight']:g} x "
                       f"the FER+ crowd votes over {over} (fer_core.training.ferplus.mixed_targets)",
            "ferplus": "FER+ (Barsoum et al. 2016), github.com/microsoft/FERPlus fer2013new.csv, MIT licence; "
                       "joined to fer4 by pixels (fer_core/training/ferplus_votes.csv)",
            **{k: v for k, v in summary["ferplus"].items() if k != "weight"},
        }
    if summary.get("ferplus_extra"):
        extra = summary["ferplus_extra"]
        card["training_data"]["extra_images"] = {
            "what": f"FER2013 training faces fer4 lacks whose FER+ votes mostly name {over}, trained on "
                    "those votes alone (fer_core.training.ferplus.extra_training_images)",
            "sources": "FER2013 (Goodfellow et al. 2013) training images as stored in github.com/tessav/crowd-emotion "
                       "(data/FER2013Train); FER+ votes, github.com/microsoft/FERPlus fer2013new.csv, MIT licence; "
                       "histogram-equalised as fer4's; copies of any fer4 face left out",
            "images": extra["images"],
            "file_sha256": extra["file_sha256"],
            "left_out": {k: v for k, v in extra["built"].items() if k != "kept"},
        }
    card["evaluation_data"].append({
        "name": f"{Path(config['data_root']).name} validation and test splits, deduplicated against train",
        "images": {"validation": metrics["validation"]["n"], "test": metrics["test"]["n"]},
        "use": "validation chose the checkpoint and fitted the temperature; test was scored once",
    })
    overall = card["quantitative_analyses"]["overall"]
    # metrics.json scored the float32 model; when the file is its int8 derivative, its rows say so, so that no
    # figure of the float32 model (its ECE, say) reads as the shipped file's.
    scored = ", float32 model before int8" if quantization is not None and refit is None else ""
    for split in ("validation", "test"):
        scores = metrics[split]
        overall[f"{split}{scored} (n={scores['n']})"] = {
            k: scores[k] for k in ("accuracy", "macro_f1", "ece", "nll") if k in scores}
    for split, scores in metrics.get("ferplus_majority", {}).items():  # fer_core.training.evaluate
        overall[f"{split}{scored}, by the FER+ crowd's majority label (n={scores['n']})"] = {
            k: scores[k] for k in ("accuracy", "macro_f1")}
    if "validation_uncalibrated" in metrics:
        overall[f"validation before temperature scaling{scored}"] = {
            k: metrics["validation_uncalibrated"][k] for k in ("accuracy", "macro_f1", "ece", "nll")
            if k in metrics["validation_uncalibrated"]
        }
    if quantization is not None and refit is None:
        # metrics.json scored the float32 model; the shipped file is its int8 derivative, scored on the same split.
        # (A refit's metrics.json scored the refitted file itself.)
        overall[f"test, this int8 file (n={quantization['test_images']})"] = {
            "accuracy": quantization["int8"]["accuracy"], "macro_f1": quantization["int8"]["macro_f1"],
            "same_prediction_as_float32": quantization["prediction_agreement"],
        }
    # Each per-class table names the data and model that gave it; the shipped file's comes first (_add_bias_audit).
    card["quantitative_analyses"]["per_class"] = [
        {"data": f"test{scored} (n={metrics['test']['n']})", "classes": metrics["test"]["per_class"]}]
    card["quantitative_analyses"]["temperature"] = metrics["temperature"]
    card["metrics"]["decision"] = "argmax of temperature-scaled probabilities"
    card["caveats_and_recommendations"].append(
        f"Trained on {Path(config['data_root']).name} face crops read at "
        f"{model['metadata'].get('input_size', 'an unrecorded size')}: colour, resolution, pose and alignment "
        f"in real photos differ from them."
    )


def _add_provenance(card: dict[str, Any], path: Path, sources: list[dict[str, str]]) -> None:
    provenance = _read_json(path, "provenance", sources)
    for key in ("kind", "files", "upstream_sha256", "details", "training_data.description"):
        _need(provenance, key, path)
    if not isinstance(provenance["files"], list) or not isinstance(provenance["details"], dict):
        raise ModelCardError(f"{path}: 'files' must be a list of file names and 'details' an object")
    if provenance["kind"] != card["kind"]:
        raise ModelCardError(
            f"{path} is the provenance of {_a(provenance['kind'])} model; this is {_a(card['kind'])} model card"
        )
    files = card["model_details"]["files"]
    given = [f["file"] for f in files]
    if sorted(provenance["files"]) != sorted(given):
        raise ModelCardError(
            f"{path} describes {', '.join(provenance['files'])}; the card was given {', '.join(given)}"
        )
    upstream = provenance["upstream_sha256"]
    for model in files:
        # The converter writes the upstream file's hash into each model's metadata: a provenance file
        # that names another upstream file describes other weights, whatever it says.
        if not any(upstream in value for value in model["metadata"].values()):
            raise ModelCardError(
                f"{model['file']}'s metadata does not name the upstream file {upstream} that {path} describes: "
                f"this provenance is not of this model"
            )
    details = card["model_details"]
    for key, value in provenance["details"].items():
        if key in details:
            raise ModelCardError(f"{path}: 'details.{key}' would replace the measured '{key}' of the model")
        details[key] = value
    details["upstream_sha256"] = upstream
    card["training_data"] = provenance["training_data"]
    card["caveats_and_recommendations"] += list(provenance.get("limitations", []))


FAITHFUL = "more faithful than random order"
INDISTINGUISHABLE = "not distinguishable from random order"
UNFAITHFUL = "less faithful than random order"
DELETION_AUC = ("area under the predicted class's probability as an explanation's most salient pixels are removed "
                "first (Petsiuk et al. 2018); lower is more faithful, compared with removing them in random order")


def _add_evaluation(card: dict[str, Any], path: Path, sources: list[dict[str, str]]) -> None:
    evaluation = _read_json(path, "evaluation", sources)
    _check_evaluation(evaluation, path)
    if evaluation["kind"] != card["kind"]:
        raise ModelCardError(
            f"{path} is an evaluation of {_a(evaluation['kind'])} model; this is {_a(card['kind'])} model card"
        )
    files = {f["file"]: f for f in card["model_details"]["files"]}
    for measured in evaluation["models"]:
        if measured["file"] not in files:
            raise ModelCardError(f"{path} measured {measured['file']}, which is not a file of this card "
                                 f"({', '.join(files)})")
        if measured["sha256"] != files[measured["file"]]["sha256"]:
            raise ModelCardError(
                f"{path} measured {measured['file']} with SHA-256 {measured['sha256']}, but the card's file has "
                f"{files[measured['file']]['sha256']}: re-run the evaluation on this model"
            )
    data = {**evaluation["evaluation_data"], "measured_by": evaluation["command"]}
    overall = card["quantitative_analyses"]["overall"]
    if data["name"] in overall:
        raise ModelCardError(f"{path}: another input already reported on '{data['name']}'")
    definitions = card["metrics"]["definitions"]
    for metric, text in evaluation["definitions"].items():
        if definitions.setdefault(metric, text) != text:
            raise ModelCardError(f"{path} defines '{metric}' as '{text}', but it is already defined as "
                                 f"'{definitions[metric]}'")
    card["evaluation_data"].append(data)
    overall[data["name"]] = evaluation["metrics"]
    card["quantitative_analyses"]["findings"] += [f"{data['name']}: {text}" for text in evaluation.get("findings", [])]
    card["caveats_and_recommendations"] += [f"{data['name']}: {text}" for text in evaluation.get("caveats", [])]
    if "threshold" in evaluation:
        _add_threshold(card, evaluation["threshold"], data["name"])


def _check_evaluation(evaluation: dict[str, Any], path: Path) -> None:
    """What write_evaluation promises and a card relies on; ModelCardError naming the file otherwise."""
    for key in ("kind", "command", "models", "evaluation_data.name", "metrics", "definitions"):
        _need(evaluation, key, path)
    if evaluation["kind"] not in KINDS:
        raise ModelCardError(f"{path}: unknown model kind '{evaluation['kind']}'; expected one of: {', '.join(KINDS)}")
    models = evaluation["models"]
    if not models or not all(isinstance(m, dict) and {"file", "sha256"} <= m.keys() for m in models):
        raise ModelCardError(f"{path}: 'models' must list the files measured, each as {{\"file\", \"sha256\"}}")
    if not isinstance(evaluation["metrics"], dict) or not evaluation["metrics"]:
        raise ModelCardError(f"{path}: 'metrics' must be a non-empty object")
    if not isinstance(evaluation["definitions"], dict):
        raise ModelCardError(f"{path}: 'definitions' must be an object: metric -> what it measures")
    caveats = evaluation.get("caveats", [])
    if not isinstance(caveats, list) or not all(isinstance(text, str) and text for text in caveats):
        raise ModelCardError(EVALUATION_CAVEATS.format(path=path))
    known = {**METRIC_DEFINITIONS[evaluation["kind"]], **evaluation["definitions"]}
    for metric, value in evaluation["metrics"].items():
        number = value.get("value") if isinstance(value, dict) else value
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ModelCardError(f"{path}: metric '{metric}' must be a finite number or an object with a numeric "
                                 f"'value', got {value!r}")
        if metric not in known:
            raise ModelCardError(f"{path}: metric '{metric}' has no definition")


def _add_threshold(card: dict[str, Any], measured: float, data_name: str) -> None:
    """The decision rule: the model's own threshold when its metadata has one, else the evaluation's."""
    shipped = next((f["metadata"]["threshold"] for f in card["model_details"]["files"] if "threshold" in f["metadata"]),
                   None)
    if shipped is None:
        card["metrics"].setdefault("decision", f"operating threshold {measured}")
        return
    card["metrics"]["decision"] = f"operating threshold {shipped}, from the model's metadata"
    try:
        differs = not math.isclose(float(shipped), measured)
    except ValueError:
        raise ModelCardError(f"the model's metadata 'threshold' is not a number: {shipped!r}") from None
    if differs:
        card["caveats_and_recommendations"].append(
            f"{data_name} was measured at threshold {measured}, not at the model's {shipped}."
        )


def _add_bias_audit(card: dict[str, Any], path: Path, sources: list[dict[str, str]]) -> None:
    audit = _read_json(path, "bias audit", sources)
    for key in ("kind", "size", "settings", "overall", "columns", "flags", "context"):
        _need(audit, key, path)
    if audit["kind"] != card["kind"]:
        raise ModelCardError(f"{path} is {_a(audit['kind'])} bias audit; this is {_a(card['kind'])} model card")
    audited_sha = (audit["context"].get("model") or {}).get("sha256")
    files = card["model_details"]["files"]
    if audited_sha and audited_sha not in (f["sha256"] for f in files):
        raise ModelCardError(
            f"{path} audited a model with SHA-256 {audited_sha}, not "
            + ", ".join(f"{f['file']} ({f['sha256']})" for f in files)
        )
    label = _shown_path(audit["context"].get("audit_set") or audit["context"].get("trials_source") or path.name)
    settings = audit["settings"]
    card["evaluation_data"].append({
        "name": f"bias audit set {label}",
        "size": audit["size"],
        "groups": sorted(audit["columns"]),
    })
    # The audit names its own interval method: a share's interval is exact, only macro-F1's is bootstrapped.
    card["metrics"]["intervals"] = (
        f"{settings['confidence']:.0%} intervals: {settings['interval']} ({settings['n_boot']} bootstrap resamples)"
    )
    card["metrics"]["flag_rule"] = (
        f"a group with at least {settings['min_group_size']} samples is flagged when it is worse than the rest of "
        f"its column by more than {settings['gap_threshold']} and the interval of that gap excludes zero"
    )
    analyses = card["quantitative_analyses"]
    analyses["overall"][f"bias audit set {label} (n={audit['size']})"] = {
        **audit["overall"], **_calibration_of(audit.get("calibration"))}
    if audited_sha and audit["kind"] == "emotion" and audit.get("overall_table"):
        # The audit ran the card's own file (checked above); the run's metrics.json may have scored its float32 parent.
        analyses.setdefault("per_class", []).insert(0, {
            "data": f"bias audit set {label} (n={audit['size']})",
            "classes": per_class_scores(audit["overall_table"], audit["context"]["classes"])})
    if not audit["context"].get("model", {}).get("sha256"):
        card["caveats_and_recommendations"].append(f"The bias audit {path.name} does not record which model file it ran on.")
    for column, result in audit["columns"].items():
        card["factors"]["evaluated"].append({"column": column, "origin": result["origin"],
                                             "groups": list(result["groups"]), "not_measured": result["not_measured"]})
        if not result["groups"]:
            card["caveats_and_recommendations"].append(
                f"{column} could not be measured on any face of the audit set {label}: this factor is not evaluated."
            )
        for group, numbers in result["groups"].items():
            analyses["per_group"].append({
                "audit": label, "column": column, "group": group, "size": numbers["size"],
                "compared": numbers["eligible"], "metrics": numbers["metrics"],
                "gap_to_rest": numbers["gap_to_rest"], "flagged": numbers["flagged"],
            })
    for flag in audit["flags"]:
        analyses["flags"].append({"audit": label, **flag})
        gap = flag["gap_to_rest"]
        card["caveats_and_recommendations"].append(
            f"Flagged by the bias audit of {label}: {flag['column']} = {flag['group']} (n={flag['size']}), "
            f"{flag['metric']} gap to the rest {_signed(gap['value'])} (interval {_fmt_ci(gap['ci'])})."
        )
    if not audit["flags"]:
        card["caveats_and_recommendations"].append(
            f"The bias audit on {label} flagged no group; groups below {settings['min_group_size']} samples and "
            f"factors it could not measure remain unexamined."
        )


def per_class_scores(table: Sequence[Sequence[int]], classes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Precision, recall, F1 and support of each class from a count table (rows: true class, columns: predicted
    class, as governance.bias_audit records it); None where a class was never predicted or never present."""
    if len(table) != len(classes) or any(len(row) != len(classes) for row in table):
        raise ModelCardError(PER_CLASS_TABLE_SHAPE.format(n=len(classes), classes=", ".join(classes)))
    scores = {}
    for k, name in enumerate(classes):
        hits, present, predicted = table[k][k], sum(table[k]), sum(row[k] for row in table)
        scores[name] = {"precision": hits / predicted if predicted else None,
                        "recall": hits / present if present else None,
                        "f1": 2 * hits / (present + predicted) if present + predicted else None,
                        "support": present}
    return scores


def _calibration_of(calibration: dict[str, Any] | None) -> dict[str, Any]:
    """The audited file's ECE and its floor under perfect calibration (governance.bias_audit, fer_core.calibration),
    for the card's overall table; nothing for an audit without probabilities (identity) or made before it."""
    if calibration is None:
        return {}
    floor = calibration["floor_if_calibrated"]
    return {"ece": calibration["ece"], "ece binning": calibration["binning"],
            "ece_if_calibrated": {"mean": floor["mean"], "95% upper point": floor["upper_95"],
                                  "simulations": floor["simulations"], "seed": floor["seed"]}}


def _add_faithfulness(card: dict[str, Any], path: Path, sources: list[dict[str, str]]) -> None:
    """Each explanation method's deletion AUC against random order (benchmarks/gradcam_faithfulness.py), with
    a verdict from the paired interval: the app shows it beside the method and warns on the untrustworthy."""
    document = _read_json(path, "explanation faithfulness", sources)
    settings = _need(document, "settings", path)
    for key in ("model_sha256", "data", "split", "faces", "command", "default_layer"):
        _need(document, f"settings.{key}", path)
    random_auc = _need(document, "summary.random.mean", path)
    model = card["model_details"]["files"][0]
    if settings["model_sha256"] != model["sha256"]:
        raise ModelCardError(FAITHFULNESS_OF_ANOTHER_MODEL.format(
            path=path, measured=settings["model_sha256"], file=model["file"], sha256=model["sha256"]))
    methods = {}
    for method in _need(document, "summary", path):
        if method == "random":
            continue
        compared = f"comparisons.{method} vs random"
        low, high = _need(document, f"{compared}.ci95", path)
        methods[method] = {
            "deletion_auc": _need(document, f"summary.{method}.mean", path),
            "vs_random": {"value": _need(document, f"{compared}.mean_diff", path), "ci": [low, high]},
            "relative_to_random": _need(document, f"{compared}.relative", path),
            "faces_below_random": _need(document, f"{compared}.share_lower", path),
            "verdict": FAITHFUL if high < 0 else UNFAITHFUL if low > 0 else INDISTINGUISHABLE,
        }
    card["metrics"]["definitions"]["deletion_auc"] = DELETION_AUC
    card["quantitative_analyses"]["explanation_faithfulness"] = {
        "data": f"{settings['data']} {settings['split']}, {settings['faces']} faces",
        "measured_by": settings["command"],
        "default_layer": settings["default_layer"],
        "random_order_auc": random_auc,
        "methods": methods,
    }
    for method, numbers in methods.items():
        if numbers["verdict"] == UNFAITHFUL:
            card["caveats_and_recommendations"].append(
                f"{method} heatmaps are less faithful to this model than a random order of pixels (deletion AUC "
                f"{_fmt(numbers['deletion_auc'])} against {_fmt(random_auc)}): do not read them as the model's evidence.")


def _seconds_per_epoch(history: Path, sources: list[dict[str, str]]) -> float | str:
    if not history.is_file():
        return "not recorded by the run"
    _record(sources, "run history", history)
    with history.open(newline="") as stream:
        seconds = [float(row["epoch_seconds"]) for row in csv.DictReader(stream) if row.get("epoch_seconds")]
    return round(sum(seconds) / len(seconds), 1) if seconds else "not recorded by the run"


def _quantization_of(run_dir: Path, export: dict, model: dict, sources: list[dict[str, str]]) -> dict:
    """The run's quantization.json (fer_core/training/quantize.py) when the card's file is not the exported
    float32 model but its int8 derivative; it must name both files by SHA-256."""
    path = run_dir / "quantization.json"
    if not path.is_file():
        raise ModelCardError(
            f"{run_dir / 'export.json'} records SHA-256 {export['sha256']}, but {model['file']} "
            f"has {model['sha256']}: this run did not export this model file"
        )
    record = _read_json(path, "run quantization", sources, run_dir=run_dir)
    for key in ("fp32.sha256", "int8.sha256", "int8.accuracy", "int8.macro_f1", "prediction_agreement",
                "test_images", "quantization"):
        _need(record, key, path)
    if record["fp32"]["sha256"] != export["sha256"]:
        raise ModelCardError(f"{path} quantized the file with SHA-256 {record['fp32']['sha256']}, not the run's "
                             f"export {export['sha256']}")
    if record["int8"]["sha256"] != model["sha256"]:
        raise ModelCardError(f"{path} records int8 SHA-256 {record['int8']['sha256']}, but {model['file']} has "
                             f"{model['sha256']}: this run did not export or quantize this model file")
    return record


def _refit_of(run_dir: Path, model: dict, sources: list[dict[str, str]]) -> dict | None:
    """The run's refit.json (fer_core/training/head_refit.py), if it has one; it must name the card's file."""
    path = run_dir / "refit.json"
    if not path.is_file():
        return None
    record = _read_json(path, "run last-layer refit", sources, run_dir=run_dir)
    for key in ("sha256", "from.file", "from.sha256", "settings", "training_faces", "ferplus"):
        _need(record, key, path)
    if record["sha256"] != model["sha256"]:
        raise ModelCardError(f"{path} records refitted SHA-256 {record['sha256']}, but {model['file']} has "
                             f"{model['sha256']}: this run did not refit this model file")
    return record


def _shown_path(text: str) -> str:
    """A data file's path as a published card names it: relative to the working folder (the repository,
    where the ship script runs) when it lies inside it, otherwise its file name alone, since a maintainer's
    scratch folder (e.g. /work/runs/...) means nothing to a reader of the card."""
    path = Path(text)
    if not path.is_absolute():
        return text
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def _read_json(path: Path, role: str, sources: list[dict[str, str]], *, run_dir: Path | None = None) -> dict:
    if not path.is_file():
        if run_dir is not None:
            raise ModelCardError(f"run folder {run_dir} has no {path.name}")
        raise ModelCardError(f"{role} file not found: {path}")
    _record(sources, role, path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelCardError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ModelCardError(f"{path} must hold a JSON object")
    return value


def _need(document: dict, dotted: str, path: Path) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ModelCardError(f"{path} has no '{dotted}'")
        value = value[part]
    return value


def _record(sources: list[dict[str, str]], role: str, path: Path) -> str:
    digest = _sha256(path)
    sources.append({"role": role, "path": str(path), "sha256": digest})
    return digest


def _sha256(path: Path) -> str:
    if not path.is_file():
        raise ModelCardError(MODEL_NOT_FOUND.format(path=path))
    return sha256_file(path)


def _a(word: str) -> str:
    """'an identity', 'a detector': the article an error message needs before a kind."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


# --- rendering ----------------------------------------------------------------------------------------


def _render_section(key: str, value: Any) -> list[str]:
    if key == "quantitative_analyses":
        return _render_analyses(value)
    if key == "model_details":
        return _render_details(value)
    if isinstance(value, list):
        return [f"- **{item['name']}**: {_inline({k: v for k, v in item.items() if k != 'name'})}"
                if isinstance(item, dict) and "name" in item else f"- {_inline(item)}" for item in value]
    if isinstance(value, dict):
        lines = []
        for name, item in value.items():
            if isinstance(item, list) and item:
                lines.append(f"- **{name}**:")
                lines += [f"  - {_inline(x)}" for x in item]
            elif isinstance(item, dict) and item and all(isinstance(v, (str, int, float)) for v in item.values()) \
                    and len(item) > 3:
                lines.append(f"- **{name}**:")
                lines += [f"  - {k}: {_inline(v)}" for k, v in item.items()]
            else:
                lines.append(f"- **{name}**: {_inline(item) if item != [] else 'none'}")
        return lines
    return [_inline(value)]


def _render_details(details: dict[str, Any]) -> list[str]:
    lines = ["| file | bytes | inputs | outputs | SHA-256 |", "|---|---|---|---|---|"]
    for f in details["files"]:
        lines.append(f"| {f['file']} | {f['bytes']:,} | {_tensors(f['inputs'])} | {_tensors(f['outputs'])} | "
                     f"`{f['sha256']}` |")
    lines.append("")
    lines += _render_section("details", {k: v for k, v in details.items() if k != "files"})
    for f in details["files"]:
        lines += _render_section("metadata", {f"metadata of {f['file']}": f["metadata"]})
    return lines


def _tensors(tensors: list[dict[str, Any]]) -> str:
    return ", ".join(f"`{t['name']}` {t['type']} [{', '.join(str(d) for d in t['shape'])}]" for t in tensors)


def _render_analyses(analyses: dict[str, Any]) -> list[str]:
    lines = ["### Overall", "", "| data | metric | value |", "|---|---|---|"]
    for data, metrics in analyses["overall"].items():
        for metric, value in metrics.items():
            if isinstance(value, dict) and "[" in metric:
                continue  # a bias audit's per-class numbers: in the card's JSON and the audit's report
            lines.append(f"| {data} | {metric} | {_value(value)} |")
    if analyses.get("findings"):
        lines += ["", "### Findings on single cases", ""] + [f"- {text}" for text in analyses["findings"]]
    for table in analyses.get("per_class", []):
        lines += ["", f"### Per class ({table['data']})", "", "| class | precision | recall | F1 | support |",
                  "|---|---|---|---|---|"]
        for name, scores in table["classes"].items():
            lines.append(f"| {name} | {_fmt(scores['precision'])} | {_fmt(scores['recall'])} | {_fmt(scores['f1'])} | "
                         f"{scores['support']} |")
    if "temperature" in analyses:
        lines += ["", f"Temperature applied to the logits: {_fmt(analyses['temperature'])}."]
    if "explanation_faithfulness" in analyses:
        faithfulness = analyses["explanation_faithfulness"]
        lines += ["", "### Explanation faithfulness (deletion metric)", "",
                  f"On {faithfulness['data']}, layer methods at {faithfulness['default_layer']}; random order "
                  f"{_fmt(faithfulness['random_order_auc'])}. Measured by `{faithfulness['measured_by']}`.", "",
                  "| method | deletion AUC | vs random | faces below random | verdict |", "|---|---|---|---|---|"]
        for method, numbers in faithfulness["methods"].items():
            versus = numbers["vs_random"]
            lines.append(f"| {method} | {_fmt(numbers['deletion_auc'])} | {_signed(versus['value'])} {_fmt_ci(versus['ci'])} | "
                         f"{numbers['faces_below_random']:.1%} | {numbers['verdict']} |")
    if analyses["per_group"]:
        headline = [m for m in next(iter(analyses["per_group"]))["metrics"] if "[" not in m]
        lines += ["", "### Per group (bias audit, intervals in brackets)", "",
                  "| audit | factor | group | n | " + " | ".join(headline) + " | gap to rest | flagged |",
                  "|---|---|---|---|" + "---|" * len(headline) + "---|---|"]
        for row in analyses["per_group"]:
            gaps = "; ".join(f"{m} {_value(v)}" for m, v in row["gap_to_rest"].items())
            size = f"{row['size']}" + ("" if row["compared"] else " (too few to compare)")
            lines.append(f"| {row['audit']} | {row['column']} | {row['group']} | {size} | "
                         + " | ".join(_value(row["metrics"][m]) for m in headline)
                         + f" | {gaps} | {', '.join(row['flagged']) or 'no'} |")
    return lines


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return ", ".join(_inline(v) for v in value)
    if isinstance(value, float):
        return _fmt(value)
    return str(value)


def _value(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        count = f"({value['count']} of {value['of']})" if "count" in value and "of" in value else ""
        return " ".join(part for part in (_fmt(value["value"]), _fmt_ci(value.get("ci")), count) if part)
    return _inline(value)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float) and value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"  # e.g. a parity difference of 3e-7 must not print as 0.0000
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _fmt_ci(ci: Sequence[float | None] | None) -> str:
    return f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""


# --- command ------------------------------------------------------------------------------------------


def _generated() -> str:
    """When the card is generated: now, or SOURCE_DATE_EPOCH (reproducible-builds.org) when it is set. The
    stamp is the only part of a card that is not a function of its inputs, so re-running a card's recorded
    command with SOURCE_DATE_EPOCH at its stamp must rewrite the committed card byte for byte."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if not epoch.strip().isdigit():
        raise ModelCardError(BAD_SOURCE_DATE_EPOCH.format(value=epoch))
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).isoformat(timespec="seconds")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m governance.model_cards", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--name", required=True, help="card name: writes <name>.md and <name>.json")
    parser.add_argument("--onnx", action="append", required=True,
                        help="models: a model file the card describes (repeatable: a detector has several)")
    parser.add_argument("--run", help="run_dir: training run folder (config, summary, metrics, export JSON)")
    parser.add_argument("--provenance",
                        help="provenance: JSON of a model trained elsewhere (source, licence, training data)")
    parser.add_argument("--evaluation", action="append", default=[],
                        help="evaluations: an evaluation JSON (repeatable)")
    parser.add_argument("--bias", action="append", default=[], help="bias: a bias audit JSON (repeatable)")
    parser.add_argument("--faithfulness",
                        help="faithfulness: the deletion-metric JSON of benchmarks/gradcam_faithfulness.py (emotion)")
    parser.add_argument("--out", help="output folder (default: the models folder)")
    args = parser.parse_args(argv)
    command = "python -m governance.model_cards " + shlex.join(list(argv if argv is not None else sys.argv[1:]))
    try:
        card = build_model_card(name=args.name, kind=args.kind, models=args.onnx, run_dir=args.run,
                                evaluations=args.evaluation, provenance=args.provenance, bias=args.bias,
                                faithfulness=args.faithfulness, command=command)
        card["generated"] = _generated()
        markdown, as_json = write_model_card(card, args.out)
    except UnveilError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {markdown} and {as_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
