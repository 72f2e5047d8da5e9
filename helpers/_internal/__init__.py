"""Plumbing that lessons use but are not about."""
