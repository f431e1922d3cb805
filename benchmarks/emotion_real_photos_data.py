"""Assemble the real-photo emotion dev set (happy, neutral, sad, surprise) from pinned public repository snapshots.

Evaluation only: the sources are research databases whose terms allow research use, not training,
redistribution or publication of the pictures. The set lives outside the repository (default
~/.cache/unveil-bench/real_photos); only its manifest (file names, labels, SHA-256) and SOURCE.md are
copied into docs/.

Rebuild it in two steps:

1. Bring the three repositories onto this machine with the workplace's `fetch` tool (each becomes a
   bare git directory /work/.mirror/<owner>+<name>/repo):
       fetch github:muxspace/facial_expressions
       fetch github:umass-vis-lfw/umass-vis-lfw.github.io
       fetch github:leecarraher/pattern_recognition
2. PYTHONPATH=. python benchmarks/emotion_real_photos_data.py [--mirrors /work/.mirror] [--data DIR] \
       [--docs docs/reports/emotion_real_photos_data]   # also refresh the committed manifest and SOURCE.md

Every file is read from the pinned commit below (`git show COMMIT:PATH`), so a newer snapshot of a
repository gives the same set as long as it still holds that commit. Sources and label mapping:

- lfw: LFW news photos (colour, 250x250 "deep funneled", face centred), labelled with a facial
  expression by a graduate machine-learning class in muxspace/facial_expressions (data/legend.csv,
  Apache-2.0 for the repository; that repository's own copies are grey 350x350, so the colour originals
  are taken from the official LFW site repository). happiness->happy, neutral->neutral,
  sadness->sad, surprise->surprise; anger, contempt, disgust and fear are left out. The labels are one
  student's reading of each photo, not a consensus.
- imfdb: colour face crops of Indian film actors (IMFDB style, one contributor's submission to
  muxspace/facial_expressions, same mapping). Small crops (often under 120 px).
- yale: the Yale Face Database (grey 320x243, 15 subjects, posed): happy->happy, normal->neutral,
  sad->sad, surprised->surprise. subject04.sad is left out: the database's own readme says it is a
  copy of subject04.normal (the two files are byte-identical).

Classes with more rows than --per-class (default 250) in a source are sampled with a fixed seed.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import random
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

CLASSES = ("happy", "neutral", "sad", "surprise")
DEFAULT_DATA = Path.home() / ".cache" / "unveil-bench" / "real_photos"
DEFAULT_MIRRORS = Path("/work/.mirror")
SEED = 20261204

MUXSPACE = ("muxspace/facial_expressions", "5fb9c13afac07c55eae8d25eb6b50af344ad60c9")
LFW = ("umass-vis-lfw/umass-vis-lfw.github.io", "2a620cd8cceb10430f8c7012fe9fa5f0837759e9")
YALE = ("leecarraher/pattern_recognition", "b072a1f88e7b5e3356e61b3724615f78ab4194f6")

MUXSPACE_LABELS = {"happiness": "happy", "neutral": "neutral", "sadness": "sad", "surprise": "surprise"}
YALE_LABELS = {"happy": "happy", "normal": "neutral", "sad": "sad", "surprised": "surprise"}
# The muxspace contributor whose rows are IMFDB-style actor crops stored in that repository itself;
# every other contributor labelled LFW photos (names like Colin_Powell_0066.jpg).
IMFDB_CONTRIBUTOR = "jhamski"
LFW_NAME = re.compile(r"^(?P<person>.+)_(?P<number>\d{4})\.jpg$")
YALE_SKIPPED = {"subject04.sad": "a copy of subject04.normal (the database's readme; the files are byte-identical)"}

TERMS = {
    "lfw": "LFW: no explicit licence; news photos of public figures, copyright with the photographers; published "
           "as a research benchmark. Labels: muxspace/facial_expressions, Apache-2.0. Evaluation only; never "
           "training data, never redistributed, never shown in published pictures.",
    "imfdb": "Face crops contributed to muxspace/facial_expressions (repository Apache-2.0); the pictures are film "
             "stills of public figures, copyright with their owners. Evaluation only; never training data, never "
             "redistributed, never shown in published pictures.",
    "yale": "Yale Face Database: free for research use with citation (Belhumeur, Hespanha, Kriegman, IEEE TPAMI "
            "1997); must not be incorporated into a larger database that is publicly distributed. Evaluation only; "
            "never training data, never redistributed, never shown in published pictures.",
}


@dataclass(frozen=True)
class Item:
    source: str
    label: str
    original_label: str
    subject: str
    repo: str
    commit: str
    repo_path: str
    file_name: str


class Mirror:
    """Files of one repository at one commit, read from the bare git directory the `fetch` tool made."""

    def __init__(self, mirrors: Path, repo: str, commit: str) -> None:
        self.repo, self.commit = repo, commit
        self.git_dir = mirrors / repo.replace("/", "+") / "repo"
        if not self.git_dir.is_dir():
            raise SystemExit(f"{repo}: no snapshot at {self.git_dir}; run the fetch tool: fetch github:{repo}")
        probe = subprocess.run(["git", "--git-dir", str(self.git_dir), "cat-file", "-e", f"{commit}^{{commit}}"],
                               capture_output=True)
        if probe.returncode != 0:
            raise SystemExit(f"{repo}: the snapshot at {self.git_dir} does not hold the pinned commit {commit}")

    def paths(self) -> list[str]:
        out = subprocess.run(["git", "--git-dir", str(self.git_dir), "ls-tree", "-r", "--name-only", self.commit],
                             check=True, capture_output=True, text=True).stdout
        return out.splitlines()

    def read(self, path: str) -> bytes:
        return subprocess.run(["git", "--git-dir", str(self.git_dir), "show", f"{self.commit}:{path}"],
                              check=True, capture_output=True).stdout


def muxspace_items(labels: Mirror, lfw: Mirror) -> list[Item]:
    """LFW and IMFDB rows of the class legend, mapped to the four classes; images labelled twice differently dropped."""
    rows = list(csv.DictReader(io.StringIO(labels.read("data/legend.csv").decode("utf-8"))))
    seen: dict[str, set[str]] = defaultdict(set)
    contributors: dict[str, str] = {}
    for row in rows:
        seen[row["image"]].add(row["emotion"].strip().lower())
        contributors.setdefault(row["image"], row["user.id"])
    lfw_paths = set(lfw.paths())
    items = []
    for image, emotions in sorted(seen.items()):
        if len(emotions) != 1:
            continue
        (emotion,) = emotions
        if emotion not in MUXSPACE_LABELS:
            continue
        if contributors[image] == IMFDB_CONTRIBUTOR:
            subject = image.rsplit("_", 1)[0]
            items.append(Item("imfdb", MUXSPACE_LABELS[emotion], emotion, subject, labels.repo, labels.commit,
                              f"images/{image}", image))
            continue
        match = LFW_NAME.match(image)
        if match is None:
            continue
        path = f"images_deepfunneled/{match['person']}/{image}"
        if path in lfw_paths:
            items.append(Item("lfw", MUXSPACE_LABELS[emotion], emotion, match["person"], lfw.repo, lfw.commit,
                              path, image))
    return items


def yale_items(yale: Mirror) -> list[Item]:
    items = []
    for path in yale.paths():
        name = path.rsplit("/", 1)[-1]
        if not path.startswith("yalefaces/subject") or name in YALE_SKIPPED:
            continue
        subject, _, condition = name.partition(".")
        if condition in YALE_LABELS:
            items.append(Item("yale", YALE_LABELS[condition], condition, subject, yale.repo, yale.commit, path,
                              f"{name}.gif"))
    return items


def sample(items: list[Item], per_class: int, seed: int) -> list[Item]:
    """At most `per_class` items of each (source, class), drawn with a fixed seed; order: source, class, name."""
    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        groups[(item.source, item.label)].append(item)
    rng = random.Random(seed)
    kept = []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda i: i.file_name)
        kept += sorted(group if len(group) <= per_class else rng.sample(group, per_class), key=lambda i: i.file_name)
    return kept


def write_set(items: list[Item], mirrors: dict[str, Mirror], data: Path) -> list[dict[str, str]]:
    rows = []
    for item in items:
        content = mirrors[item.repo].read(item.repo_path)
        relative = Path(item.source) / item.label / item.file_name
        target = data / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        rows.append({
            "path": relative.as_posix(), "label": item.label, "source": item.source, "subject": item.subject,
            "original_label": item.original_label, "repo": item.repo, "commit": item.commit,
            "repo_path": item.repo_path, "sha256": hashlib.sha256(content).hexdigest(),
        })
    return rows


def source_md(rows: list[dict[str, str]], per_class: int) -> str:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLASSES, 0))
    subjects: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        counts[row["source"]][row["label"]] += 1
        subjects[row["source"]].add(row["subject"])
    lines = [
        "# Real-photo emotion dev set (happy, neutral, sad, surprise)",
        "",
        "Evaluation only. Never training data, never committed, never shown in published pictures.",
        "Built by `benchmarks/emotion_real_photos_data.py` (its docstring has the fetch commands and the label "
        "mapping); every file's repository, commit, path and SHA-256 is in `manifest.csv`.",
        "",
        "## Sources",
        "",
        "| source | repository | commit | what | terms |",
        "|---|---|---|---|---|",
        f"| lfw | {LFW[0]} (images_deepfunneled/) + {MUXSPACE[0]} (data/legend.csv labels) | {LFW[1]} / {MUXSPACE[1]} "
        f"| LFW colour news photos, expression labelled by students | {TERMS['lfw']} |",
        f"| imfdb | {MUXSPACE[0]} (images/, contributor {IMFDB_CONTRIBUTOR}) | {MUXSPACE[1]} | colour face crops of "
        f"film actors | {TERMS['imfdb']} |",
        f"| yale | {YALE[0]} (yalefaces/) | {YALE[1]} | Yale Face Database, grey, posed | {TERMS['yale']} |",
        "",
        "## Label mapping",
        "",
        "- muxspace legend (lfw, imfdb): " + ", ".join(f"{k} -> {v}" for k, v in MUXSPACE_LABELS.items())
        + "; anger, contempt, disgust, fear left out; an image listed twice with different labels left out.",
        "- yale: " + ", ".join(f"{k} -> {v}" for k, v in YALE_LABELS.items())
        + "; " + "; ".join(f"{k} left out: {v}" for k, v in YALE_SKIPPED.items()) + ".",
        "",
        f"## Counts (at most {per_class} per source and class, sampled with seed {SEED})",
        "",
        "| source | " + " | ".join(CLASSES) + " | total | subjects |",
        "|---|" + "---:|" * (len(CLASSES) + 2),
    ]
    for source in sorted(counts):
        values = [counts[source][c] for c in CLASSES]
        lines.append(f"| {source} | " + " | ".join(map(str, values)) + f" | {sum(values)} | {len(subjects[source])} |")
    totals = [sum(counts[s][c] for s in counts) for c in CLASSES]
    all_subjects = {(r["source"], r["subject"]) for r in rows}
    lines.append("| all | " + " | ".join(map(str, totals)) + f" | {sum(totals)} | {len(all_subjects)} |")
    lines += [
        "",
        "## Caveats",
        "",
        "- The lfw and imfdb labels are one annotator's reading; sad and surprise in news photos are rare and "
        "ambiguous, so part of any model's error there is label noise.",
        "- Some LFW people appear in several photos, so faces are not independent; the benchmark's bootstrap "
        "resamples faces, which makes its intervals somewhat narrow.",
        "- The yale and imfdb faces are small or grey; only lfw is colour news photography of whole scenes.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS, help="where the fetch tool put the snapshots")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder to write the set into")
    parser.add_argument("--per-class", type=int, default=250, help="most faces per source and class")
    parser.add_argument("--docs", type=Path, help="also copy manifest.csv and SOURCE.md (no images) here")
    args = parser.parse_args(argv)

    mirrors = {repo: Mirror(args.mirrors, repo, commit) for repo, commit in (MUXSPACE, LFW, YALE)}
    items = muxspace_items(mirrors[MUXSPACE[0]], mirrors[LFW[0]]) + yale_items(mirrors[YALE[0]])
    rows = write_set(sample(items, args.per_class, SEED), mirrors, args.data)
    manifest = args.data / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text = source_md(rows, args.per_class)
    (args.data / "SOURCE.md").write_text(text)
    if args.docs:
        args.docs.mkdir(parents=True, exist_ok=True)
        (args.docs / "manifest.csv").write_bytes(manifest.read_bytes())
        (args.docs / "SOURCE.md").write_text(text)
    print(text.split("## Counts", 1)[1].split("## Caveats", 1)[0].strip())
    print(f"wrote {len(rows)} faces and {manifest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
