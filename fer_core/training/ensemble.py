"""Trained runs merged into one model whose logits are the mean of theirs.

Averaging several independently trained networks is the surest accuracy gain on FER2013-style data
(Pramerdorfer and Kampel 2016: +2.5 points from eight CNNs). The merged model keeps the zoo's outer
shape (zoo.py), so evaluation, temperature scaling, export, int8 quantization and the explanations
treat it as one model:

- "cam_features" concatenates the members' last conv maps along channels. Members of different
  architectures may leave maps of different sizes (VGG16 at 96 px 6x6, MobileFaceNet 7x7): each map is
  first repeated cell by cell (nearest neighbour, a whole factor) up to the least common multiple of the
  sizes (42x42), which leaves every member's global average, so its logits, exactly as they were;
- "head_hidden" is block-diagonal: member i's hidden units see only member i's channels;
- "logits" stacks the members' output kernels each times its share (1 / their number unless shares are
  given), and takes the same weighted mean of their biases.

So logit_c(x) = sum_i share_i * logit_c^i(x) exactly (the mean, with equal shares), and Grad-CAM's
weights, taken on the concatenated map, are those of that mean.

Shares other than equal are for a new run joining a shipped ensemble's recovered members (recover.py) at the
share a blend chose on validation (experiments/emotion_blend_real_photos.py), without counting it twice.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from keras import layers

from fer_core.training.zoo import build_architecture

# Run summary records of the training data beyond fer4's images and labels (fer_core/training/train.py).
_TRAINING_DATA_RECORDS = ("ferplus", "ferplus_extra", "other_emotions")
# What members must share to be averaged: the same input and the same classes.
SHARED_SETTINGS = ("classes", "input_size")
# What each member keeps as its own in the merged run's config.json (`member_recipes`): how to build it
# (arch, upsample, face_size) and, for the model card, how it was trained.
MEMBER_RECIPE = ("arch", "weights", "upsample", "face_size", "fine_tune_from", "seed", "step2_epochs", "step2_lr",
                 "ferplus_weight", "other_emotions", "domain_augment")
BAD_SHARES = "shares must be one number above 0 for each of the {count} members, got {shares}"


def ensemble_name(architectures: Sequence[str]) -> str:
    """The merged model's name, which export writes as its "architecture": the members' architecture, or for
    members of several their names in order of first appearance joined by "-" ("vgg16-mobilefacenet"; Keras
    and TensorFlow take a model's name as a scope name, which cannot hold "+")."""
    return "-".join(dict.fromkeys(architectures))


def _aligned(maps: Sequence[keras.KerasTensor]) -> list[keras.KerasTensor]:
    """The members' last maps at one size, the least common multiple of theirs, each cell repeated (see the
    module docstring); maps of one size are left as they are."""
    sizes = {tuple(m.shape[1:3]) for m in maps}
    if len(sizes) == 1:
        return list(maps)
    height, width = math.lcm(*(h for h, _ in sizes)), math.lcm(*(w for _, w in sizes))
    return [m if tuple(m.shape[1:3]) == (height, width) else
            layers.UpSampling2D((height // m.shape[1], width // m.shape[2]), interpolation="nearest",
                                name=f"member{i}_to_{height}x{width}")(m)
            for i, m in enumerate(maps)]


def _assemble(members: Sequence[keras.Model]) -> keras.Model:
    """The merged graph around the members' backbones (their layers, so their weights), head untrained."""
    first = members[0]
    inputs = keras.Input(first.input.shape[1:], name="image")
    maps = [keras.Model(m.input, m.get_layer("cam_features").output, name=f"member{i}")(inputs)
            for i, m in enumerate(members)]
    x = layers.Concatenate(name="cam_features")(_aligned(maps))
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    hidden = sum(m.get_layer("head_hidden").units for m in members)
    x = layers.Dense(hidden, activation="relu", name="head_hidden")(x)
    x = layers.Dropout(first.get_layer("head_dropout").rate, name="head_dropout")(x)
    logits = layers.Dense(first.get_layer("logits").units, name="logits")(x)
    return keras.Model(inputs, logits, name=ensemble_name([m.name for m in members]))


def normalised_shares(shares: Sequence[float] | None, count: int) -> list[float]:
    """Each member's share of the merged logits, summing to 1: equal when `shares` is None, otherwise
    `shares` (relative weights, one per member, each above 0) divided by their sum."""
    if shares is None:
        return [1 / count] * count
    if len(shares) != count or any(not share > 0 for share in shares):
        raise ValueError(BAD_SHARES.format(count=count, shares=list(shares)))
    return [float(share) / float(sum(shares)) for share in shares]


def merge_members(members: Sequence[keras.Model], *, shares: Sequence[float] | None = None) -> keras.Model:
    """One model computing the members' logits' mean, weighted by `shares` (see normalised_shares and the
    module docstring). The members must have the zoo's head and equal input and output shapes; the model is
    named by ensemble_name, which is how exported metadata and the explanations name the architecture."""
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
    fractions = normalised_shares(shares, len(members))
    shapes = {(tuple(m.input.shape[1:]), tuple(m.output.shape[1:])) for m in members}
    if len(shapes) != 1:
        raise ValueError(f"members differ in input or output shape: {sorted(shapes)}")
    merged = _assemble(members)
    kernels = [m.get_layer("head_hidden").get_weights() for m in members]
    channels = [k.shape[0] for k, _ in kernels]
    units = [k.shape[1] for k, _ in kernels]
    hidden_kernel = np.zeros((sum(channels), sum(units)), np.float32)
    row = col = 0
    for (kernel, _), c, u in zip(kernels, channels, units):
        hidden_kernel[row:row + c, col:col + u] = kernel
        row, col = row + c, col + u
    merged.get_layer("head_hidden").set_weights([hidden_kernel, np.concatenate([b for _, b in kernels])])
    outputs = [m.get_layer("logits").get_weights() for m in members]
    merged.get_layer("logits").set_weights([
        np.concatenate([k * f for (k, _), f in zip(outputs, fractions)]).astype(np.float32),
        np.sum([b * f for (_, b), f in zip(outputs, fractions)], axis=0).astype(np.float32),
    ])
    return merged


def member_configs(config: dict) -> list[dict]:
    """Each member's own config from a run's config.json: its recipe (`member_recipes`) over what the members
    share, without the merged run's own records. Ensembles merged before recipes were recorded had members of one
    architecture, the config's own; a single run is its own one member."""
    shared = {k: v for k, v in config.items()
              if k not in ("members", "seeds", "member_shares", "member_recipes", "run_dir")}
    recipes = config.get("member_recipes") or [{}] * len(config.get("members") or [None])
    return [{**shared, **recipe} for recipe in recipes]


def build_ensemble(config: dict) -> keras.Model:
    """The structure an ensemble run's config.json describes, for loading its merged weights, each member built
    from its own config (member_configs)."""
    return _assemble([build_architecture(member) for member in member_configs(config)])


def ensemble_runs(member_dirs: Sequence[str | Path], run_dir: str | Path, *, data_root: str | Path | None = None,
                  shares: Sequence[float] | None = None) -> dict:
    """Merge finished training runs into a new run folder that `evaluate`, `export` and the model card
    read like any other: config.json (the first member's, its `arch` the merged model's name, plus `members`,
    their `seeds` and `member_recipes`),
    summary.json (shared facts, such as the FER+ labels when every member used the same, and each
    member's training record), dedup.json, history.csv (the
    members' epochs) and best.weights.h5.

    `data_root` replaces the members' data set for scoring, when they trained on a copy of it on another
    machine; the deduplication report is then that data set's own. `shares` weights the members (see
    merge_members); config.json records them as `member_shares`, summing to 1."""
    from fer_core.training.data import load_splits

    member_dirs = [Path(d) for d in member_dirs]
    fractions = normalised_shares(shares, len(member_dirs))  # refused before any member is loaded
    for directory in member_dirs:
        for name in ("config.json", "summary.json", "best.weights.h5"):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{directory}: no {name}; a member must be a finished training run")
    configs = [json.loads((d / "config.json").read_text()) for d in member_dirs]
    for key in SHARED_SETTINGS:
        values = [c.get(key) for c in configs]
        if any(v != values[0] for v in values):
            raise ValueError(f"members differ in {key}: {values}")
    members = []
    for directory, config in zip(member_dirs, configs):
        model = build_architecture(config)
        model.load_weights(directory / "best.weights.h5")
        members.append(model)
    merged = merge_members(members, shares=shares)

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    summaries = [json.loads((d / "summary.json").read_text()) for d in member_dirs]
    config = {**configs[0], "arch": merged.name, "run_dir": str(run_dir),
              "members": [str(d.resolve()) for d in member_dirs], "seeds": [c["seed"] for c in configs],
              "member_shares": fractions,
              "member_recipes": [{k: c[k] for k in MEMBER_RECIPE if k in c} for c in configs]}
    dedup = summaries[0]["dedup"]
    if data_root is not None:
        config["data_root"] = str(data_root)
        dedup = load_splits(data_root, size=config.get("input_size") or 48,
                            classes=tuple(config["classes"]))[1].as_dict()
    summary = {
        "initial_weights": _initial_weights([s["initial_weights"] for s in summaries]),
        "dedup": dedup,
        "hardware": summaries[0].get("hardware"),
        "trainable_params": sum(s.get("trainable_params") or 0 for s in summaries),
        "members": [{"run": _member_name(d, s), "seed": c["seed"], "step1": s.get("step1"), "step2": s.get("step2"),
                     **{key: s.get(key) for key in _TRAINING_DATA_RECORDS},
                     **({"recovered_from": s["recovered_from"]} if "recovered_from" in s else {})}
                    for d, c, s in zip(member_dirs, configs, summaries)],
    }
    # What the members learnt from (FER+ votes and their share, extra FER+ faces), for the model card's
    # provenance: shared when every member used the same, otherwise only in each member's record above.
    for key in _TRAINING_DATA_RECORDS:
        records = [member[key] for member in summary["members"]]
        if records[0] is not None and all(record == records[0] for record in records):
            summary[key] = records[0]
    (run_dir / "config.json").write_text(json.dumps(config, indent=2))
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (run_dir / "dedup.json").write_text(json.dumps(summary["dedup"], indent=2))
    _join_histories(member_dirs, run_dir / "history.csv")
    merged.save_weights(run_dir / "best.weights.h5")
    return summary


def _initial_weights(starts: Sequence[dict]) -> dict:
    """The merged run's start, for export's metadata and the model card: the members' when they share one
    source, otherwise each source's record (the first member's of it) under `starts`, so that every start's
    provenance and licence reach the card."""
    by_source = {}
    for start in starts:
        by_source.setdefault(start["source"], start)
    if len(by_source) == 1:
        return starts[0]
    return {"source": "+".join(by_source), "description": "each member's own start, by source",
            "starts": list(by_source.values())}


def _member_name(directory: Path, summary: dict) -> str:
    """A member's name in the merged run's records: its run folder's, or for a member read back from a shipped
    file (recover.py) the name of the run it was trained as."""
    return (summary.get("recovered_from") or {}).get("run") or directory.name


def _join_histories(member_dirs: Sequence[Path], out: Path) -> None:
    """The members' step-2 histories in one CSV with a leading `member` column (the model card's time per
    epoch is then the mean over every member's epochs)."""
    import csv

    rows, fields = [], ["member"]
    for index, directory in enumerate(member_dirs):
        path = directory / "history.csv"
        if not path.is_file():
            continue
        with path.open(newline="") as stream:
            for row in csv.DictReader(stream):
                fields += [k for k in row if k not in fields]
                rows.append({"member": index, **row})
    with out.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
