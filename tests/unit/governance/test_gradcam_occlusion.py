"""Occlusion sensitivity (the forward-pass method Grad-CAM is compared with) finds planted evidence."""
import numpy as np

from governance.explain import occlusion_maps

REGION = (slice(30, 42), slice(6, 30))  # 12x24, lower left


class PlantedModel:
    """Class 0's probability is the mean brightness of REGION over 255; class 1 takes the rest."""

    input_size = (48, 48)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        evidence = np.asarray(batch)[:, REGION[0], REGION[1]].mean(axis=(1, 2, 3)) / 255.0
        return np.stack([evidence, 1 - evidence], axis=1)


def test_occlusion_heat_sits_on_the_evidence_and_nowhere_far_from_it():
    face = np.zeros((48, 48, 3), np.float32)
    face[REGION] = 255
    model = PlantedModel()
    maps = occlusion_maps(model, face, model.predict(face[None])[0], fill="mean")
    assert maps.shape == (2, 48, 48) and maps.min() >= 0 and maps.max() == 1
    evidence = maps[0]
    peak = np.unravel_index(np.argmax(evidence), evidence.shape)
    assert REGION[0].start <= peak[0] < REGION[0].stop and REGION[1].start <= peak[1] < REGION[1].stop
    near = np.zeros((48, 48), bool)  # the region grown by one patch (8 px): patches there overlap it
    near[max(REGION[0].start - 8, 0) : REGION[0].stop + 8, max(REGION[1].start - 8, 0) : REGION[1].stop + 8] = True
    assert evidence[~near].max() == 0
    assert evidence[REGION].min() > 0
    assert maps[1].max() == 0  # occluding the region only ever helps class 1: no evidence for it
