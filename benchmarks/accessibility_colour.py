"""The app's colours as people with colour blindness or low vision see them: a table per palette.

    .venv/bin/python benchmarks/accessibility_colour.py [--pictures docs/reports/accessibility]

Palettes: fer_core.render.COLOURS (the boxes and number tags of annotated photos and of the live video), the
Video page's emotion timeline lines (unveil.app.charts.TIMELINE_COLOURS) and, for comparison, the first colours of
Streamlit's own categorical chart palette (light theme, Streamlit 1.67), which the timeline used before.

- "contrast": WCAG 2 contrast ratio. For a tag, of its number's ink (render.ink) on the tag's colour (text: 4.5:1
  needed, AA); for a timeline line, the lower of the line on the light theme's white page and on the dark theme's
  #0e1117 (a graphic: 3:1 needed, WCAG 1.4.11); for Streamlit's palette, on white.
- "closest pair": the smallest CIE76 colour difference (Delta E in CIELAB, D65) between two colours of the
  palette, with full vision and simulated protanopia, deuteranopia and tritanopia (Machado, Oliveira and Fernandes
  2009, severity 1, applied to linear RGB). Under about 10, two small marks are hard to tell apart; this is why no
  palette is trusted alone: every face has its number, every line its dash pattern and point shape.

Then each box colour's line against the pixel just outside it (box_edges), drawn alone as before and with the halo
render.outlined_box draws, around the faces found on the public-domain photos and on a flat patch of its own colour.

With --pictures, an annotated photo of two public-domain faces (tests/fixtures/public_domain) is drawn with the
shipped detector and simulated for each kind of colour blindness, as JPEG files (PICTURE_SIDE px wide) in that
folder.
"""
from __future__ import annotations

import argparse
import io
import itertools
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fer_core import render  # noqa: E402
from unveil.app import charts  # noqa: E402

# Machado, Oliveira and Fernandes (2009), "A physiologically-based model for simulation of color vision
# deficiency", IEEE TVCG 15(6), Table 1, severity 1.0: linear RGB to linear RGB.
MACHADO = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ["full vision", *MACHADO]
PICTURE_SIDE = 800
STREAMLIT_LIGHT = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a",
                   "#6d3fc0", "#d5dae5"]
# sRGB (D65) to XYZ, and the D65 white, for CIELAB.
_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                 [0.0193339, 0.1191920, 0.9503041]])
_WHITE = _XYZ @ np.ones(3)


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _gamma(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate(rgb: np.ndarray, vision: str) -> np.ndarray:
    """sRGB values in [0, 1] (any shape ending in 3) as seen with `vision`."""
    if vision == "full vision":
        return rgb
    return _gamma(_linear(rgb) @ MACHADO[vision].T)


def lab(rgb: np.ndarray) -> np.ndarray:
    xyz = (_linear(rgb) @ _XYZ.T) / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255


def closest_pair(colours: list[str], vision: str) -> tuple[float, str, str]:
    seen = {colour: lab(simulate(_rgb(colour), vision)) for colour in colours}
    return min((float(np.linalg.norm(seen[a] - seen[b])), a, b) for a, b in itertools.combinations(colours, 2))


def table(name: str, colours: list[str], contrast: dict[str, float], needed: float) -> None:
    print(f"\n{name} ({len(colours)} colours; contrast needed {needed}:1)\n")
    print("| Colour | Contrast | " + " | ".join(VISIONS[1:]) + " (as seen) |")
    print("|---|---|" + "---|" * len(MACHADO))
    for colour in colours:
        seen = [("#" + "".join(f"{round(v * 255):02x}" for v in simulate(_rgb(colour), vision))) for vision in MACHADO]
        print(f"| {colour} | {contrast[colour]:.1f}:1 | " + " | ".join(seen) + " |")
    print("\n| Vision | Closest pair | Delta E |")
    print("|---|---|---|")
    for vision in VISIONS:
        difference, a, b = closest_pair(colours, vision)
        print(f"| {vision} | {a} / {b} | {difference:.1f} |")


def _contrast(rgb: np.ndarray, colour: str) -> np.ndarray:
    """WCAG contrast ratios of 0..255 RGB pixels (any shape ending in 3) against `colour`, as render.contrast_ratio."""
    channels = rgb / 255
    linear = np.where(channels <= 0.03928, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    pixels = linear @ np.array([0.2126, 0.7152, 0.0722])
    other = render._luminance(colour)
    return (np.maximum(pixels, other) + 0.05) / (np.minimum(pixels, other) + 0.05)


def _ring(picture: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels just outside a rectangle drawn inside `rect` (x0, y0, x1, y1, inclusive)."""
    x0, y0, x1, y1 = rect
    return np.concatenate([picture[y0 - 1, x0 - 1:x1 + 2], picture[y1 + 1, x0 - 1:x1 + 2],
                           picture[y0:y1 + 1, x0 - 1], picture[y0:y1 + 1, x1 + 1]])


def box_edges() -> None:
    """Each box colour's line against the pixel just outside it, drawn as before (the line alone) and now
    (render.outlined_box: a halo in render.ink of its colour), around the faces the shipped detector finds on the
    public-domain photos and on a flat patch of the box's own colour (the worst case). WCAG 1.4.11: 3:1."""
    from PIL import Image, ImageDraw

    from fer_core import FaceAnalyzer
    from tests.support.app import PUBLIC_DOMAIN

    analyzer = FaceAnalyzer()
    scenes = []
    for name in sorted(PUBLIC_DOMAIN.glob("*.jpg")):
        photo = np.asarray(Image.open(name).convert("RGB"))
        for x, y, w, h in (face.box for face in analyzer.analyze(photo)):
            scenes.append((photo, (round(x), round(y), round(x + w), round(y + h))))
    flat_rect = (20, 20, 80, 80)
    print(f"\nBox lines against the pixel just outside them ({len(scenes)} faces of {PUBLIC_DOMAIN.relative_to(REPO)}"
          ", and a flat 100 px patch of the box's colour); WCAG 1.4.11 asks 3:1\n")
    print("| Colour | Halo | Photos: share under 3:1, line alone | lowest | with halo | Flat patch: line alone | with halo |")
    print("|---|---|---|---|---|---|---|")
    for colour in render.COLOURS:
        found = {}
        for halo in (False, True):
            ratios = []
            for photo, rect in [*scenes, (np.tile(_rgb(colour) * 255, (100, 100, 1)).round().astype(np.uint8),
                                          flat_rect)]:
                picture = Image.fromarray(photo)
                pen = ImageDraw.Draw(picture)
                line = render.layout(picture.size, [(0, 0, 1, 1)]).line
                if halo:
                    render.outlined_box(pen, rect, colour, line)
                else:
                    pen.rectangle(rect, outline=colour, width=line)
                ratios.append(_contrast(_ring(np.asarray(picture).astype(float), rect), colour))
            found[halo] = ratios
        photos = {halo: np.concatenate(ratios[:-1]) for halo, ratios in found.items()}
        print(f"| {colour} | {render.ink(colour)} | {np.mean(photos[False] < 3):.0%} | {photos[False].min():.1f}:1 | "
              f"{np.mean(photos[True] < 3):.0%} (lowest {photos[True].min():.1f}:1) | {found[False][-1].min():.1f}:1 | "
              f"{found[True][-1].min():.1f}:1 |")


def pictures(folder: Path) -> None:
    from PIL import Image

    from fer_core import FaceAnalyzer
    from tests.support.app import PUBLIC_DOMAIN, side_by_side

    photo = np.asarray(Image.open(io.BytesIO(side_by_side(
        PUBLIC_DOMAIN / "grace_hopper.jpg", PUBLIC_DOMAIN / "eileen_collins.jpg"))).convert("RGB"))
    faces = FaceAnalyzer().analyze(photo)
    drawn = np.asarray(render.annotate(photo, faces, recognition=False)).astype(float) / 255
    folder.mkdir(parents=True, exist_ok=True)
    for vision in VISIONS:
        seen = Image.fromarray((simulate(drawn, vision) * 255).round().astype(np.uint8))
        seen.thumbnail((PICTURE_SIDE, PICTURE_SIDE), Image.LANCZOS)  # small enough to publish beside the report
        path = folder / f"annotated_{vision.replace(' ', '_')}.jpg"
        seen.save(path, quality=85)
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", type=Path, help="folder for the annotated photo as each vision sees it")
    args = parser.parse_args()
    from fer_core.emotion import EmotionModel

    classes = len(EmotionModel().classes)  # the shipped model's: as many lines as the timeline draws
    table("Box and number tags (fer_core.render.COLOURS): number on tag", render.COLOURS,
          {c: render.contrast_ratio(render.ink(c), c) for c in render.COLOURS}, 4.5)
    table("Video timeline lines (unveil.app.charts.TIMELINE_COLOURS, all): line on the light or dark theme's page, "
          "the lower", charts.TIMELINE_COLOURS,
          {c: min(render.contrast_ratio(c, page) for page in charts.BACKGROUNDS) for c in charts.TIMELINE_COLOURS}, 3)
    shipped = charts.TIMELINE_COLOURS[:classes]
    table(f"Video timeline lines, the first {classes} (the shipped model's classes): line on either page, the lower",
          shipped, {c: min(render.contrast_ratio(c, page) for page in charts.BACKGROUNDS) for c in shipped}, 3)
    table(f"Streamlit's categorical palette, first {classes} (the timeline before, for the shipped model's classes): line on white",
          STREAMLIT_LIGHT[:classes], {c: render.contrast_ratio(c, "#ffffff") for c in STREAMLIT_LIGHT[:classes]}, 3)
    box_edges()
    if args.pictures:
        pictures(args.pictures)


if __name__ == "__main__":
    main()
