"""The emotion audit: predict every face of a labelled set, then compare groups with MetricFrame."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fer_core import ImageError, load_image
from fer_core.calibration import calibration_report
from governance.bias_audit._audit_set import NOT_MEASURED, AuditSample, AuditSet
from governance.bias_audit._disaggregate import DEFAULT_SETTINGS, AuditSettings, analyse_column
from governance.bias_audit._emotion_metrics import emotion_metrics
from governance.bias_audit._errors import AuditError
from governance.bias_audit._proxy_groups import PROXY_BANDS, PROXY_COLUMNS, FaceGeometry, proxy_groups
from governance.bias_audit._result import BiasAudit

# Maps a batch of HxWx3 uint8 RGB images (or face crops) to an (n, classes) array of probabilities.
Predictor = Callable[[list[np.ndarray]], np.ndarray]
# Finds the face an emotion is read from in a photo, for its proxy groups; None if there is none.
Locator = Callable[[np.ndarray], FaceGeometry | None]

# A predictor's rows must sum to 1 within this: probabilities, not logits or scores.
PROBABILITY_TOLERANCE = 1e-3
# The per-face rows' own columns. A group column of one of these names would overwrite it in the rows (a
# manifest column "predicted" replaced the model's predictions in the rows CSV), so it is refused.
ROW_COLUMNS = ("path", "label", "predicted", "confidence")
GROUP_COLUMN_IS_A_ROW_COLUMN = ("group column '{column}' has the name of a column of the per-face rows "
                                "({row_columns}); rename it")


def run_emotion_audit(
    *,
    samples: AuditSet | Sequence[AuditSample],
    predict: Predictor,
    classes: Sequence[str],
    groups: Sequence[str] | None = None,
    proxy: bool = True,
    locate: Locator | None = None,
    settings: AuditSettings = DEFAULT_SETTINGS,
    batch_size: int = 64,
    model: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> BiasAudit:
    """Audit an emotion classifier on a labelled set, overall and per group.

    `predict` gets batches of at most `batch_size` images, HxWx3 uint8 RGB as read from disk, and
    returns probabilities in the order of `classes`. Without `locate`, each image is the face itself
    (a crop such as fer4's 48x48 faces, fed straight to the model); with it, proxy groups are measured
    on the face it returns. `groups` names the columns to compare (the set's own columns and, when
    `proxy`, PROXY_COLUMNS); None compares all of them. `settings` says how groups are compared and
    when one is flagged (AuditSettings: group size, gap threshold, bootstrap).
    """
    if batch_size < 1:
        raise AuditError(f"batch_size must be at least 1, got {batch_size}")
    audit_set = samples if isinstance(samples, AuditSet) else None
    samples = tuple(samples.samples if audit_set else samples)
    if not samples:
        raise AuditError("the audit set is empty")
    classes = tuple(classes)
    class_codes = {name: code for code, name in enumerate(classes)}
    for sample in samples:
        if sample.label not in class_codes:
            raise AuditError(
                f"audit set label '{sample.label}' is not one of the model's classes: {', '.join(classes)}"
            )
    user_columns = _user_columns(samples)
    available = user_columns + (PROXY_COLUMNS if proxy else ())
    columns = tuple(groups) if groups is not None else available
    for column in columns:
        if column not in available:
            raise AuditError(f"no group column '{column}' (available: {', '.join(available) or 'none'})")

    started, cpu_started = time.perf_counter(), time.process_time()
    probabilities, proxies = _predict_all(samples, predict, len(classes), proxy, locate, batch_size, progress)
    predicted_at, cpu_predicted_at = time.perf_counter(), time.process_time()

    y_true = np.array([class_codes[s.label] for s in samples], dtype=np.int64)
    y_pred = probabilities.argmax(axis=1)
    group_values = {c: np.array([_group_value(s.groups.get(c)) for s in samples], dtype=object) for c in user_columns}
    group_values.update({c: np.array([p[c] for p in proxies], dtype=object) for c in (PROXY_COLUMNS if proxy else ())})
    specs = emotion_metrics(classes)
    table_shape = (len(classes), len(classes))
    overall = analyse_column(
        column="all", origin="all", y_true=y_true, y_pred=y_pred, groups=np.full(len(samples), "all", dtype=object),
        table_shape=table_shape, metrics=specs, settings=settings,
    )
    results = tuple(
        analyse_column(
            column=column,
            origin="user" if column in user_columns else "proxy",
            y_true=y_true,
            y_pred=y_pred,
            groups=group_values[column],
            table_shape=table_shape,
            metrics=specs,
            settings=settings,
            group_order=PROXY_BANDS.get(column, ()) if column not in user_columns else (),
        )
        for column in columns
    )
    rows = pd.DataFrame(
        {
            "path": [str(s.path) for s in samples],
            "label": [s.label for s in samples],
            "predicted": [classes[i] for i in y_pred],
            "confidence": probabilities.max(axis=1),
            **{c: group_values[c] for c in group_values},
        }
    )
    context = {
        "classes": list(classes),
        "audit_set": audit_set.source if audit_set else None,
        "model": dict(model or {}),
        "proxy_columns": list(PROXY_COLUMNS if proxy else ()),
    }
    return BiasAudit(
        kind="emotion",
        size=len(samples),
        settings=settings,
        overall=overall,
        columns=results,
        context=context,
        rows=rows,
        calibration=calibration_report(probabilities, y_true),
        timings={
            "predict_s": predicted_at - started,
            "analyse_s": time.perf_counter() - predicted_at,
            "predict_cpu_s": cpu_predicted_at - cpu_started,
            "analyse_cpu_s": time.process_time() - cpu_predicted_at,
        },
    )


def _user_columns(samples: Sequence[AuditSample]) -> tuple[str, ...]:
    columns: dict[str, None] = {}
    for sample in samples:
        columns.update(dict.fromkeys(sample.groups))
    clash = [c for c in columns if c in PROXY_COLUMNS]
    if clash:
        raise AuditError(f"group column '{clash[0]}' has the name of an automatic proxy group; rename it")
    taken = [c for c in columns if c in ROW_COLUMNS]
    if taken:
        raise AuditError(GROUP_COLUMN_IS_A_ROW_COLUMN.format(column=taken[0], row_columns=", ".join(ROW_COLUMNS)))
    return tuple(columns)


def _group_value(value: object) -> str:
    """A group value of a sample as a manifest gives it: text, NOT_MEASURED when blank, None or NaN. Samples
    built in code (from a DataFrame, say) may hold NaN or numbers, which sorting the group names cannot mix."""
    if isinstance(value, str):
        return value.strip() or NOT_MEASURED
    if value is None or pd.isna(value):
        return NOT_MEASURED
    return str(value)


def _predict_all(
    samples: Sequence[AuditSample],
    predict: Predictor,
    n_classes: int,
    proxy: bool,
    locate: Locator | None,
    batch_size: int,
    progress: bool,
) -> tuple[np.ndarray, list[dict[str, str]]]:
    probabilities, proxies = [], []
    with tqdm(total=len(samples), desc="audit", unit="face", disable=not progress) as bar:
        for start in range(0, len(samples), batch_size):
            images = [_read(s.path) for s in samples[start : start + batch_size]]
            if proxy:
                proxies.extend(_proxies(image, locate) for image in images)
            probabilities.append(_checked(predict(images), len(images), n_classes))
            bar.update(len(images))
    return np.concatenate(probabilities), proxies


def _read(path: Path) -> np.ndarray:
    """An audit image as the app reads a photo (fer_core.load_image: upright, RGB, within the pixel
    budget); its ImageError names the whole path, since a set holds many files of the same name."""
    try:
        return load_image(path)
    except ImageError as exc:
        raise ImageError(exc.reason, source=str(path)) from None


def _proxies(image: np.ndarray, locate: Locator | None) -> dict[str, str]:
    if locate is None:
        return proxy_groups(image)
    face = locate(image)
    if face is not None:
        return proxy_groups(image, face)
    # No face found: nothing about a face can be measured, only what the photo itself is.
    return {**dict.fromkeys(PROXY_COLUMNS, NOT_MEASURED), "source": proxy_groups(image)["source"]}


def _checked(output: Any, n_images: int, n_classes: int) -> np.ndarray:
    """The predictor's output as float64, or AuditError if it is not one probability row per image."""
    result = np.asarray(output, dtype=np.float64)
    if result.shape != (n_images, n_classes):
        raise AuditError(
            f"predict returned shape {result.shape} for {n_images} images and {n_classes} classes; "
            f"expected ({n_images}, {n_classes})"
        )
    sums = result.sum(axis=1)
    if not np.isfinite(result).all() or (result < 0).any() or (np.abs(sums - 1.0) > PROBABILITY_TOLERANCE).any():
        worst = float(sums[np.argmax(np.abs(sums - 1.0))]) if np.isfinite(sums).all() else float("nan")
        raise AuditError(
            f"predict must return probabilities (non-negative rows summing to 1); got a row summing to {worst:.4g}"
        )
    return result
