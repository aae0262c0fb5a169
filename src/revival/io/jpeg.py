"""How hard a JPEG image was compressed: its quantisation tables on the H.264 QP scale.

JPEG images and Motion-JPEG video carry their quantisation tables in the file (DQT). The
table of the first component is matched to libjpeg's nearest scale of the standard's
example luminance table (ITU-T T.81 Annex K.1, which libjpeg's quality setting scales;
nearest in log steps, so a camera's or FFmpeg's own tables land on the same scale), and
that scale becomes an H.264-scale QP: the intra-coded x264 QP that loses as much RGB PSNR,
read off a curve measured over held-out training images by
``python benchmarks/deblock_strength_jpeg.py`` (``JPEG_CURVE_*``; libjpeg quality 50 is
QP 35, 90 is QP 23.5, 10 is QP 45). 12-bit JPEG gives None.
"""

from __future__ import annotations

import functools

import numpy as np

# measured by benchmarks/deblock_strength_jpeg.py (see the module text): log2 of
# libjpeg's scale / 100 (quality 95 .. 5) and the median x264 QP with the same PSNR
JPEG_CURVE_LOG2_SCALE = [-3.3219, -2.3219, -1.737, -1.3219, -0.737, -0.3219, 0.0, 0.3219,
                         0.7313, 1.0, 1.3219, 1.7355, 2.3219, 3.3219]
JPEG_CURVE_QP = [12.0, 23.5, 27.1, 29.2, 31.9, 33.8, 35.1, 36.3, 37.8, 38.9, 40.4, 42.4,
                 45.2, 51.0]

# the example luminance quantisation table of ITU-T T.81 Annex K.1, natural (row) order
K1_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)
# natural index of the k-th coefficient in the order DQT stores them (zig-zag)
ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63])
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_luma_table(data: bytes) -> tuple[np.ndarray, int] | None:
    """The quantisation table of a JPEG's first component, natural order, and its precision.

    ``data`` is a whole JPEG file (or one Motion-JPEG packet). Returns (64 float64 steps,
    sample bits), or None where the markers up to the first scan hold no table for that
    component.
    """
    if data[:2] != b"\xff\xd8":
        return None
    tables: dict[int, np.ndarray] = {}
    first_table = bits = None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None  # lost sync: not a marker where one must be
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        seg = data[i + 4:i + 2 + length]
        if marker == 0xDB:
            j = 0
            while j < len(seg):
                wide, tid = seg[j] >> 4, seg[j] & 15
                n = 128 if wide else 64
                if j + 1 + n > len(seg):
                    return None
                raw = np.frombuffer(seg[j + 1:j + 1 + n], dtype=">u2" if wide else np.uint8)
                table = np.empty(64, np.float64)
                table[ZIGZAG] = raw
                tables[tid] = table
                j += 1 + n
        elif marker in _SOF and len(seg) >= 9:
            bits, first_table = seg[0], seg[8]
        elif marker in (0xDA, 0xD9):  # start of scan, end of image
            break
        i += 2 + length
    if first_table is None or first_table not in tables:
        return None
    return tables[first_table], int(bits)


def jpeg_quantiser(data: bytes) -> float | None:
    """H.264-scale QP of a JPEG image from its luminance quantisation table (module text).

    None where the data hold no readable table.

    Example:
        >>> import cv2, numpy as np
        >>> ok, jpg = cv2.imencode(".jpg", np.zeros((16, 16), np.uint8),
        ...                        [cv2.IMWRITE_JPEG_QUALITY, 50])
        >>> round(jpeg_quantiser(jpg.tobytes()), 1)  # quality 50 is the K.1 table itself
        35.1
    """
    found = jpeg_luma_table(data)
    if found is None or found[1] != 8:  # 12-bit JPEG: libjpeg's scaling means another step
        return None
    x = float(np.log2(jpeg_table_scale(found[0]) / 100.0))
    xs, qps = JPEG_CURVE_LOG2_SCALE, JPEG_CURVE_QP
    if x < xs[0]:  # finer than quality 95: the last segment carried on
        qp = qps[0] + (x - xs[0]) * (qps[1] - qps[0]) / (xs[1] - xs[0])
    else:
        qp = float(np.interp(x, xs, qps))
    return min(51.0, max(0.0, qp))  # H.264's range


def jpeg_table_scale(table: np.ndarray) -> int:
    """libjpeg's percentage scale (quality 50 = 100, 90 = 20, 10 = 500) nearest a table.

    libjpeg makes each step ``floor((K1 * scale + 50) / 100)``, clamped to 1..255; the
    scale returned is the one whose table is nearest in log steps, which also places
    tables of other encoders (a camera's own) on the same scale.
    """
    cost = np.abs(_libjpeg_log_steps() - np.log(np.clip(table, 1, 255))[None, :]).sum(axis=1)
    return int(_SCALES[int(np.argmin(cost))])


_SCALES = np.arange(1, 5001, dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _libjpeg_log_steps() -> np.ndarray:
    """Log of libjpeg's table at every scale (5000 x 64), made once, when first needed."""
    return np.log(np.clip(np.floor((K1_LUMA[None, :] * _SCALES[:, None] + 50) / 100), 1, 255))
