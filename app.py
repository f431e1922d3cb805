"""Unveil, the local web app: `streamlit run app.py` (or `unveil app`, which works wherever Unveil is
installed). The pages are declared in unveil/app/router.py; .streamlit/config.toml keeps the app on
this machine (see unveil/app/launch.py)."""
from unveil.app.router import run

run()
