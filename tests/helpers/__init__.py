"""Tests of `helpers`."""
