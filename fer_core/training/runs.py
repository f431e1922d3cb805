"""The model a finished run folder describes, whatever made it: one architecture of the zoo (train.py) or
an ensemble of such runs (ensemble.py). Kept apart from both so that neither imports the other."""
from __future__ import annotations

import keras

from fer_core.training.ensemble import build_ensemble
from fer_core.training.zoo import build_architecture


def build_from_config(config: dict) -> keras.Model:
    """The model a run's config.json describes (for evaluation, export and the explanation checks); an
    ensemble run's when the config lists `members`. Weights are not loaded."""
    if config.get("members"):
        return build_ensemble(config)
    return build_architecture(config)
