"""What `unveil watch` and `unveil serve` report for a member's photo framed on the wall, without and with --ignore.

    PYTHONPATH=. .venv/bin/python benchmarks/watch_picture_on_the_wall.py

A 640x480, 8 s, 15 frames/s video of a room (tests.support.watch_video): Colin Powell's LFW photo
(../shared/data/faces) in a wooden frame at the top left all along, Serena Williams' photo walking on the right. A
family store in a temporary folder has Colin Powell enrolled from four other photos of his. The real command runs
on it twice, `--jsonl` and `--mqtt` to a real broker (amqtt) with a subscriber on `unveil/#`: without a mask, then
with `--ignore 0,0,0.33,0.42` (the picture's part). Printed: the events, the member and unknown sensors' states as
the broker got them, and the frames with a face named. Then `/v1/analyze` of the video's first frame, which has no
mask. Nothing is written outside the temporary folder.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.app import FAMILY_PASSPHRASE, MEMBER, STRANGER, make_family_store, photo_path  # noqa: E402
from tests.support.mqtt_broker import MqttBroker  # noqa: E402
from tests.support.watch_video import Picture, Walker, room_video  # noqa: E402

FACES = REPO.parent / "shared" / "data" / "faces"
MASK = "0,0,0.33,0.42"


def watch(video: Path, data_dir: Path, jsonl: Path, *options: str) -> None:
    import paho.mqtt.client as mqtt

    broker = MqttBroker()
    broker.start()
    received: list[tuple[str, str]] = []
    subscribed = threading.Event()
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    listener.on_message = lambda client, userdata, message: received.append((message.topic, message.payload.decode()))
    listener.on_subscribe = lambda *args: subscribed.set()
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe("unveil/#", qos=1)
    listener.loop_start()
    try:
        assert subscribed.wait(10)
        env = dict(os.environ, PYTHONPATH=str(REPO), UNVEIL_DATA_DIR=str(data_dir), UNVEIL_PASSPHRASE=FAMILY_PASSPHRASE)
        command = ["watch", "--source", str(video), "--jsonl", str(jsonl), "--mqtt", f"127.0.0.1:{broker.port}",
                   "--mqtt-node", "hall", *options]
        result = subprocess.run([sys.executable, "-m", "unveil.cli", *command], env=env, capture_output=True,
                                text=True, check=False)
        time.sleep(1)  # the last retained states reach the listener
    finally:
        listener.loop_stop()
        listener.disconnect()
        broker.close()
    print(f"\n$ unveil {' '.join(command[:2])} hall.mp4 --jsonl faces.jsonl --mqtt 127.0.0.1:PORT --mqtt-node hall "
          f"{' '.join(options)}".rstrip() + f"   (exit {result.returncode})")
    for topic, payload in received:
        if topic.endswith("/events"):
            event = json.loads(payload)
            print(f"  {topic}: {event['event']} at {event['time_s']} s, track {event['track']}, "
                  f"identity {event['identity']}")
        elif "/person/" in topic or "/unknown/" in topic:
            print(f"  {topic}: {payload}")
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    frames = [line for line in lines if "faces" in line]
    named = sum(any(face["identity"] for face in line["faces"]) for line in frames)
    print(f"  --jsonl: {len(frames)} frame lines, {named} with a face named")


def analyze_first_frame(video: Path, data_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from fer_core.analyzer import FaceAnalyzer
    from fer_core.store import FamilyStore
    from unveil.api import ApiSettings, create_app

    capture = cv2.VideoCapture(str(video))
    ok, bgr = capture.read()
    capture.release()
    assert ok
    token = "picture-on-the-wall-token"
    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        app = create_app(settings=ApiSettings(token=token, count_period_s=0), analyzer=FaceAnalyzer(), store=store)
        answer = TestClient(app, base_url="http://127.0.0.1").post(
            "/v1/analyze", headers={"Authorization": f"Bearer {token}"},
            files={"image": ("frame.png", cv2.imencode(".png", bgr)[1].tobytes(), "image/png")}).json()
    print(f"\nPOST /v1/analyze, the video's first frame ({answer['width']}x{answer['height']}):")
    for face in answer["faces"]:
        print(f"  face {face['face']}: x {face['x']:.0f}, y {face['y']:.0f}, w {face['w']:.0f}, h {face['h']:.0f}, "
              f"identity {face['identity']}")


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        video = folder / "hall.mp4"
        room_video([Walker(photo_path(FACES, STRANGER, 1), (430, 260))], video, seconds=8.0, fps=15,
                   pictures=(Picture(photo_path(FACES, MEMBER, 1), corner=(20, 20)),))
        make_family_store(folder / "data", FACES)
        watch(video, folder / "data", folder / "before.jsonl")
        watch(video, folder / "data", folder / "after.jsonl", "--ignore", MASK)
        analyze_first_frame(video, folder / "data")


if __name__ == "__main__":
    main()
