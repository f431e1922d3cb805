"""Governance: consent ledger, retention, audit log, bias audit and model cards."""
from pathlib import Path

import streamlit as st

from fer_core.model_files import models_dir
from governance import audit_log, consent, retention
from unveil.app import bias_upload, receipt_check, tables
from unveil.app import widgets as _ui
from unveil.app.enrolment import user_zone
from unveil.app.text import shown

BIAS_REPORT = "governance_bias_report"
ZIP_UPLOAD = "Upload a zip"
ON_THIS_MACHINE = "A folder or manifest on this machine"

st.title("Governance")

ledger_tab, retention_tab, audit_tab, bias_tab, cards_tab = st.tabs(
    ["Consent ledger", "Retention", "Audit log", "Bias audit", "Model cards"])

store = _ui.store()
LOCKED = _ui.store_needed()
READING_RETENTION = "Reading the retention policy"

# ----------------------------------------------------------------------------------- consent ledger
with ledger_tab:
    st.write("Who consented to being recognised, for what, and until when. The latest record of each person governs.")
    if store is None:
        st.info(LOCKED)
    else:
        with _ui.friendly_errors("Reading the consent ledger"):
            rows = consent.ledger(store)
            if rows:
                st.dataframe(tables.ledger_table(rows, user_zone(st.context.timezone)), hide_index=True)
            else:
                st.info("No one is enrolled, so no consent is recorded.")

# ----------------------------------------------------------------------------------- retention
with retention_tab:
    if store is None:
        st.info(LOCKED)
    else:
        st.write("How long each kind of data is kept. A person whose consent expired is always erased. "
                 "The sweep runs whenever the store is unlocked, and here on demand.")
        current = None
        with _ui.friendly_errors(READING_RETENTION):
            current = retention.policy(store)
        # What is stored is written last, in its place here: a sweep below (Sweep now, the date confirmed) changes it.
        stored = st.empty()
        if current is not None:
            with st.form("retention_policy"):
                chosen = {}
                for kind, description in retention.KINDS.items():
                    left, right = st.columns([1, 2])
                    # Keyed by the stored value too: once it changes (here or in another session) the fields
                    # are drawn again from it, so a stale one is never saved back.
                    keep = left.checkbox(f"Keep {kind.replace('_', ' ')} until erased by hand", current[kind] is None,
                                         key=f"retention_forever_{kind}_{current[kind]}")
                    days = right.number_input(f"{kind.replace('_', ' ')}: days ({description})",
                                              tables.RETENTION_MIN_DAYS[kind], retention.MAX_DAYS,
                                              tables.retention_days_shown(kind, current[kind]),
                                              key=f"retention_days_{kind}_{current[kind]}")
                    chosen[kind] = None if keep else int(days)
                if st.form_submit_button("Save the policy"):
                    with _ui.friendly_errors("Saving the retention policy"):
                        changed = [kind for kind in retention.KINDS if chosen[kind] != current[kind]]
                        for kind in changed:
                            retention.set_policy(store, kind, chosen[kind])
                        st.success(f"Saved ({len(changed)} change(s))." if changed else "Nothing changed.")
        if st.button("Sweep now", key="retention_sweep"):
            with _ui.friendly_errors("Applying the retention policy"):
                _ui.sweep()
        _ui.sweep_date_question("retention_date_confirm")
        _ui.sweep_receipts("retention_sweep_dismiss")
        with _ui.friendly_errors(READING_RETENTION):
            stored.caption(f"Stored now: {tables.counted(store.counts())}.")

# ----------------------------------------------------------------------------------- audit log
with audit_tab:
    if store is None:
        st.info(LOCKED)
    else:
        with _ui.friendly_errors("Checking the audit log"):
            result = audit_log.verify(store)
            (st.success if result.ok else st.error)(audit_log.describe(result))
            newest = audit_log.entries(store, newest=tables.AUDIT_ROWS_SHOWN)
            st.dataframe(tables.audit_table(newest), hide_index=True)
            total = store.counts()["audit"]
            if total > len(newest):
                st.caption(tables.AUDIT_OLDER.format(shown=len(newest), total=total))
        st.subheader(receipt_check.TITLE)
        st.write(receipt_check.HOW)
        pasted = st.text_area(receipt_check.PASTE, key="receipt_text")
        uploaded = st.file_uploader(receipt_check.UPLOAD, type=["json"], key="receipt_file")
        given = uploaded.getvalue() if uploaded is not None else pasted
        if st.button(receipt_check.BUTTON, key="receipt_check", disabled=not given.strip()):
            with _ui.friendly_errors("Checking the receipt"):
                genuine, said = receipt_check.check(store, given)
                (st.success if genuine else st.error)(said)

# ----------------------------------------------------------------------------------- bias audit
with bias_tab:
    st.write(bias_upload.BIAS_INTRO)
    origin = st.radio("Audit set", [ZIP_UPLOAD, ON_THIS_MACHINE], horizontal=True, key="bias_origin")
    if origin == ZIP_UPLOAD:
        archive = st.file_uploader("Zip of the folder or of the manifest with its photos", type=["zip"],
                                   key="bias_zip", help="Unpacked into a private temporary folder, deleted after "
                                                        "the audit.")
        ready = archive is not None
    else:
        source = st.text_input("Folder or .csv manifest on this machine", key="bias_source",
                               help=bias_upload.SOURCE_HELP)
        ready = bool(source.strip())
    left, middle, right = st.columns(3)
    min_group = left.number_input("Smallest group compared", 5, 1000, 30, key="bias_min_group",
                                  help=bias_upload.MIN_GROUP_HELP)
    gap = middle.number_input("Flag a gap worse than", 0.01, 0.5, 0.05, 0.01, key="bias_gap",
                              help=bias_upload.GAP_HELP)
    n_boot = right.number_input("Bootstrap resamples", 100, 5000, 1000, 100, key="bias_n_boot",
                                help=bias_upload.N_BOOT_HELP)
    if st.button("Run the bias audit", type="primary", key="bias_run", disabled=not ready):
        settings = {"min_group_size": int(min_group), "gap_threshold": float(gap), "n_boot": int(n_boot)}
        # The last report stays shown until a new one is complete: a bad upload loses nothing.
        with _ui.friendly_errors("Running the bias audit"), st.spinner("Auditing (about a minute for 2,500 faces)..."):
            if origin == ZIP_UPLOAD:
                with bias_upload.unpacked_audit_set(archive.getvalue(), archive.name) as unpacked:
                    st.session_state[BIAS_REPORT] = bias_upload.bias_audit_report(unpacked, **settings)
            else:
                st.session_state[BIAS_REPORT] = bias_upload.bias_audit_report(Path(source.strip()).expanduser(), **settings)
    report = st.session_state.get(BIAS_REPORT)
    if report is not None:
        audit = report.audit
        st.header(f"Emotion bias audit: {audit.size} faces")
        st.dataframe(bias_upload.bias_overall_table(audit), hide_index=True)
        said, compared, sentences = bias_upload.bias_coverage(audit)
        if said is None:
            st.warning(f"{len(audit.flags)} group(s) flagged:")
            st.dataframe(bias_upload.bias_flags_table(audit), hide_index=True)
        elif compared:
            st.success(shown(said))
        else:
            st.warning(shown(said))
        st.markdown("\n".join(f"- {shown(sentence)}" for sentence in sentences))
        html_col, json_col, rows_col = st.columns(3)
        html_col.download_button("Report (HTML)", report.html, file_name="emotion_bias_audit.html", mime="text/html",
                                 on_click="ignore")
        json_col.download_button("Numbers (JSON)", report.json, file_name="emotion_bias_audit.json",
                                 mime="application/json", on_click="ignore")
        rows_col.download_button("Per-face rows (CSV)", report.rows_csv, file_name="emotion_bias_audit_rows.csv",
                                 mime="text/csv", on_click="ignore")
        # The report is our own HTML (values escaped by governance.bias_audit), with its plots inline.
        st.iframe(report.html, height=900, alt="Emotion bias audit report with per-group plots")

# ----------------------------------------------------------------------------------- model cards
with cards_tab:
    cards = tables.model_cards(models_dir())
    if not cards:
        st.info(f"No model card found in {models_dir()}.")
    for name, text in cards:
        with st.expander(name):
            st.markdown(text)
