"""axe-core on every page of the app, in a real browser: a table of the accessibility rules each page breaks.

    (mkdir -p /tmp/axe && cd /tmp/axe && npm install axe-core)
    .venv/bin/python benchmarks/accessibility_axe.py [--axe /tmp/axe/node_modules/axe-core/axe.min.js]

`streamlit run app.py` of this checkout is started on a free localhost port with a fresh data folder and this
checkout's models/ (bench_app_big_photo.start_app), and driven by Playwright through Debian's Chromium
(/usr/bin/chromium), as tests/integration/test_browser.py does. The people are the two public-domain photos of
tests/fixtures/public_domain, several views of each (tests.support.app.photo_views). The flow, one browser
session: Analyze empty, then with a photo of both people; Family before the store exists, then unlocked with
one member enrolled; Analyze again (the member named); Explain; Video after analysing a panning clip; Live
playing Chromium's fake camera; Kept results; Governance; the Family page's erasure, confirmed; the Governance
bias audit's report on 100 fer4 faces (../shared/data/fer4; left out without them). After each step axe-core
(injected with add_script_tag into the page and its iframes; WCAG 2.0/2.1 A and AA rules plus best practices)
checks the whole document.

Each violation's elements are split into the framework's own (Streamlit's chrome: the sidebar, toolbar, its
widgets' inner structure) and Unveil's content (the pictures, headings, labels, text and links the pages
write), by `owner` below; the table says which, so a fix goes where it can be made.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_app_big_photo import CHROMIUM, OBSERVE_RUNS, app_in_chromium, idle  # noqa: E402
from tests.support.app import PUBLIC_DOMAIN, panning_video, photo_views, side_by_side  # noqa: E402

# Real faces for the bias audit's report (its step is left out where they are not).
FER4 = REPO.parent / "shared" / "data" / "fer4"
AXE = Path("/tmp/axe/node_modules/axe-core/axe.min.js")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PASSPHRASE = "correct horse battery staple"
MEMBER = "Grace Hopper"
WAIT_MS = 180_000
# Where a node is in Streamlit's own chrome rather than in what a page wrote: the sidebar's page links and its
# collapse button, the header toolbar, the status widget and the app's scrolling containers.
FRAMEWORK_PLACES = ("stSidebarNav", "stSidebarCollapse", "stSidebarHeader", "stToolbar", "stHeader", "stStatusWidget",
                    "stMainMenu", "stAppViewContainer", "stMain", "stDecoration", "stAppScrollToBottom",
                    # The file uploader's drop zone: Streamlit gives it role="presentation" and an aria-label.
                    "stFileUploaderDropzone")


def owner(node: dict) -> str:
    """"framework" for an element of Streamlit's chrome or of a widget's inner structure (its data-testid is one of
    FRAMEWORK_PLACES), "Unveil" for the rest: what the pages write."""
    return "framework" if any(f'data-testid="{place}"' in node["html"] for place in FRAMEWORK_PLACES) else "Unveil"


def check(page, axe: Path, name: str, rows: list[tuple[str, str, str, str, int, str]], *, settle: bool) -> None:
    """axe-core on the page as it is now (once no run is in progress, if `settle`: a playing live stream reruns
    the page all along); one row per (rule, owner) with its node count and first target."""
    if settle:
        idle(page)
    for frame in page.frames:  # components (the live video, the bias report) are iframes: axe checks inside them
        frame.add_script_tag(path=str(axe))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, iframes: true})", TAGS)
    if not result["violations"]:
        rows.append((name, "-", "-", "-", 0, ""))
    for violation in result["violations"]:
        by_owner: dict[str, list[dict]] = {}
        for node in violation["nodes"]:
            by_owner.setdefault(owner(node), []).append(node)
        for who, nodes in sorted(by_owner.items()):
            first = nodes[0]
            rows.append((name, violation["id"], violation["impact"] or "", who, len(nodes),
                         f"{' '.join(map(str, first['target']))} | {first['failureSummary'].splitlines()[-1].strip()}"
                         f" | {first['html'][:160]}"))


def flow(page, url: str, axe: Path, folder: Path) -> list[tuple[str, str, str, str, int, str]]:
    from playwright.sync_api import expect

    rows: list[tuple[str, str, str, str, int, str]] = []
    member = photo_views(PUBLIC_DOMAIN / "grace_hopper.jpg", folder / "people", 8)
    stranger = photo_views(PUBLIC_DOMAIN / "eileen_collins.jpg", folder / "people", 8)

    def go(title: str) -> None:
        page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
        page.wait_for_timeout(300)
        idle(page)

    def upload(label: str, files: list[tuple[str, bytes, str]]) -> None:
        uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
        uploader.locator('input[type="file"]').set_input_files(
            [{"name": name, "mimeType": mime, "buffer": data} for name, data, mime in files])
        page.wait_for_timeout(300)
        idle(page)

    def analyze_empty() -> None:
        page.goto(url)
        expect(page.get_by_role("heading", name="Analyze photos")).to_be_visible()
        page.evaluate(OBSERVE_RUNS)

    def analyze_photo() -> None:
        upload("Photos", [("group.jpg", side_by_side(member[4], stranger[4]), "image/jpeg")])
        expect(page.get_by_text("Face 2:")).to_be_visible()

    def family_new() -> None:
        go("Family")
        expect(page.get_by_label("Repeat the passphrase")).to_be_visible()

    def family_enrolled() -> None:
        page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
        page.get_by_label("Repeat the passphrase").fill(PASSPHRASE)
        page.get_by_role("button", name="Create the store").click()
        expect(page.get_by_text("Family store unlocked")).to_be_visible()
        idle(page)
        page.get_by_role("tab", name="Enrol a member").click()
        page.get_by_label("Name", exact=True).fill(MEMBER)
        page.get_by_label("Name", exact=True).press("Enter")
        idle(page)
        upload("Photos of this person", [(path.name, path.read_bytes(), "image/jpeg") for path in member[:4]])
        page.get_by_text("The person (or their guardian) has read what is stored and why, and agrees").click()
        idle(page)
        page.get_by_role("button", name="Enrol", exact=True).click()
        expect(page.get_by_text(f"Enrolled {MEMBER} with 4 face print(s)")).to_be_visible()

    def analyze_named() -> None:
        go("Analyze")
        page.get_by_role("button", name="Clear all").click()
        idle(page)
        upload("Photos", [("party.jpg", side_by_side(member[5], stranger[5]), "image/jpeg")])
        expect(page.get_by_text(MEMBER, exact=True).first).to_be_visible()

    def explain() -> None:
        go("Explain")
        expect(page.get_by_text("(predicted)")).to_be_visible()

    def video() -> None:
        go("Video")
        clip = panning_video([member[0], stranger[0]], folder / "pan.mp4", seconds=4.0)
        upload("Video", [("pan.mp4", clip, "video/mp4")])
        page.get_by_role("button", name="Analyze video").click()
        expect(page.get_by_text("Dominant emotion per person")).to_be_visible()

    def family_erase() -> None:
        go("Family")
        page.get_by_role("tab", name="Withdraw consent or erase").click()
        page.get_by_text(f"Yes, erase {MEMBER} for good").click()
        idle(page)
        expect(page.get_by_role("button", name="Erase", exact=True)).to_be_enabled()

    def live_playing() -> None:
        go("Live")
        frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
        frame.get_by_role("button", name=re.compile("start", re.IGNORECASE)).click()
        page.wait_for_function("() => /frames? analysed/.test(document.body.innerText)")

    def kept() -> None:
        page.frame_locator('iframe[title*="streamlit_webrtc"]').get_by_role(
            "button", name=re.compile("stop", re.IGNORECASE)).click()
        go("Kept results")

    def bias_report() -> None:
        go("Governance")
        page.get_by_role("tab", name="Bias audit").click()
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            for emotion in sorted(p for p in (FER4 / "test").iterdir() if p.is_dir()):
                for face in sorted(emotion.iterdir())[:25]:
                    zipped.write(face, f"audit/{emotion.name}/{face.name}")
        upload("Zip of the folder", [("audit.zip", archive.getvalue(), "application/zip")])
        page.get_by_role("button", name="Run the bias audit").click()
        expect(page.frame_locator("iframe").first.get_by_role("heading", name="Emotion bias audit")).to_be_visible()

    steps: list[tuple[str, Callable[[], None]]] = [("Analyze (empty)", analyze_empty), ("Analyze (2 faces)", analyze_photo),
             ("Family (no store yet)", family_new), ("Family (1 member enrolled)", family_enrolled),
             ("Analyze (member named)", analyze_named), ("Explain", explain), ("Video (analysed)", video),
             ("Live (playing)", live_playing), ("Kept results", kept),
             ("Governance", lambda: go("Governance")), ("Family (erase confirmed)", family_erase)]
    if (FER4 / "test").is_dir():
        steps.append(("Governance (bias report)", bias_report))
    for name, step in steps:
        step()
        if page.locator('[data-testid="stException"]').count():
            raise SystemExit(f"{name}: the app showed an exception")
        check(page, axe, name, rows, settle=not name.startswith("Live"))
        print(f"checked {name}", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--axe", type=Path, default=AXE, help="axe-core's axe.min.js (npm install axe-core)")
    parser.add_argument("--details", action="store_true", help="print each row's first node and how to fix it")
    args = parser.parse_args()
    for needed, how in ((CHROMIUM, "apt-get install -y chromium"), (args.axe, "npm install axe-core")):
        if not needed.is_file():
            raise SystemExit(f"{needed} not found: {how}")
    with tempfile.TemporaryDirectory(prefix="unveil-axe-") as tmp, \
            app_in_chromium(REPO, Path(tmp), WAIT_MS) as (page, url):
        rows = flow(page, url, args.axe, Path(tmp))
    version = args.axe.parent.joinpath("package.json").read_text().split('"version": "')[1].split('"')[0]
    print(f"axe-core {version}, rules tagged {', '.join(TAGS)}\n")
    print("| Page | Rule | Impact | Whose | Nodes |")
    print("|---|---|---|---|---|")
    for name, rule, impact, who, count, _ in rows:
        print(f"| {name} | {rule} | {impact} | {who} | {count} |")
    if args.details:
        print()
        for name, rule, _, who, _, detail in rows:
            if detail:
                print(f"{name} / {rule} / {who}: {detail}")


if __name__ == "__main__":
    main()
