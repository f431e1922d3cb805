"""The preprocessing every zoo model carries as its first layer, so an exported graph takes plain
RGB 0-255 images and nothing about normalisation can drift between training and the app."""
from __future__ import annotations

import keras
from keras import ops

# ITU-R BT.601 luma: how PIL's convert("L") made the grayscale FER2013 training images.
_LUMA = (0.299, 0.587, 0.114)
# Caffe-style VGG16 means (BGR order); with gray input the three channels are equal, only means differ.
_VGG_MEAN_BGR = (103.939, 116.779, 123.68)

MODES = ("gray", "rgb_unit", "vgg_caffe", "minus_one_one", "raw")


@keras.saving.register_keras_serializable(package="unveil")
class FacePreprocess(keras.layers.Layer):
    """RGB 0-255 in; grayscale (the training data is grayscale, so colour photos are converted the
    same way) then the architecture's own normalisation:

    - gray: 1 channel, x / 255
    - rgb_unit: 3 equal channels, x / 255
    - vgg_caffe: 3 channels BGR minus ImageNet means (keras.applications.vgg16.preprocess_input)
    - minus_one_one: 3 channels, x / 127.5 - 1 (ResNet V2)
    - raw: 3 channels 0-255 (EfficientNet normalises inside itself)
    """

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"unknown preprocessing mode {mode!r}; expected one of {MODES}")
        self.mode = mode

    def call(self, x):
        gray = x[..., 0:1] * _LUMA[0] + x[..., 1:2] * _LUMA[1] + x[..., 2:3] * _LUMA[2]
        if self.mode == "gray":
            return gray / 255.0
        rgb = ops.concatenate([gray, gray, gray], axis=-1)
        if self.mode == "rgb_unit":
            return rgb / 255.0
        if self.mode == "vgg_caffe":
            return rgb - ops.convert_to_tensor(_VGG_MEAN_BGR, dtype=rgb.dtype)
        if self.mode == "minus_one_one":
            return rgb / 127.5 - 1.0
        return rgb

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1 if self.mode == "gray" else 3)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
