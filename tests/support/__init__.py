"""Helpers and fixtures shared by the tests (never imported by the product)."""
