"""Training, evaluation, export and int8 quantization of the emotion model, and the maintainers' model
converters and evaluation helpers (the identity development set, the MTCNN export).

Needs the `training` extra (TensorFlow, tf2onnx, mtcnn); the app and the CLI never import this package.
Importing it loads nothing heavy: each module imports what it needs. Commands:
`python -m fer_core.training --help`.
"""
