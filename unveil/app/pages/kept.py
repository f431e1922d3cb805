"""Kept results: the analysis results kept in the encrypted store; open, download or delete each one."""
import pandas as pd
import streamlit as st

from fer_core import render
from governance import kept_results
from unveil.app import session as app_session
from unveil.app import tables
from unveil.app import widgets as _ui
from unveil.app.text import shown

FLASH = "kept_flash"  # what was deleted, shown after the rerun

st.title("Kept results")
st.caption("Results kept on the Analyze page: numbers and names only, never photos, encrypted on this machine. "
           "They are deleted after the retention period for analyses, and with any member they name.")

store = _ui.store()
if store is None:
    st.info(_ui.store_needed())
    st.stop()
if FLASH in st.session_state:
    st.success(shown(st.session_state.pop(FLASH)))

results = []
with _ui.friendly_errors("Reading the kept results"):
    results = kept_results.kept(store)
if not results:
    st.info('Nothing is kept. On the Analyze page, "Keep these results in the encrypted store" keeps them here.')
    st.stop()

st.caption(f"{app_session.plural(len(results), 'kept result')}, newest first.")
shown_page = _ui.page_picker("Kept results shown", len(results), tables.KEPT_PER_PAGE, "kept_page")
if len(shown_page) < len(results):
    st.caption(tables.KEPT_SHOWN.format(first=shown_page.start + 1, last=shown_page.stop, total=len(results)))
on_page = results[shown_page.start:shown_page.stop]
st.dataframe(tables.kept_table(on_page), hide_index=True)
by_id = {result.id: result for result in on_page}
labels = tables.kept_labels(results)  # numbered over all of them: a label names the same result on every page
chosen = by_id[st.selectbox("Open", list(by_id), format_func=lambda rid: labels[rid], key="kept_open")]

st.header(shown(labels[chosen.id]))
rows = tables.in_column_order(chosen.faces)
st.dataframe(pd.DataFrame(rows), hide_index=True)
csv_col, json_col = st.columns(2)
csv_col.download_button("Download CSV", render.records_csv(rows), file_name="unveil_kept_results.csv",
                        mime="text/csv", on_click="ignore", key="kept_csv")
json_col.download_button("Download JSON", render.records_json(rows), file_name="unveil_kept_results.json",
                         mime="application/json", on_click="ignore", key="kept_json")

# The tick box belongs to this one result: choosing another result shows it unticked.
sure = st.checkbox("Yes, delete this kept result", key=app_session.widget_key(st.session_state, "kept_delete", chosen.id))
if st.button("Delete", disabled=not sure, key="kept_delete_submit"):
    with _ui.friendly_errors("Deleting the kept result"):
        kept_results.delete(store, chosen.id)
        _ui.kept_result_deleted()
        st.session_state[FLASH] = f"Deleted the kept result {labels[chosen.id]}."
        st.rerun()
