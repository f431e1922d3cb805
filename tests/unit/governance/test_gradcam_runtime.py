"""Explaining a face at run time needs onnxruntime, numpy, OpenCV and matplotlib: never TensorFlow."""
import subprocess
import sys

SCRIPT = """
import sys
import numpy as np
from governance.explain import explain_on_photo, load_cam_model
model = load_cam_model(sys.argv[1])
photo = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
matrix = np.array([[0.5, 0.0, -20.0], [0.0, 0.5, -10.0]])
for method in ("gradcam", "gradcam++", "hirescam", "layercam"):
    explain_on_photo(model, photo, matrix, method=method)
heavy = sorted(m for m in ("tensorflow", "keras", "tf2onnx", "fer_core.training") if m in sys.modules)
print("heavy:", heavy)
"""


def test_explaining_a_face_imports_no_tensorflow(tiny_emotion_onnx):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_emotion_onnx)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "heavy: []"
