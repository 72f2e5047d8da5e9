"""Tests of the repository itself: notebook rules, the install check, the workflows, the README."""
