from pathlib import Path

import cv2
import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")


def need_data(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"evaluation data not present: {path} (the shared data folder is "
                    "not checked out next to the repository)")
    return path


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return bgr[..., ::-1].astype(np.float32) / 255.0


@pytest.fixture
def textured():
    """A smooth random texture, (96, 128, 3) float32 in [0, 1]."""
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.random((96, 128, 3)).astype(np.float32), (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min())
    return img.astype(np.float32)


@pytest.fixture
def data():
    """``data("Set5", "GTmod12")`` -> path, or skip when the shared data is absent."""
    return need_data


@pytest.fixture
def rgb():
    """``rgb(path)`` -> float32 RGB image in [0, 1]."""
    return read_rgb
