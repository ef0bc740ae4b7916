"""Tests of reconciler.client (package so helpers import as .conftest)."""
