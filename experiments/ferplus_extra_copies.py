"""Which extra FER2013 training faces are copies of fer4 images? The evidence behind ferplus.py's copy rule.

FER2013 holds copies across its splits, and fer4 holds some copies sprinkled with salt-and-pepper specks, so
an extra face (`python -m fer_core.training ferplus-extra`) may be a fer4 validation or test face in
disguise. This prints, for every candidate, how its two copy measures (`copy_measures`: best correlation
with a fer4 image; smallest median grey-level difference after a 3x3 median filter to one of its 16 nearest
fer4 images) fall in bands, and writes a sheet of candidate / nearest-fer4-image pairs per band to --sheets
for looking at side by side. The sheets are FER2013 pictures: keep them out of the repository.

    PYTHONPATH=. python experiments/ferplus_extra_copies.py --ferplus-git /work/.mirror/microsoft+FERPlus/repo \
        --images-git /work/.mirror/tessav+crowd-emotion/repo [--sheets /tmp/ferplus_extra_sheets]

About a minute on the 2-core CPU.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from fer_core.training.ferplus import (
    EXTRA_COPY_CORR,
    EXTRA_COPY_MEDIAN_DIFF,
    copy_measures,
    extra_candidates,
    is_copy,
    read_fer4_images,
    read_git_file,
)

DIFF_BANDS = (0, 10, 16, 18, 20, 22, 25, 30, 40, 256)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fer4"))
    parser.add_argument("--ferplus-git", type=Path, required=True)
    parser.add_argument("--images-git", type=Path, required=True)
    parser.add_argument("--sheets", type=Path, default=Path("/tmp/ferplus_extra_sheets"))
    parser.add_argument("--per-sheet", type=int, default=12)
    args = parser.parse_args(argv)

    candidates = extra_candidates(read_git_file(args.ferplus_git, "fer2013new.csv").decode(), args.images_git)
    fer4 = read_fer4_images(args.data)
    corr, diff, nearest = copy_measures(candidates.images, fer4)
    print(f"{len(candidates.names)} candidates; copy rule: correlation >= {EXTRA_COPY_CORR} or median difference "
          f"< {EXTRA_COPY_MEDIAN_DIFF}\n")
    print("| median difference (grey levels) | candidates | of them correlation >= 0.9 | left out by the rule |")
    print("|---|---|---|---|")
    args.sheets.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for low, high in zip(DIFF_BANDS[:-1], DIFF_BANDS[1:]):
        band = np.flatnonzero((diff >= low) & (diff < high))
        copies = is_copy(corr[band], diff[band])
        print(f"| {low}-{high} | {len(band)} | {int((corr[band] >= EXTRA_COPY_CORR).sum())} | {int(copies.sum())} |")
        shown = rng.choice(band, size=min(args.per_sheet, len(band)), replace=False) if len(band) else band
        if len(shown):
            rows = [np.hstack([cv2.resize(candidates.images[i], (64, 64)), cv2.resize(cv2.equalizeHist(fer4[nearest[i]]), (64, 64))])
                    for i in shown]
            cv2.imwrite(str(args.sheets / f"median_diff_{low:03d}_{high:03d}.png"), np.vstack(rows))
    left_out = is_copy(corr, diff)
    print(f"\nleft out: {int(left_out.sum())}; kept: {int((~left_out).sum())}; sheets in {args.sheets}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
