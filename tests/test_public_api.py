"""The curated public API of the package."""

from __future__ import annotations

import reconciler


def test_all_is_sorted_and_complete() -> None:
    """`__all__` is sorted and every name in it exists."""
    assert list(reconciler.__all__) == sorted(reconciler.__all__)
    for name in reconciler.__all__:
        assert hasattr(reconciler, name), name
