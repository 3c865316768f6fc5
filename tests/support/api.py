"""Helpers for the mautic_api tests."""

from __future__ import annotations

from typing import Any

from mautic_api.answers import BatchItemResult


def batch_item(result: BatchItemResult) -> dict[str, Any]:
    """The row a batch item carries, for a test that knows the item succeeded: none fails the test here."""
    assert result.item is not None, result
    return result.item
