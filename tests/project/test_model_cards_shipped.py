"""The shipped model cards: every shipped model has one, and each was generated from the files now in the repository."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from governance.model_cards import CARD_VERSION, render_markdown
from tests.support.paths import REPO

MODELS = REPO / "models"
CARDS = sorted(p for p in MODELS.glob("*.json") if "card_version" in json.loads(p.read_text()))


def _sources(card: dict) -> list[tuple[Path, str]]:
    """(path, recorded SHA-256) of each input inside the repository (a training run may live outside it)."""
    out = []
    for source in card["sources"]:
        path = Path(source["path"])
        path = path if path.is_absolute() else REPO / path
        if path.resolve().is_relative_to(REPO):
            out.append((path, source["sha256"]))
    return out


def test_every_shipped_model_has_a_card():
    described = {Path(s["path"]).name for p in CARDS for s in json.loads(p.read_text())["sources"] if s["role"] == "model"}
    shipped = {p.name for p in MODELS.glob("*.onnx")}
    assert shipped and shipped <= described, sorted(shipped - described)


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.stem)
def test_card_quotes_the_files_now_in_the_repository(card_path):
    stale = [str(path.relative_to(REPO)) for path, digest in _sources(json.loads(card_path.read_text()))
             if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest]
    assert not stale, f"{card_path.name} was generated from other versions of {stale}: regenerate it"


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.stem)
def test_markdown_is_the_rendering_of_the_json(card_path):
    card = json.loads(card_path.read_text())
    if card["card_version"] != CARD_VERSION:
        pytest.skip(f"{card_path.name} is a version {card['card_version']} card; this renderer writes version {CARD_VERSION}")
    assert card_path.with_suffix(".md").read_text() == render_markdown(card)


def _card(name: str) -> dict:
    return json.loads((MODELS / f"{name}.json").read_text())


def test_the_emotion_cards_per_class_scores_are_the_shipped_files_and_the_float32_ones_say_so():
    # models/emotion_vgg16.onnx is the int8 derivative; metrics.json scored the float32 model it was made from.
    card = _card("emotion_vgg16")
    shipped, *others = card["quantitative_analyses"]["per_class"]
    assert shipped["data"].startswith("bias audit set ")  # the audit ran this very file (its SHA-256 is checked)
    assert all("float32 model before int8" in table["data"] for table in others)


@pytest.mark.parametrize("name", ["face_recognition_dlib", "face_recognition_mobilefacenet"])
def test_the_identity_cards_conversion_figures_are_measured_on_the_shipped_file(name):
    # The provenance once quoted a cosine similarity and a value range no input measured (values "up to 8": 26.3).
    card = _card(name)
    measured = card["quantitative_analyses"]["overall"]["conversion check against the framework the model was converted from"]
    assert {"max_abs_difference_to_reference", "max_cosine_distance_to_reference", "max_abs_reference_value"} <= set(measured)
    prose = json.dumps(card["model_details"].get("conversion", []))
    assert "differ by at most" not in prose and "cosine similarity 0." not in prose
