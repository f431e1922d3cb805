"""Vega-Lite specifications of the app's charts whose colours Unveil chooses. Plain data, tested without Streamlit.

Streamlit's own categorical palette (light theme) starts with two pale colours, #83c9ff and #ffabab, 1.8:1 on the
white page: a line drawn in them is hard to see with low vision (WCAG 1.4.11 asks 3:1 of a graphic one needs). The
colours here are chosen once for both of Streamlit's themes.
"""
from __future__ import annotations

from collections.abc import Sequence

# Streamlit's page background in its light and dark themes (a browser that prefers dark gets the dark one).
BACKGROUNDS = ("#ffffff", "#0e1117")
# One per emotion, in the model's class order: 3:1 or more on both BACKGROUNDS, and told apart (CIE76 Delta E 13 or
# more between any two) with full vision and simulated protanopia, deuteranopia and tritanopia
# (benchmarks/accessibility_colour.py): Okabe-Ito's blue, vermillion, bluish green and reddish purple, which the
# shipped model's four emotions use, then three that kept the pairs apart. A model of more classes repeats them,
# and the dash patterns and point shapes keep the lines apart.
TIMELINE_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#ff1f5b", "#117733", "#999933"]


def timeline(classes: Sequence[str], end_s: float, description: str) -> dict:
    """A face's emotions over time, one line per class (the page's rows hold `time_s` and a column per class), on
    a fixed 0-100% axis; every face's chart shares one time axis, from the video's start to `end_s`, so charts line
    up and show when a face was absent. Each emotion's line has its own dash pattern and point shape as well as
    its colour, so the lines are told apart without colour vision; `description` says the chart in words (its
    accessible name, unveil.app.alt_text.timeline)."""
    def by_emotion(**more: object) -> dict:
        return {"field": "emotion", "type": "nominal", "sort": list(classes), **more}

    return {
        "description": description,
        "transform": [{"fold": list(classes), "as": ["emotion", "probability"]}],
        "mark": {"type": "line", "point": {"filled": True, "size": 50}, "tooltip": True},
        "encoding": {
            "x": {"field": "time_s", "type": "quantitative", "title": "time (s)", "scale": {"domain": [0, end_s]}},
            "y": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]},
                  "axis": {"format": "%"}},
            "color": by_emotion(scale={"range": TIMELINE_COLOURS}),
            "strokeDash": by_emotion(),
            "shape": by_emotion(),
        },
    }
