"""Loading ONNX models on CPU and reading the metadata that describes them.

Every shipped model carries its own contract in ONNX `metadata_props` (classes, input size, template,
threshold, ...), so one model can be swapped for another without code changes.

It switches onnxruntime's telemetry off before the library is first loaded, so code outside fer_core
takes onnxruntime from fer_core.model_files (`from fer_core.model_files import ort`); inside fer_core the package's
__init__ has already loaded this module.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fer_core._errors import ModelError

# The environment variable that stops onnxruntime's telemetry on Linux and macOS.
TELEMETRY_OPT_OUT = "ORT_DISABLE_TELEMETRY"

# onnxruntime's non-Windows builds start a telemetry client as soon as the library loads: it writes a
# persistent device id and an event queue (SQLite) under $XDG_CACHE_HOME or ~/.cache, in
# Microsoft/DeveloperTools/.onnxruntime, for upload to Microsoft. disable_telemetry_events() only mutes
# later events; the client, its device id and the queue are already there. The variable is read once,
# when the library loads, so it is set before the import; a value of 0 from the environment is
# overridden because nothing about this app's use may be recorded or sent.
os.environ[TELEMETRY_OPT_OUT] = "1"
import onnxruntime as ort  # noqa: E402 (after the opt-out, on purpose)


def _options(threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's warnings are not for end users
    if threads is not None:
        options.intra_op_num_threads = threads
    # Spinning worker threads burn a core while waiting; on a small shared machine that made
    # detection 2x slower, not faster (benchmarks/bench_analysis.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # No CPU memory arena: every session's tensors go back to the system after each run. The arena keeps
    # the most a session ever needed, and the detector's R-Net and O-Net get a new batch size with every
    # photo (their candidate count), so on big photos it held hundreds of MiB for good. A 12 MP photo
    # (tests/fixtures/public_domain/grace_hopper.jpg enlarged) analysed 6 times by one `unveil analyze`:
    # peak RSS 757 -> 557-562 MiB (2-core AMD EPYC; docs/reports/photo_memory.md, `python
    # benchmarks/bench_photo_memory.py --photo tests/fixtures/public_domain/grace_hopper.jpg --sizes 12
    # --repeat 6`); in one process calling FaceAnalyzer.analyze: 779-786 -> 450-451 MiB peak, 598-605 ->
    # 270-272 MiB resident afterwards. Off for the detector only: 555 MiB peak but 60-70 MiB more resident
    # (the emotion model's arena keeps its activations); enable_mem_pattern off (642 MiB) and
    # kSameAsRequested growth (714 MiB) saved less. The cost is time on big photos only: four 12 MP shapes in
    # turn, 979-984 -> 1,214-1,275 ms (+25%) for 1,482-1,484 -> 741-763 MiB peak, 640x480 unchanged (55-59 ms
    # either way; `python benchmarks/bench_onnx_arena.py`, the same machine, quiet).
    options.enable_cpu_mem_arena = False
    return options


def load_session(path: str | os.PathLike[str], *, threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime CPU session for `path`; ModelError if the file is missing or not a valid model."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    # onnxruntime reads the file itself: no copy of it in Python memory while the session is built
    return _session(str(path), name=path.name, threads=threads)


def session_from_bytes(model: bytes, *, name: str, threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime CPU session for a serialised model (e.g. one rewritten in memory)."""
    return _session(model, name=name, threads=threads)


def _session(source: str | bytes, *, name: str, threads: int | None) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(source, sess_options=_options(threads), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for corrupt files
        raise ModelError(f"cannot load model {name}: {exc}") from exc


def metadata(session: ort.InferenceSession) -> dict[str, str]:
    """The model's metadata_props as a plain dict."""
    return dict(session.get_modelmeta().custom_metadata_map)


def metadata_json(meta: dict[str, str], key: str, *, model: str) -> Any:
    """A JSON-valued metadata entry; ModelError naming the model if it is missing or not JSON."""
    if key not in meta:
        raise ModelError(f"model {model} has no '{key}' in its metadata")
    try:
        return json.loads(meta[key])
    except json.JSONDecodeError as exc:
        raise ModelError(f"model {model}: metadata '{key}' is not valid JSON: {meta[key]!r}") from exc
