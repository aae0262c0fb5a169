"""Colour difference: CIEDE2000 and Delta E_ITP (ITU-R BT.2124).

Frames carry no absolute colorimetry, so both metrics state their assumption:

* :func:`ciede2000` treats RGB as sRGB (IEC 61966-2-1 transfer, BT.709 primaries,
  D65) and compares CIELAB values with the CIEDE2000 formula (Sharma, Wu and
  Dalal 2005). About 1 is a just-noticeable difference.
* :func:`delta_e_itp` treats RGB as an SDR BT.709 signal shown on a BT.1886
  display (gamma 2.4, ``peak_nits`` white, black 0), converts to BT.2020, then to
  ICtCp with the PQ curve (BT.2100) and returns ``720 * |(dI, 0.5 dCt, dCp)|``.
  1 is about one just-noticeable difference.

Both return the mean over pixels; ``*_map`` give per-pixel values.

Example:
    >>> import numpy as np
    >>> a = np.full((4, 4, 3), 0.5, np.float32)
    >>> ciede2000(a, a, data_range=1.0), delta_e_itp(a, a, data_range=1.0)
    (0.0, 0.0)
"""

from __future__ import annotations

import numpy as np

from ._common import check_data_range, check_pair

_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_D65 = np.array([0.95047, 1.0, 1.08883])
_BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433],
                             [0.0691, 0.9195, 0.0114],
                             [0.0164, 0.0880, 0.8956]])
_RGB2020_TO_LMS = np.array([[1688, 2146, 262], [683, 2951, 462], [99, 309, 3688]]) / 4096.0
_LMS_TO_ICTCP = np.array([[2048, 2048, 0], [6610, -13613, 7003], [17933, -17390, -543]]) / 4096.0


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> CIELAB (D65), ``(..., 3)`` float64."""
    c = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _SRGB_TO_XYZ.T / _D65
    d = 6.0 / 29.0
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4.0 / 29.0)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def ciede2000_lab(lab1: np.ndarray, lab2: np.ndarray, *, kl: float = 1.0, kc: float = 1.0,
                  kh: float = 1.0) -> np.ndarray:
    """CIEDE2000 between CIELAB arrays ``(..., 3)`` (Sharma et al. 2005, eqs. 1-17)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(cbar7 / (cbar7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360)
    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    lbp = (l1 + l2) / 2
    cbp = (c1p + c2p) / 2
    hsum = h1p + h2p
    hbp = np.where(np.abs(h1p - h2p) > 180,
                   np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2), hsum / 2)
    hbp = np.where(c1p * c2p == 0, hsum, hbp)
    t = (1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp))
         + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63)))
    dtheta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    cbp7 = cbp ** 7
    rc = 2 * np.sqrt(cbp7 / (cbp7 + 25.0 ** 7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / np.sqrt(20 + (lbp - 50) ** 2)
    sc = 1 + 0.045 * cbp
    sh = 1 + 0.015 * cbp * t
    rt = -np.sin(np.radians(2 * dtheta)) * rc
    tl, tc, th = dlp / (kl * sl), dcp / (kc * sc), dhp / (kh * sh)
    return np.sqrt(tl ** 2 + tc ** 2 + th ** 2 + rt * tc * th)


def ciede2000_map(reference: np.ndarray, distorted: np.ndarray, *, data_range: float) -> np.ndarray:
    """Per-pixel CIEDE2000 ``(H, W)`` of two sRGB images in ``[0, data_range]``."""
    ref, dis = check_pair(reference, distorted)
    r = check_data_range(data_range)
    return ciede2000_lab(srgb_to_lab(ref / r), srgb_to_lab(dis / r))


def ciede2000(reference: np.ndarray, distorted: np.ndarray, *, data_range: float) -> float:
    """Mean CIEDE2000 over pixels (the ``de2000`` key).

    Args:
        reference, distorted: ``(H, W, 3)`` sRGB in ``[0, data_range]``, same shape.
        data_range: nominal peak.

    Returns:
        Mean colour difference; 0 for identical images.
    """
    return float(ciede2000_map(reference, distorted, data_range=data_range).mean())


def pq_inverse_eotf(nits: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 / BT.2100 PQ: absolute luminance (cd/m^2) -> signal in [0, 1]."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    y = np.clip(np.asarray(nits, dtype=np.float64) / 10000.0, 0.0, 1.0) ** m1
    return ((c1 + c2 * y) / (1 + c3 * y)) ** m2


def rgb_to_itp(rgb: np.ndarray, *, peak_nits: float = 100.0) -> np.ndarray:
    """SDR BT.709 RGB in [0, 1] -> ITP ``(..., 3)`` (BT.2124: T = 0.5 Ct)."""
    c = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    lin2020 = (c ** 2.4 * peak_nits) @ _BT709_TO_BT2020.T
    lms = pq_inverse_eotf(lin2020 @ _RGB2020_TO_LMS.T)
    ictcp = lms @ _LMS_TO_ICTCP.T
    return ictcp * np.array([1.0, 0.5, 1.0])


def delta_e_itp_map(reference: np.ndarray, distorted: np.ndarray, *, data_range: float,
                    peak_nits: float = 100.0) -> np.ndarray:
    """Per-pixel Delta E_ITP ``(H, W)``."""
    ref, dis = check_pair(reference, distorted)
    r = check_data_range(data_range)
    d = rgb_to_itp(ref / r, peak_nits=peak_nits) - rgb_to_itp(dis / r, peak_nits=peak_nits)
    return 720.0 * np.sqrt(np.sum(d * d, axis=-1))


def delta_e_itp(reference: np.ndarray, distorted: np.ndarray, *, data_range: float,
                peak_nits: float = 100.0) -> float:
    """Mean Delta E_ITP (ITU-R BT.2124) over pixels (the ``deitp`` key).

    Args:
        reference, distorted: ``(H, W, 3)`` BT.709 SDR RGB in ``[0, data_range]``.
        data_range: nominal peak.
        peak_nits: display white in cd/m^2 (BT.2124 / BT.2408 use 100 for SDR reference white).

    Returns:
        Mean difference; 1 is about one just-noticeable step.
    """
    return float(delta_e_itp_map(reference, distorted, data_range=data_range,
                                 peak_nits=peak_nits).mean())
