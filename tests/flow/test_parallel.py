import threading

import cv2
import numpy as np
import pytest

from revival.flow.parallel import in_bands, run_all


@pytest.fixture
def two_threads():
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    yield
    cv2.setNumThreads(before)


def test_run_all_keeps_the_order_of_results(two_threads):
    names = run_all(lambda: threading.current_thread().name, lambda: "b", lambda: 3)
    assert names[0] == threading.current_thread().name  # the first job runs on the caller
    assert names[1:] == ["b", 3]


def test_run_all_raises_the_error_of_a_job_after_all_finished(two_threads):
    done = []

    def slow():
        done.append(1)

    def bad():
        raise ValueError("broken job")

    with pytest.raises(ValueError, match="broken job"):
        run_all(lambda: None, bad, slow)
    assert done == [1]


def test_one_opencv_thread_runs_everything_on_the_caller():
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        names = run_all(*[lambda: threading.current_thread().name] * 3)
    finally:
        cv2.setNumThreads(before)
    assert set(names) == {threading.current_thread().name}


@pytest.mark.parametrize("height", [1, 63, 64, 130, 721])
def test_bands_cover_every_row_once(two_threads, height):
    hits = np.zeros(height, int)
    lock = threading.Lock()

    def mark(a, b):
        with lock:
            hits[a:b] += 1

    in_bands(mark, height)
    assert (hits == 1).all()
