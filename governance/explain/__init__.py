"""Why the model read this emotion: Grad-CAM heatmaps on the ONNX emotion model, no TensorFlow.

    model = load_cam_model()                                  # the shipped emotion model, once
    heat = gradcam(model, aligned_face)                       # (h, w) in [0, 1], predicted emotion
    heat = gradcam(model, aligned_face, "surprise")           # or a chosen one
    picture = explain_on_photo(model, photo, matrix, "sad")   # RGB uint8: the photo with the heatmap

`matrix` is the 2x3 alignment transform photo -> aligned face (fer_core.alignment.align gives the aligned
face and its matrix together).
Faithfulness is measured, not assumed: `deletion_curve` implements the deletion metric,
benchmarks/gradcam_faithfulness.py runs it against random order, Grad-CAM++ and occlusion, the model card
records the result, and `measured_faithfulness(model_path)` reads it back for the file actually loaded.
"""
from governance.explain._cam import occlusion_maps
from governance.explain._deletion import DELETION_STEPS, DeletionCurve, deletion_curve, deletion_order
from governance.explain._errors import ExplanationError
from governance.explain._explain import (
    DEFAULT_METHOD,
    LAYER_METHODS,
    METHODS,
    FaceExplanation,
    explain_face,
    gradcam,
    gradcam_plus_plus,
    hirescam,
    layercam,
    occlusion_sensitivity,
)
from governance.explain._faithfulness import CARD_UNREADABLE, VERDICTS, Faithfulness, measured_faithfulness
from governance.explain._layer_graph import with_layer_gradients
from governance.explain._model import DEFAULT_MODEL, EXPLAIN_LAYERS, CamModel, LayerOutputs, load_cam_model
from governance.explain._photo import DEFAULT_COLORMAP, explain_on_photo, heatmap_to_photo, overlay

__all__ = [
    "CARD_UNREADABLE",
    "DEFAULT_COLORMAP",
    "DEFAULT_METHOD",
    "DEFAULT_MODEL",
    "DELETION_STEPS",
    "EXPLAIN_LAYERS",
    "LAYER_METHODS",
    "METHODS",
    "CamModel",
    "DeletionCurve",
    "ExplanationError",
    "FaceExplanation",
    "Faithfulness",
    "LayerOutputs",
    "VERDICTS",
    "deletion_curve",
    "deletion_order",
    "explain_face",
    "explain_on_photo",
    "gradcam",
    "gradcam_plus_plus",
    "heatmap_to_photo",
    "hirescam",
    "layercam",
    "load_cam_model",
    "measured_faithfulness",
    "occlusion_maps",
    "occlusion_sensitivity",
    "overlay",
    "with_layer_gradients",
]
