"""Privacy by construction: loading the models and analysing photos opens no network socket."""
from __future__ import annotations

import socket

import pytest

from fer_core.analyzer import FaceAnalyzer


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to create a socket, resolve a name or connect fails the test."""

    def refuse(*args, **kwargs):
        raise NetworkUsed(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "socketpair", refuse)


def test_the_guard_catches_a_connection(no_network):
    with pytest.raises(NetworkUsed):
        socket.create_connection(("example.org", 80))
    with pytest.raises(NetworkUsed):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_loading_and_analysing_opens_no_socket(no_network, tiny_emotion_onnx, faces_dir):
    analyzer = FaceAnalyzer(emotion_model=tiny_emotion_onnx)  # identity model too, when shipped
    photos = [faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", faces_dir / "_unknown" / "Ben_Stein_0001.jpg"]
    for photo in photos:
        faces = analyzer.analyze(photo)
        assert len(faces) >= 1 and faces[0].emotion
        analyzer.analyze(photo.read_bytes())
