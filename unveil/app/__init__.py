"""The Streamlit app: the router (`router.run`), its pages (unveil/app/pages/, layout only) and the
plain functions behind them (photos, enrolment, tables, explain_view, bias_upload, session), which are
tested without Streamlit. `unveil app` starts it with the privacy settings of `launch.SETTINGS`."""
