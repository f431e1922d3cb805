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
