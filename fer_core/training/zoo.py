"""The six architectures of the reference study, and the face-trained MobileFaceNet, by name, in one place.

Every model has the same outer shape so training, export and Grad-CAM treat them alike:
RGB 0-255 input -> FacePreprocess -> backbone whose last conv feature map is the layer "cam_features"
-> global average pooling -> Dense "head_hidden" (ReLU) -> Dropout -> Dense "logits".
With that head, the gradient of a class logit w.r.t. the feature map is a product of the two dense
kernels and the ReLU mask, so Grad-CAM runs exactly on the ONNX graph without TensorFlow.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

from fer_core.training.preprocess import FacePreprocess


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    input_size: tuple[int, int]
    preprocess: str  # a FacePreprocess mode
    transfer: bool  # has a pretrained base, trained in two steps
    fine_tune_from: str | None  # first layer unfrozen in step 2 (transfer models)
    build_backbone: Callable[..., keras.KerasTensor]  # (x) -> last map; FACE_SIZED ones also take face_size


def _conv_block(x, filters: int, convs: int, name: str, dropout: float):
    for i in range(convs):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i + 1}")(x)
    return x


def _plain_cnn(filters: tuple[int, ...], convs: int = 2):
    """A from-scratch CNN with batch normalisation (without it such nets did not train here)."""

    def build(x):
        for b, f in enumerate(filters):
            x = _conv_block(x, f, convs, f"block{b + 1}", 0.0)
            if b < len(filters) - 1:
                x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
                x = layers.Dropout(0.25, name=f"block{b + 1}_drop")(x)
        return layers.Activation("linear", name="cam_features")(x)

    return build


VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
MOBILEFACENET_FILE = "face_recognition_mobilefacenet.onnx"


def _vgg16(x):
    """VGG16's 13 conv layers with Keras' layer names (so ImageNet or HED weights load by name).
    block5_pool is left out: at 48x48 it would keep 2x2 of a 3x3 map; the head pools globally."""
    for b, (filters, convs) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{i}")(x)
        if b < 5:
            x = layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    return layers.Activation("linear", name="cam_features")(x)


def _mobilefacenet(x, face_size: int | None = None):
    """MobileFaceNet's body from Unveil's identity file, weights included (mobilefacenet_body.py), to its last map,
    behind the 48-px face enlarged to the 112 px it was trained on (7x7), or to `face_size` (96: 6x6, the map of
    VGG16 at 96 px, so the two merge without repeating cells, ensemble.py). A face-trained start: its frozen
    features read real photos at 0.584 where ImageNet VGG16's read 0.430
    (experiments/reports/emotion_face_features_probe/)."""
    from fer_core.model_files import models_dir
    from fer_core.training.mobilefacenet_body import mobilefacenet_layers, onnx_input_size

    path = models_dir() / MOBILEFACENET_FILE
    size = (face_size, face_size) if face_size else onnx_input_size(path)
    x = layers.Resizing(*size, interpolation="bilinear", name="enlarge")(x)
    return layers.Activation("linear", name="cam_features")(mobilefacenet_layers(x, path))


def _keras_application(factory):
    def build(x):
        base = factory(include_top=False, weights=None, input_tensor=x)
        return layers.Activation("linear", name="cam_features")(base.output)

    return build


ZOO: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("cnn3_rgb", "1 - 3-block CNN, RGB", (48, 48), "rgb_unit", False, None, _plain_cnn((64, 128, 256))),
        Architecture("cnn4_rgb", "2 - 4-block CNN, RGB", (48, 48), "rgb_unit", False, None, _plain_cnn((64, 128, 256, 512))),
        Architecture("vgg16", "3 - VGG16 transfer", (48, 48), "vgg_caffe", True, "block3_conv1", _vgg16),
        Architecture(
            "resnet50v2", "4 - ResNet V2 transfer", (48, 48), "minus_one_one", True, "conv4_block1_preact_bn",
            _keras_application(keras.applications.ResNet50V2),
        ),
        Architecture(
            "efficientnetb0", "5 - EfficientNet transfer", (48, 48), "raw", True, "block5a_expand_conv",
            _keras_application(keras.applications.EfficientNetB0),
        ),
        Architecture(
            "cnn5_gray", "6 - 5-block CNN, grayscale", (48, 48), "gray", False, None,
            _plain_cnn((32, 64, 128, 256, 512)),
        ),
        Architecture("mobilefacenet", "MobileFaceNet, face-trained (issue 20)", (48, 48), "raw", True, "enlarge",
                     _mobilefacenet),
    )
}
# Architectures whose backbone enlarges the face itself, to a size `face_size` may set (build_model).
FACE_SIZED = ("mobilefacenet",)
FACE_SIZE_NOT_HERE = "face_size sets the face MobileFaceNet enlarges to; {arch} has no such size (use upsample)"
# The six of the reference study (its reproduction table); the zoo's later entries came after it.
STUDY_ARCHITECTURES = ("cnn3_rgb", "cnn4_rgb", "vgg16", "resnet50v2", "efficientnetb0", "cnn5_gray")


def build_model(
    name: str,
    *,
    n_classes: int,
    input_size: tuple[int, int] | None = None,
    upsample: int = 1,
    face_size: int | None = None,
    hidden: int = 256,
    dropout: float = 0.5,
) -> keras.Model:
    """The named architecture with random weights (see weights.py for pretrained starts).
    `input_size` overrides the architecture's (h, w), e.g. smaller for fast tests. `upsample` > 1 enlarges
    the preprocessed face inside the graph (bilinear): the model still takes the 48x48 crops FER2013 was
    made of, but VGG16's four poolings then leave a 6x6 map instead of 3x3, finer for both the classifier
    and Grad-CAM. Doing it in the graph keeps training and the app's crops alike (the app never feeds an
    upscaled crop the model did not see in training). `face_size` is the side MobileFaceNet enlarges the face
    to (None: its identity file's, 112)."""
    if name not in ZOO:
        raise ValueError(f"unknown architecture {name!r}; expected one of {sorted(ZOO)}")
    if face_size is not None and name not in FACE_SIZED:
        raise ValueError(FACE_SIZE_NOT_HERE.format(arch=name))
    if upsample < 1:
        raise ValueError(f"upsample must be a positive integer, got {upsample!r}")
    arch = ZOO[name]
    inputs = keras.Input((*(input_size or arch.input_size), 3), name="image")
    # The input's normalisation and the logits stay float32 under a mixed-precision policy (train's
    # `precision`): grey levels and the loss keep full precision, the backbone computes in bfloat16.
    x = FacePreprocess(arch.preprocess, name="preprocess", dtype="float32")(inputs)
    if upsample > 1:
        x = layers.UpSampling2D(upsample, interpolation="bilinear", name="upsample")(x)
    features = arch.build_backbone(x, face_size) if face_size is not None else arch.build_backbone(x)
    x = layers.GlobalAveragePooling2D(name="gap")(features)
    x = layers.Dense(hidden, activation="relu", name="head_hidden")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    logits = layers.Dense(n_classes, name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name=name)


def build_architecture(config: dict) -> keras.Model:
    """The single model a training run's config.json describes (runs.build_from_config also builds
    ensembles)."""
    size = config.get("input_size") or ZOO[config["arch"]].input_size[0]
    return build_model(config["arch"], n_classes=len(config["classes"]), input_size=(size, size),
                       upsample=config.get("upsample", 1), face_size=config.get("face_size"))


def head_layer_names() -> tuple[str, ...]:
    """Layers after the backbone: trained in step 1 on cached features."""
    return ("gap", "head_hidden", "head_dropout", "logits")
