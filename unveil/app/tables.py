"""Table view models of the app's pages: members, consent ledger, audit log, kept results, erasure
previews and receipts, as pandas tables or sentences. Plain functions, tested without Streamlit.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import pandas as pd

from governance import retention
from governance.consent import decides_for_themself, local_day, until_day
from unveil.app.session import plural
from unveil.app.text import shown


def members_table(members: Sequence[Any], zone: tzinfo | None = None) -> pd.DataFrame:
    """governance.family.members() as a table: who, consent status and expiry (the day it ends on the user's calendar,
    in `zone`, None: this machine's), what is stored."""
    rows = [{
        "name": m.name,
        "consent": m.consent_status,
        "expires": until_day(m.consent, zone).isoformat() if m.consent else "",
        "given by": f"{m.consent.given_by} ({m.consent.relation})" if m.consent else "",
        "scope": m.consent.scope if m.consent else "",
        "face prints": m.embeddings,
        "thumbnails": m.thumbnails,
        "enrolled": m.enrolled_at.strftime("%Y-%m-%d %H:%M UTC"),
        "last seen": m.last_seen_at.strftime("%Y-%m-%d %H:%M UTC"),
    } for m in members]
    return pd.DataFrame(rows, columns=["name", "consent", "expires", "given by", "scope", "face prints", "thumbnails",
                                       "enrolled", "last seen"])


def ledger_table(rows: Sequence[Any], zone: tzinfo | None = None) -> pd.DataFrame:
    """governance.consent.ledger() as a table, one row per enrolled person; its dates are days of the user's calendar
    (in `zone`, None: this machine's): a consent given at 09:00 in Auckland was given that day, not the day before as
    its UTC date says."""
    out = []
    for row in rows:
        record = row.record
        out.append({
            "person": row.name,
            "status": row.status,
            "given by": record.given_by if record else "",
            "relation": record.relation if record else "",
            "child": record.subject_is_child if record else None,
            "purpose": record.purpose if record else "",
            "scope": record.scope if record else "",
            "given": local_day(record.given_at, zone).isoformat() if record else "",
            "expires": until_day(record, zone).isoformat() if record else "",
            # A guardian's consent: from which day the person decides for themself, or NO_ADULT_DATE.
            "decides for themself": (decides_for_themself(record, zone) or "") if record else "",
        })
    return pd.DataFrame(out, columns=["person", "status", "given by", "relation", "child", "purpose", "scope", "given",
                                      "expires", "decides for themself"])


# The Governance page shows the newest entries of the audit log only: drawn whole, a log of a million entries (a few
# years of a camera counting each appearance) took 60 s and 1.4 GiB to check and draw (docs/reports/audit_log_growth.md).
# Above the members list and the erase tab when governance.family.members left some out (a damaged row, a destroyed
# key): a page that only listed the others would drop them silently. Said as `unveil family list` says it, with what
# to do; damage is never a reason to delete or change anything.
MEMBERS_NOT_READ = ("{count} member(s) could not be read (damaged, or their key destroyed), so they are not listed "
                    "here; nothing was deleted. `unveil family check` lists them by id, and `unveil family purge ID` "
                    "still erases one. To get them back, restore the store from a backup made before the damage, with "
                    "every Unveil program closed (README, \"Backing up, restoring, moving to a new computer\").")
AUDIT_ROWS_SHOWN = 1000
AUDIT_OLDER = "The newest {shown:,} of {total:,} entries; `unveil audit list` prints them all."


def audit_table(entries: Sequence[Any]) -> pd.DataFrame:
    """Audit log entries, newest first, with the fields `unveil audit log` shows
    (governance.audit_log.shown_entry): a person shows by name only while enrolled and the store is
    unlocked; once erased, only "[erased]" and the first characters of their random id remain."""
    from governance.audit_log import ShownEntry, shown_entry

    columns = [field.name for field in dataclasses.fields(ShownEntry)]
    rows = [dataclasses.asdict(shown_entry(entry)) for entry in reversed(list(entries))]
    return pd.DataFrame(rows, columns=columns)


def model_cards(folder: Path) -> list[tuple[str, str]]:
    """(model name, card markdown) for every card (*.md) next to the shipped models, sorted by name."""
    return [(path.stem, path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.md"))]


def in_column_order(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Face rows with their columns in face_records' order (source, face, box, score, emotion, p_*,
    identity), as they were shown when kept: the store gives them back with their keys sorted."""
    first = ["source", "face", "x", "y", "w", "h", "score", "emotion"]
    out = []
    for row in rows:
        probabilities = sorted(key for key in row if key.startswith("p_"))
        rest = [key for key in row if key not in first and key not in probabilities and key != "identity"]
        order = [key for key in first if key in row] + probabilities + rest + (["identity"] if "identity" in row else [])
        out.append({key: row[key] for key in order})
    return out


# The Analyze page draws the photos of one page at a time: each photo is a picture, a chart per face and a few widgets
# (about 13 elements), all sent to the browser again on every click: 616 elements for 45 photos, 2,700 for 200
# (docs/reports/heavy_use.md). The results table and the downloads hold every photo.
PHOTOS_PER_PAGE = 20
PHOTOS_SHOWN = "Showing photos {first}-{last} of {total}; the results table and the downloads below hold all of them."


# The Kept results page lists one page of kept results, and offers only those in its "Open" picker: drawn whole, 5,000
# kept results were a table of 395 KiB and a picker of 5,000 options sent on every click, 50,000 about 4 MB
# (docs/reports/heavy_use.md). A row is one line of text, so a page holds more of them than of photos.
KEPT_PER_PAGE = 50
KEPT_SHOWN = "Showing kept results {first}-{last} of {total}."


def page_ranges(total: int, per_page: int = PHOTOS_PER_PAGE) -> list[range]:
    """The items (their indexes in the page's list: the Analyze page's photos, the kept results) of each page, in
    order."""
    return [range(start, min(start + per_page, total)) for start in range(0, total, per_page)]


def page_label(page: range, total: int) -> str:
    """A page as its picker names it: "21-40 of 200"."""
    return f"{page.start + 1}-{page.stop} of {total}"


def kept_label(result: Any) -> str:
    """One kept result (governance.kept_results.KeptResult) in a line: when, which photos, how many faces."""
    return f"{result.kept_at:%Y-%m-%d %H:%M} UTC: {', '.join(result.photos)} ({plural(len(result.faces), 'face')})"


def distinct(labels: Iterable[str], numbered: str = "{number}: {label}") -> list[str]:
    """The labels, each made unique (a selectbox's options: Streamlit keeps a choice by its text, so of
    two options with the same text the last is always the one chosen). The first of equal texts keeps its
    own; the next ones are numbered by `numbered` ("2: camera.jpg", "3: camera.jpg"), so one added later
    renames none before it."""
    out: list[str] = []
    for label in labels:
        text, number = label, 1
        while text in out:
            number += 1
            text = numbered.format(number=number, label=label)
        out.append(text)
    return out


def kept_labels(results: Sequence[Any]) -> dict[str, str]:
    """Each kept result's id -> its kept_label, made unique: two kept in the same minute, from photos of the
    same names and with as many faces, read alike. Numbered in the order they were kept."""
    oldest_first = list(reversed(results))
    return dict(zip([r.id for r in oldest_first], distinct([kept_label(r) for r in oldest_first])))


def kept_table(results: Sequence[Any]) -> pd.DataFrame:
    """Kept results as a table, one row each: when kept, the photos, how many faces, who is named."""
    rows = [{"kept (UTC)": r.kept_at.strftime("%Y-%m-%d %H:%M"), "photos": ", ".join(r.photos), "faces": len(r.faces),
             "names": ", ".join(r.names)} for r in results]
    return pd.DataFrame(rows, columns=["kept (UTC)", "photos", "faces", "names"])


# A purge destroys the data key in the store only: a backup made before holds its own copy (governance.backup).
ERASED_KEY = ("{name}'s data key, so nothing of theirs can be read in the store again; a backup made before now still "
              "holds them (delete it for the erasure to reach it)")


# What named a member outside the store before it is erased, which erasing them cannot reach (docs/home_assistant.md:
# Home Assistant's history and entity registry keep names past the sensor's removal).
OUTSIDE_THE_STORE = ("not what named {name} outside the store before: results downloaded from the app, `unveil watch "
                     "--jsonl` files, MQTT messages and Home Assistant's history (delete them there)")


def erasure_lines(preview: Any) -> list[str]:
    """What erasing a member deletes (governance.family.ErasurePreview), one line per kind, for the page to
    say before the click, including kept results that also name other members, and last what it does not reach
    (OUTSIDE_THE_STORE)."""
    name = preview.name
    stored = (f"{name}'s name, {plural(preview.consents, 'consent record')}, "
              f"{plural(preview.embeddings, 'face print')} and {plural(preview.thumbnails, 'thumbnail')}")
    lines = [stored, ERASED_KEY.format(name=name)]
    if preview.analyses:
        line = f"{plural(preview.analyses, 'kept result')} naming {name}"
        if preview.also_named:
            others = ", ".join(preview.also_named)
            verb = "names" if preview.analyses == 1 else "name"
            line += (f", which also {verb} {others}: a kept result is erased whole with anyone it names, "
                     f"so what it holds about {others} goes too")
        lines.append(line)
    return [*lines, OUTSIDE_THE_STORE.format(name=name)]


# The fewest days each kind may be kept for (governance.retention.set_policy): 0 deletes thumbnails or kept
# results at the next sweep, but members must be kept at least a day (retention.UNSEEN_PEOPLE_ZERO).
RETENTION_MIN_DAYS = {"unseen_people": 1, "thumbnails": 0, "analyses": 0}


def retention_days_shown(kind: str, days: int | None) -> int | None:
    """What the retention form's days field shows for `kind`: the stored number, 0 included; for a kind
    kept until erased by hand (None), its default, which applies if the tick is taken away."""
    return retention.DEFAULT_DAYS[kind] if days is None else days


# What the store's counts, the retention sweep and erasure receipts call each kind of record, in words:
# (one, several).
_KINDS = {
    "person": ("member", "members"), "people": ("member", "members"), "embeddings": ("face print", "face prints"),
    "consents": ("consent record", "consent records"), "audit": ("audit entry", "audit entries"),
    "data_key": ("data key", "data keys"), "data_keys": ("data key", "data keys"),
    **retention.REMOVAL_WORDS,  # thumbnails, kept results (analyses), and members by the reason they went
}


def counted(counts: Mapping[str, int], *, skip_zero: bool = False) -> str:
    """Counts per kind of record in words: "1 member, 4 face prints, 1 kept result" (an embedding is a "face print"
    to a household, as on the Family page)."""
    words = []
    for kind, count in counts.items():
        if count or not skip_zero:
            one, many = _KINDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
            words.append(plural(count, one, many))
    return ", ".join(words)


# The last lines of every receipt shown: what it speaks for (governance.erasure.ABOUT, which the downloaded file
# holds), and how to check it later (governance.receipts).
RECEIPT_REACH = ("- Not reached: backups made before it, and what named them outside the store before (results "
                 "downloaded from the app, `unveil watch --jsonl` files, MQTT messages, Home Assistant's history)")
RECEIPT_CHECK = ("- To check it later: download it, then paste or upload it under \"Check a deletion receipt\" on "
                 "the Governance page, or run `unveil audit receipt FILE`")


def receipt_text(who: str, receipt: Any) -> str:
    """A deletion receipt (governance.erasure.ErasureReceipt) as a few lines of Markdown a person can read;
    `who` is the name the page knew, which the receipt itself never holds (shown as written, never as Markdown)."""
    erased_at = datetime.fromisoformat(receipt.erased_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    subject = "everything in the store" if receipt.subject == "everything" else f"{shown(who)} (id {receipt.subject[:8]}...)"
    return "\n".join([
        f"**Deletion receipt**: {subject}",
        f"- Reason: {receipt.reason}; erased at {erased_at}",
        f"- Deleted: {counted(receipt.records)}",
        f"- Logged as audit entry {receipt.audit_seq}, with this receipt's SHA-256: `{receipt.digest}`",
        f"- Freed storage overwritten: {'yes' if receipt.storage_scrubbed else 'not yet (another session was reading)'}",
        RECEIPT_REACH,
        RECEIPT_CHECK,
    ])


SWEPT = "Sweep at {ran_at}: removed {removed}."


def sweep_text(report: Any) -> str:
    """What a retention sweep (governance.retention.SweepReport) removed, its time written as the receipts and
    tables write times (the report holds it in ISO form, '2026-12-06T15:44:32+00:00')."""
    ran_at = datetime.fromisoformat(report.ran_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    return SWEPT.format(ran_at=ran_at, removed=counted(report.removed, skip_zero=True) or "nothing")


UNNAMED = "a member whose name could not be read"
SWEEP_ERASED = "The retention sweep erased {names}. Their receipts:"


def sweep_receipts(report: Any) -> list[tuple[str, Any]]:
    """(who, receipt) for each member a retention sweep (governance.retention.SweepReport) erased: the name the sweep
    read before erasing them, as the receipt of an erasure by hand is shown with the name the page knew."""
    return [(UNNAMED if who is None else who, receipt) for who, receipt in report.named_receipts()]


def sweep_erased_text(named: list[tuple[str, Any]]) -> str:
    """Who the sweeps erased, and why, in one line over their receipts (names shown as written, never as Markdown)."""
    return SWEEP_ERASED.format(names=", ".join(f"{shown(who)} ({receipt.reason})" for who, receipt in named))
