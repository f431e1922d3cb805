"""Training-time augmentation, applied per batch inside tf.data (never at inference)."""
from __future__ import annotations

import keras


def augmentation(seed: int) -> keras.Sequential:
    """Small, label-preserving changes a webcam or phone photo would show: mirror, a little rotation,
    shift and zoom, lighting. Kept small: at 48x48 a large shift crops the mouth or eyes away."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.03, fill_mode="reflect", seed=seed + 1),  # about +-11 degrees
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomZoom((-0.1, 0.1), fill_mode="reflect", seed=seed + 3),
            keras.layers.RandomBrightness(0.15, value_range=(0.0, 255.0), seed=seed + 4),
            keras.layers.RandomContrast(0.2, value_range=(0.0, 255.0), seed=seed + 5),
        ],
        name="augmentation",
    )
