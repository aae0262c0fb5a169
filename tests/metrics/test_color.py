import numpy as np
import pytest

from revival.metrics.color import (ciede2000, ciede2000_lab, delta_e_itp, pq_inverse_eotf,
                                   srgb_to_lab)

# Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula:
# implementation notes, supplementary test data ...", Table 1 (pairs 1, 7, 17, 19, 25, 31).
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
]


@pytest.mark.parametrize("lab1,lab2,expect", SHARMA)
def test_ciede2000_sharma_table(lab1, lab2, expect):
    assert ciede2000_lab(np.array(lab1), np.array(lab2)) == pytest.approx(expect, abs=1e-4)
    assert ciede2000_lab(np.array(lab2), np.array(lab1)) == pytest.approx(expect, abs=1e-4)


def test_srgb_to_lab_reference_points():
    assert srgb_to_lab(np.array([1.0, 1.0, 1.0])) == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    # sRGB red, D65: L* 53.24, a* 80.09, b* 67.20 (standard colorimetry tables)
    assert srgb_to_lab(np.array([1.0, 0.0, 0.0])) == pytest.approx([53.24, 80.09, 67.20], abs=0.01)


def test_image_level_values():
    a = np.full((4, 4, 3), 0.5)
    assert ciede2000(a, a, data_range=1.0) == 0.0
    b = a.copy()
    b[..., 0] = 0.6
    assert ciede2000(a, b, data_range=1.0) > 1.0


def test_delta_e_itp_greys_are_pq_steps():
    # For achromatic input L = M = S = Y, so Ct = Cp = 0 and dE_ITP = 720 |PQ(Y1) - PQ(Y2)|.
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32

    def pq(nits):
        y = (nits / 10000) ** m1
        return ((c1 + c2 * y) / (1 + c3 * y)) ** m2

    v1, v2 = 0.5, 0.52
    a = np.full((2, 2, 3), v1)
    b = np.full((2, 2, 3), v2)
    expect = 720 * abs(pq(100 * v1 ** 2.4) - pq(100 * v2 ** 2.4))
    assert delta_e_itp(a, b, data_range=1.0) == pytest.approx(expect, rel=1e-3)
    assert pq_inverse_eotf(np.array(10000.0)) == pytest.approx(1.0)
    assert pq_inverse_eotf(np.array(100.0)) == pytest.approx(0.5081, abs=1e-4)


def test_delta_e_itp_sees_hue_shift():
    a = np.full((2, 2, 3), [0.6, 0.4, 0.3])
    b = np.full((2, 2, 3), [0.6, 0.45, 0.3])
    assert delta_e_itp(a, b, data_range=1.0) > 1.0
