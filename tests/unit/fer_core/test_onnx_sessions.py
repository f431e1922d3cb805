"""Every onnxruntime session the app makes runs without the CPU memory arena (fer_core._onnx)."""
from __future__ import annotations

from pathlib import Path

from fer_core.analyzer import FaceAnalyzer
from fer_core.model_files import load_session, models_dir, session_from_bytes


def test_the_analyzers_sessions_run_without_the_memory_arena():
    # The arena kept what R-Net and O-Net grew for each photo's batch: 757 MiB peak against 557 MiB on
    # a 12 MP photo analysed again and again (benchmarks/bench_photo_memory.py --repeat).
    analyzer = FaceAnalyzer()
    detector = analyzer.detector
    sessions = {
        "pnet": detector._pnet, "rnet": detector._rnet, "onet": detector._onet,
        "emotion": analyzer.emotion_model.session,
    }
    if analyzer.identity_model is not None:
        sessions["identity"] = analyzer.identity_model._session
    for name, session in sessions.items():
        options = session.get_session_options()
        assert options.enable_cpu_mem_arena is False, name
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0", name
    assert "identity" in sessions  # the shipped identity model is loaded by default


def test_a_session_from_bytes_runs_without_the_memory_arena_too():
    model = Path(models_dir(), "mtcnn_pnet.onnx").read_bytes()
    session = session_from_bytes(model, name="mtcnn_pnet.onnx")
    assert session.get_session_options().enable_cpu_mem_arena is False
    session = load_session(Path(models_dir(), "mtcnn_rnet.onnx"), threads=1)
    assert session.get_session_options().enable_cpu_mem_arena is False
