"""One call per audit for the app and the CLI: run it on the shipped model (or a given one) and write the report."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from fer_core.emotion import EmotionModel
from fer_core.model_files import sha256_file
from governance.bias_audit._audit_set import load_audit_set
from governance.bias_audit._disaggregate import DEFAULT_SETTINGS, AuditSettings
from governance.bias_audit._emotion_audit import Predictor, run_emotion_audit
from governance.bias_audit._identity_audit import run_identity_audit
from governance.bias_audit._report import ReportPaths, write_report
from governance.bias_audit._result import BiasAudit


def audit_emotion_model(
    *,
    data: str | Path,
    out_dir: str | Path,
    model: str | Path | None = None,
    groups: Sequence[str] | None = None,
    proxy: bool = True,
    settings: AuditSettings = DEFAULT_SETTINGS,
    threads: int | None = None,
    progress: bool = False,
    shown_as: tuple[str | Path, str] | None = None,
) -> tuple[BiasAudit, ReportPaths]:
    """Audit an emotion model on a set of face crops and write its HTML, JSON and rows.

    `data` is a class-folder layout or a CSV manifest (see load_audit_set) of face crops, such as
    fer4's 48x48 faces: each crop goes straight to the model, resized to its input size, with no
    detection. `model` defaults to the shipped emotion model (EmotionModel finds it). `groups`,
    `proxy` and `settings` as in run_emotion_audit. `shown_as` (folder, name): the audit and its report give
    the paths under `folder` as under `name` (an upload unpacked into a temporary folder: named by the upload).
    """
    emotion = EmotionModel(model, threads=threads)
    audit = run_emotion_audit(
        samples=load_audit_set(data),
        predict=crop_predictor(emotion),
        classes=emotion.classes,
        groups=groups,
        proxy=proxy,
        settings=settings,
        model=_describe(emotion.path, {"version": emotion.version, "initial_weights": emotion.initial_weights,
                                       "temperature": emotion.temperature}),
        progress=progress,
    )
    if shown_as is not None:
        audit = _shown_under(audit, *shown_as)
    return audit, write_report(audit, out_dir)


def _shown_under(audit: BiasAudit, folder: str | Path, name: str) -> BiasAudit:
    """`audit` with its audit set's path and its rows' paths under `folder` given under `name` instead (with "/").
    An uploaded zip's report named the temporary folder it was unpacked into, deleted by the time the report
    was read, and under the account's own folder where temporary folders are kept there (Windows)."""

    def shown(path: str) -> str:
        try:
            inside = Path(path).relative_to(folder)
        except ValueError:
            return path
        return str(PurePosixPath(name, inside.as_posix()))

    context = {**audit.context, "audit_set": shown(audit.context["audit_set"])} if audit.context.get("audit_set") \
        else audit.context
    return replace(audit, context=context, rows=audit.rows.assign(path=audit.rows["path"].map(shown)))


def audit_identity_trials(
    *,
    trials: str | Path | pd.DataFrame,
    threshold: float,
    score_kind: Literal["distance", "similarity"],
    out_dir: str | Path,
    groups: Sequence[str] | None = None,
    model: str | Path | None = None,
    settings: AuditSettings = DEFAULT_SETTINGS,
    clusters: Sequence[str] = (),
) -> tuple[BiasAudit, ReportPaths]:
    """Audit identity trial results (see run_identity_audit) and write the report.

    `model`, if given, is the identity model file the trials came from: its name and SHA-256 go into
    the report so the numbers stay tied to the model that produced them.
    """
    audit = run_identity_audit(
        trials=trials,
        threshold=threshold,
        score_kind=score_kind,
        groups=groups,
        settings=settings,
        model=_describe(Path(model), {}) if model is not None else None,
        clusters=clusters,
    )
    return audit, write_report(audit, out_dir)


def crop_predictor(model: EmotionModel) -> Predictor:
    """A predictor feeding face crops straight to `model`, resized to its input size if needed."""
    height, width = model.input_size

    def predict(images: list[np.ndarray]) -> np.ndarray:
        batch = np.stack([_resized(image, width, height) for image in images])
        return model.predict(batch)

    return predict


def _resized(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    # INTER_AREA averages when shrinking (no aliasing); bilinear when enlarging.
    shrinking = image.shape[0] > height or image.shape[1] > width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _describe(path: Path, extra: dict) -> dict:
    digest = sha256_file(path) if path.is_file() else None
    return {"file": path.name, "sha256": digest, **{k: v for k, v in extra.items() if v not in ("", None)}}
