"""The entry script `unveil app` hands to Streamlit (app.py is the same for `streamlit run app.py`)."""
from unveil.app.router import run

run()
