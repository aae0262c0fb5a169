from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: evaluation material is not part of a fresh clone."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip("../shared/data is absent (evaluation material is not part of the repository)")
    return data


@pytest.fixture(scope="session")
def shared_train() -> Path:
    train = SHARED / "train"
    if not train.is_dir():
        pytest.skip("../shared/train is absent (training material is not part of the repository)")
    return train
