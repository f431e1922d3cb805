#!/usr/bin/env bash
# Everything a call of gpu_real_photo_recipe.sh carries, rebuilt on a fresh checkout (.gpu/ and .whl/ are
# ignored, so a new machine has neither): the deduplicated fer4 train + validation images, the float16
# ImageNet VGG16 start, and the keras, namex and optree wheels the GPU machine lacks (Python 3.12 there).
# About 3 minutes here (the ImageNet start is fetched once through pip, see fer_core/training/weights.py).
#   experiments/gpu_prepare.sh             # then: experiments/gpu_stash.sh out; the device call; gpu_stash.sh back
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
mkdir -p .gpu .whl
[ -f .gpu/fer4_trainval.tgz ] || $py experiments/gpu_pack.py data --out .gpu/fer4_trainval.tgz
[ -f .gpu/imagenet_fp16.npz ] || $py experiments/gpu_pack.py start imagenet-onnx --out .gpu/imagenet_fp16.npz
# The versions trained with in rounds 1-4 (experiments/README.md, "GPU logistics").
for wheel in keras==3.15.1 namex==0.1.0 optree==0.20.0; do
    $py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform any -d .whl "$wheel"
done
ls -l .gpu .whl
du -sch .gpu .whl fer_core experiments/gpu_real_photo_recipe.sh experiments/gpu_pack.py | tail -1
