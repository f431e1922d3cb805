"""The one bar for ONNX layer gradients against TensorFlow's GradientTape (test_gradcam_layers, and the
ensemble's per-member walk in test_training_ensemble)."""
from __future__ import annotations

import numpy as np


def assert_layer_gradients_match(ours: np.ndarray, reference: np.ndarray) -> None:
    """Equal but where float rounding decides a branch: a pre-activation within rounding error of 0 (or
    two near-equal maxima of a pool window) can fall one way in TensorFlow and the other in ONNX Runtime,
    and the gradient below that cell then differs locally. So: every (face, class) map correlates at
    r >= 0.999 and 99% of all values agree to 1e-5 of the largest; a wrong op would break both everywhere.
    One such flip in block 3 changes a 3x3 patch of all 128 channels at block2_pool, 0.13% of the values
    compared there; of four fresh tiny models, one had 99.48% agreeing (about four flips), every map still
    r >= 0.99985. Both arrays: (faces, classes, h, w, channels)."""
    assert ours.shape == reference.shape
    assert (np.abs(ours - reference) <= 1e-5 * np.abs(reference).max()).mean() >= 0.99
    maps = reference.shape[0] * reference.shape[1]
    for mine, theirs in zip(ours.reshape(maps, -1), reference.reshape(maps, -1)):
        assert np.corrcoef(mine, theirs)[0, 1] >= 0.999
