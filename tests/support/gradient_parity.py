"""The one bar for ONNX layer gradients against TensorFlow's GradientTape (test_gradcam_layers, and the
ensemble's per-member walk in test_training_ensemble).

Two runtimes agree to rounding only where they take the same branches. A ReLU whose pre-activation lies
within rounding of 0, or a max-pool window whose two largest inputs differ by rounding, can go one way in
TensorFlow and the other in ONNX Runtime; the gradient in that branch's backward footprint then differs
by a whole gradient value. How many such cells a freshly trained model has depends on its weights and on
the CPU's kernels, so counting disagreements passes on one machine and fails on the next. Here the cells
whose gradient depends on a near branch are found from TensorFlow's forward activations and left out;
every other cell must agree to float32 rounding, and a floor on the share compared keeps the mask from
hiding a wrong backward op (test_gradcam_layers breaks two ops on purpose and sees this bar fail).
"""
from __future__ import annotations

import numpy as np

# A branch point is near when within this fraction of its layer's largest |value| (per face). The two
# runtimes' activations differ by at most 2.4e-6 of that on fresh tiny models (cnn3_rgb, 12 fer4 faces,
# 2 seeds, block2_relu1 to block3_relu2), so a branch further away than 1e-5 falls the same way in both.
NEAR_BRANCH = 1e-5
# Gradients away from near branches are the same sums in another order: they differed by at most 2.6e-6
# of their map's largest |value| on 4 fresh tiny models.
TOLERANCE = 1e-5
# Share of cells that must be compared. The 4 fresh models kept 60-100% at NEAR_BRANCH; a wrong backward
# op changes most cells, so a quarter still catches it.
MIN_COMPARED = 0.25


def decided_cells(model, faces: np.ndarray, layer: str) -> np.ndarray:
    """(N, h, w, 1) bool: the cells of `layer` (a Keras layer name) whose gradient w.r.t. every logit
    depends on no near branch. For the zoo's plain CNNs: a chain of Conv2D, BatchNormalization, ReLU,
    MaxPooling2D and Dropout layers up to a GlobalAveragePooling2D and Dense head. Walking down from the
    head, a near branch marks its backward footprint: a k x k convolution widens it by k // 2 each way, a
    pool window passes it to all its inputs, and a near branch in the head marks the whole face."""
    import keras

    start = [lay.name for lay in model.layers].index(layer)
    chain = model.layers[start:]
    inputs = dict(zip((lay.name for lay in chain),
                      (np.asarray(x) for x in keras.Model(model.input, [lay.input for lay in chain])(faces))))
    whole_face = np.zeros(len(faces), bool)
    near = None  # (N, h, w) at the current layer's output; the walk starts at the global pool
    for below, lay in reversed(list(zip(chain, chain[1:]))):
        x = inputs[lay.name]
        if isinstance(lay, keras.layers.Dense):
            if _is_relu(lay):
                whole_face |= _near_zero(x @ np.asarray(lay.kernel) + np.asarray(lay.bias)).any(axis=1)
        elif isinstance(lay, keras.layers.GlobalAveragePooling2D):
            near = np.zeros(x.shape[:3], bool)
        elif isinstance(lay, keras.layers.Activation) and _is_relu(lay):
            near = near | _near_zero(x).any(axis=3)
        elif isinstance(lay, keras.layers.Conv2D) and not _is_relu(lay):
            near = _conv_footprint(near, lay)
        elif isinstance(lay, keras.layers.MaxPooling2D):
            clipped = _near_zero(inputs[below.name]) if _is_relu(below) else None
            near = _pool_footprint(near, x, lay, clipped)
        elif not isinstance(lay, (keras.layers.BatchNormalization, keras.layers.Dropout, keras.layers.Activation)):
            raise ValueError(f"no backward footprint for layer {lay.name} ({type(lay).__name__})")
    return ~(near | whole_face[:, None, None])[..., None]


def _is_relu(layer) -> bool:
    return layer.get_config().get("activation") == "relu"


def _near_zero(x: np.ndarray) -> np.ndarray:
    """Per face (axis 0): where |x| is within NEAR_BRANCH of the largest |x|."""
    scale = np.abs(x).max(axis=tuple(range(1, x.ndim)), keepdims=True)
    return np.abs(x) <= NEAR_BRANCH * scale


def _conv_footprint(near: np.ndarray, conv) -> np.ndarray:
    config = conv.get_config()
    if config["padding"] != "same" or tuple(config["strides"]) != (1, 1):
        raise ValueError(f"no backward footprint for conv {conv.name} ({config['padding']}, {config['strides']})")
    ry, rx = (k // 2 for k in config["kernel_size"])
    padded = np.pad(near, ((0, 0), (ry, ry), (rx, rx)))
    h, w = near.shape[1:]
    out = np.zeros_like(near)
    for dy in range(2 * ry + 1):
        for dx in range(2 * rx + 1):
            out |= padded[:, dy:dy + h, dx:dx + w]
    return out


def _pool_footprint(near: np.ndarray, x: np.ndarray, pool, clipped: np.ndarray | None) -> np.ndarray:
    """Both runtimes send a window's gradient to its first largest input. A near tie of the two largest
    marks the window. An exact tie of ReLU zeros does not (both clip them to 0.0 and take the first),
    unless one of them is near its ReLU's branch (`clipped`) and could come out positive in the other."""
    config = pool.get_config()
    ky, kx = config["pool_size"]
    if tuple(config["strides"]) != (ky, kx) or config["padding"] != "valid":
        raise ValueError(f"no backward footprint for pool {pool.name}: its windows must tile the input")
    n, h, w, c = x.shape
    oh, ow = h // ky, w // kx

    def windows(values: np.ndarray) -> np.ndarray:  # (N, oh, ow, c, ky * kx)
        tiles = values[:, :oh * ky, :ow * kx].reshape(n, oh, ky, ow, kx, c)
        return tiles.transpose(0, 1, 3, 5, 2, 4).reshape(n, oh, ow, c, ky * kx)

    ranked = np.sort(windows(x), axis=-1)
    tie = (ranked[..., -1] - ranked[..., -2] <= NEAR_BRANCH * np.abs(x).max(axis=(1, 2, 3))[:, None, None, None])
    tie &= ranked[..., -1] != 0
    if clipped is not None:
        tie |= (ranked[..., -1] == 0) & windows(clipped).any(axis=-1)
    out = np.zeros((n, h, w), bool)
    out[:, :oh * ky, :ow * kx] = (near | tie.any(axis=3)).repeat(ky, axis=1).repeat(kx, axis=2)
    return out


def assert_layer_gradients_match(ours: np.ndarray, reference: np.ndarray, decided: np.ndarray) -> None:
    """ours, reference: (faces, classes, h, w, channels); decided: (faces, h, w, 1 or channels), from
    decided_cells. Every decided value agrees to TOLERANCE of its map's largest |value|, and at least
    MIN_COMPARED of all values are decided."""
    assert ours.shape == reference.shape
    compared = np.broadcast_to(decided[:, None], ours.shape)
    assert compared.mean() >= MIN_COMPARED, f"only {compared.mean():.1%} of the cells are free of near branches"
    scale = np.abs(reference).max(axis=(2, 3, 4), keepdims=True)
    wrong = compared & (np.abs(ours - reference) > TOLERANCE * scale)
    assert not wrong.any(), f"{wrong.sum()} of {compared.sum()} compared gradient values differ"


# A map whose largest value before its ReLU lies within this fraction of its largest |value| of 0 is not
# compared: whether it shows evidence at all is a branch point, and normalising a map over a maximum that
# small magnifies rounding into the whole picture.
NEAR_EMPTY = 1e-3


def assert_cam_maps_agree(ours: np.ndarray, reference: np.ndarray, before_relu: np.ndarray,
                          min_correlation: float) -> bool:
    """ours: a map normalised over its maximum; reference: the same map from the reference runtime;
    before_relu: the reference map before its ReLU. A map with no evidence by far more than rounding is
    all zero in ours; a map with evidence correlates at `min_correlation`. Returns whether it was compared,
    so a test can require enough compared maps."""
    top, scale = before_relu.max(), np.abs(before_relu).max()
    if top < -NEAR_EMPTY * scale:
        assert ours.max() == 0
        return False
    if top <= NEAR_EMPTY * scale:
        return False
    r = np.corrcoef(ours.ravel(), reference.ravel())[0, 1]
    assert r >= min_correlation, r
    return True
