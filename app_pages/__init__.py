"""The pages of the Unveil app (see app.py); each holds layout only."""
