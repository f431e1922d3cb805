"""How far each explanation method can be trusted on a given model file: the deletion metric its card quotes.

The ship script measures every method against random order (benchmarks/gradcam_faithfulness.py) and the card
carries the result (governance.model_cards, --faithfulness). On the shipped 0.5.0, Grad-CAM and Grad-CAM++
on the last map are less faithful than random order (docs/gradcam/deletion.md), so a user must be told so
before reading their heatmaps, and a model without a measurement says so too.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from fer_core.model_files import sha256_file
from governance.explain._errors import ExplanationError
from governance.model_cards import FAITHFUL, INDISTINGUISHABLE, UNFAITHFUL

VERDICTS = (FAITHFUL, INDISTINGUISHABLE, UNFAITHFUL)
CARD_UNREADABLE = "the model card {path} cannot be read: {reason}"


@dataclass(frozen=True)
class Faithfulness:
    """One method's deletion metric on one model: mean AUC (lower is more faithful), random order's AUC on the
    same faces, the paired difference's 95% interval, and the card's verdict (one of VERDICTS)."""

    method: str
    deletion_auc: float
    random_auc: float
    interval: tuple[float, float]
    verdict: str
    measured_on: str

    @property
    def beats_random(self) -> bool:
        """Measured more faithful than random order: the paired interval lies wholly below zero."""
        return self.verdict == FAITHFUL

    @property
    def worse_than_random(self) -> bool:
        """Measured less faithful than random order: the paired interval lies wholly above zero."""
        return self.verdict == UNFAITHFUL

    @property
    def relative(self) -> float:
        """(AUC - random AUC) / random AUC: -0.37 means confidence falls 37% faster than under random order."""
        return (self.deletion_auc - self.random_auc) / self.random_auc


def measured_faithfulness(model_path: str | os.PathLike[str]) -> dict[str, Faithfulness]:
    """Method -> its measured faithfulness on the model file at `model_path`, from the card beside it
    (`<stem>.json`). Empty when there is no card, when the card describes another file (a model swapped in
    after the card was made), or when it has no measurement: nothing is assumed. ExplanationError when the
    card exists but is not a readable card."""
    model_path = Path(model_path)
    card_path = model_path.with_suffix(".json")
    if not card_path.is_file():
        return {}
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        files = card["model_details"]["files"]
        analyses = card["quantitative_analyses"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ExplanationError(CARD_UNREADABLE.format(path=card_path, reason=exc)) from exc
    measured = analyses.get("explanation_faithfulness") if isinstance(analyses, dict) else None
    if not measured or sha256_file(model_path) not in {f.get("sha256") for f in files if isinstance(f, dict)}:
        return {}
    try:
        return {method: Faithfulness(method=method, deletion_auc=float(numbers["deletion_auc"]),
                                     random_auc=float(measured["random_order_auc"]),
                                     interval=(float(numbers["vs_random"]["ci"][0]), float(numbers["vs_random"]["ci"][1])),
                                     verdict=_verdict(numbers["verdict"]), measured_on=str(measured["data"]))
                for method, numbers in measured["methods"].items()}
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ExplanationError(CARD_UNREADABLE.format(path=card_path, reason=exc)) from exc


def _verdict(text: str) -> str:
    if text not in VERDICTS:
        raise ValueError(f"unknown verdict {text!r}")
    return text
