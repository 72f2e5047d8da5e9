"""Tests of `course`."""
