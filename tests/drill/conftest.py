"""The fault drills start a Patroni cluster and kill its primary: minutes, not the seconds `make test` allows a
test. They run under `make drill` (SIAGA_DRILL=1); `make test` deselects them (reported as deselected)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SIAGA_DRILL") == "1":
        return
    drills = [item for item in items if item.get_closest_marker("drill")]
    if drills:
        config.hook.pytest_deselected(items=drills)
        items[:] = [item for item in items if not item.get_closest_marker("drill")]
