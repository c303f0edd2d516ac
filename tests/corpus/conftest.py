"""The external OPT corpus (``shared/reference/opt`` beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def reference_folder() -> Path | None:
    """``shared/reference/opt`` beside the repository (or beside a parent: git worktrees live deeper)."""
    if os.environ.get("OPENEHR_REFERENCE_OPT"):
        return Path(os.environ["OPENEHR_REFERENCE_OPT"])
    for parent in REPO.parents:
        candidate = parent / "shared" / "reference" / "opt"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    folder = reference_folder()
    if folder is None or not folder.is_dir():
        reason = f"external OPT corpus not found (looked for shared/reference/opt beside {REPO})"
        if os.environ.get("OPENEHR_REQUIRE_CORPUS") == "1":
            pytest.fail(reason + " and OPENEHR_REQUIRE_CORPUS=1")
        pytest.skip(reason)
    return folder
