"""MobileFaceNet's body rebuilt in Keras from the shipped identity file reads faces as ONNX Runtime does."""
import numpy as np
import pytest

from fer_core.model_files import models_dir
from fer_core.training.mobilefacenet_body import NO_TAP, UNSUPPORTED, build_mobilefacenet_body

MOBILEFACENET = models_dir() / "face_recognition_mobilefacenet.onnx"


def _onnx_tap(path, tap, faces):
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    model.graph.output.extend([onnx.helper.make_tensor_value_info(tap, onnx.TensorProto.FLOAT, None)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([tap], {session.get_inputs()[0].name: faces})[0].transpose(0, 2, 3, 1)


@pytest.mark.parametrize(("tap", "shape"), [("t296", (14, 14, 512)), ("t361", (7, 7, 512))])
def test_the_rebuilt_body_reads_faces_as_the_onnx_file_does(fer4_test_faces, tap, shape):
    import cv2

    faces = np.stack([cv2.resize(face, (112, 112), interpolation=cv2.INTER_CUBIC) for face in fer4_test_faces])
    body = build_mobilefacenet_body(MOBILEFACENET, tap=tap)
    expected = _onnx_tap(MOBILEFACENET, tap, faces)
    assert body.output.shape[1:] == shape
    np.testing.assert_allclose(np.asarray(body.predict(faces, verbose=0)), expected, rtol=1e-4, atol=1e-3)


def test_a_tap_the_graph_lacks_is_refused():
    with pytest.raises(ValueError) as refused:
        build_mobilefacenet_body(MOBILEFACENET, tap="no_such_tensor")
    assert str(refused.value) == NO_TAP.format(tap="no_such_tensor")


def test_a_node_outside_the_known_patterns_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Sigmoid", ["input"], ["out"], name="odd")], "odd",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 8, 8, 3])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 8, 8, 3])])
    onnx.save(helper.make_model(graph), tmp_path / "odd.onnx")
    with pytest.raises(ValueError) as refused:
        build_mobilefacenet_body(tmp_path / "odd.onnx", tap="out")
    assert str(refused.value) == UNSUPPORTED.format(node="odd", op="Sigmoid")
