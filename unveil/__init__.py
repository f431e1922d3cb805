"""Unveil's front ends: the `unveil` command line (unveil.cli) and the Streamlit app (unveil.app).

They lay out what governance/ and fer_core/ compute; nothing under fer_core/ or governance/ imports them.
"""
