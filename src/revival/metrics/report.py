"""Self-contained HTML quality report for a :class:`~.compare.CompareResult`.

One file, no external resources: a metrics table, per-frame plots (inline SVG),
the worst frame pair as before/after crops with a zoomed detail, and a temporal
profile (the middle row of every frame stacked over time, so flicker shows as
horizontal bands and judder as broken diagonals). Images are base64 PNG.

Example:
    >>> from revival.metrics.compare import compare  # doctest: +SKIP
    >>> html = render_html(compare("ref.mp4", "out.mp4", keep_visuals=True))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import logging
import math
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..errors import ConfigError, OutputPathError
from .registry import BY_KEY

log = logging.getLogger(__name__)

CROP = 256
ZOOM_SRC = 48
ZOOM = 5
_PLOT_W, _PLOT_H = 560, 150


def _png_b64(rgb: np.ndarray) -> str:
    u8 = np.clip(np.rint(np.asarray(rgb, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(u8[..., ::-1]))
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
        raise ConfigError("could not encode a report image as PNG", key="report")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _img(rgb: np.ndarray, alt: str, *, width: int | None = None) -> str:
    style = f' width="{width}"' if width else ""
    return (f'<img alt="{html.escape(alt)}" src="{_png_b64(rgb)}"{style} '
            'style="image-rendering:pixelated">')


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if math.isinf(v):
        return "inf"
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"


def _svg_plot(series: dict[str, list[float | None]], *, title: str, unit: str) -> str:
    """A small line chart; ``series`` maps a legend name to per-frame values (None = gap)."""
    colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    finite = [v for vals in series.values() for v in vals
              if v is not None and math.isfinite(v)]
    if not finite:
        return f"<p>{html.escape(title)}: no finite values</p>"
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5 * (abs(lo) + 1e-3), hi + 0.5 * (abs(hi) + 1e-3)
    n = max(len(v) for v in series.values())
    pad_l, pad_b, pad_t = 56, 20, 18
    w, h = _PLOT_W - pad_l - 8, _PLOT_H - pad_b - pad_t

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + (w * i / max(n - 1, 1))
        y = pad_t + h * (1 - (v - lo) / (hi - lo))
        return x, y

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_PLOT_W}" height="{_PLOT_H}" '
             f'role="img" aria-label="{html.escape(title)}">',
             f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fafafa" stroke="#999"/>',
             f'<text x="{pad_l}" y="12" font-size="12">{html.escape(title)}'
             f'{" (" + html.escape(unit) + ")" if unit else ""}</text>',
             f'<text x="4" y="{pad_t + 10}" font-size="10">{_fmt(hi)}</text>',
             f'<text x="4" y="{pad_t + h}" font-size="10">{_fmt(lo)}</text>',
             f'<text x="{pad_l}" y="{_PLOT_H - 4}" font-size="10">frame 0</text>',
             f'<text x="{pad_l + w - 50}" y="{_PLOT_H - 4}" font-size="10">frame {n - 1}</text>']
    for k, (name, vals) in enumerate(series.items()):
        col = colours[k % len(colours)]
        segments, cur = [], []
        for i, v in enumerate(vals):
            if v is None or not math.isfinite(v):
                if cur:
                    segments.append(cur)
                cur = []
            else:
                cur.append(xy(i, v))
        if cur:
            segments.append(cur)
        for seg in segments:
            if len(seg) == 1:
                parts.append(f'<circle cx="{seg[0][0]:.1f}" cy="{seg[0][1]:.1f}" r="2" fill="{col}"/>')
            else:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
                parts.append(f'<polyline fill="none" stroke="{col}" stroke-width="1.5" points="{pts}"/>')
        parts.append(f'<text x="{pad_l + w - 90 * (len(series) - k)}" y="12" font-size="11" '
                     f'fill="{col}">&#9472; {html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _crop_box(ref: np.ndarray, dist: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """Top-left (y, x) and size (h, w) of the crop with the largest local error."""
    h, w = ref.shape[:2]
    ch, cw = min(size, h), min(size, w)
    err = np.abs(ref.astype(np.float32) - dist.astype(np.float32)).mean(axis=2)
    if err.max() <= 0:
        return (h - ch) // 2, (w - cw) // 2, ch, cw
    box = cv2.boxFilter(err, -1, (cw, ch), normalize=True, borderType=cv2.BORDER_CONSTANT)
    cy, cx = np.unravel_index(int(np.argmax(box)), box.shape)
    y = int(np.clip(cy - ch // 2, 0, h - ch))
    x = int(np.clip(cx - cw // 2, 0, w - cw))
    return y, x, ch, cw


def _zoom(img: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def _crops_section(vis) -> str:
    ref, dist = vis.reference, vis.distorted
    y, x, ch, cw = _crop_box(ref, dist, CROP)
    rc, dc = ref[y:y + ch, x:x + cw], dist[y:y + ch, x:x + cw]
    zy, zx, zh, zw = _crop_box(rc, dc, ZOOM_SRC)
    rz = _zoom(rc[zy:zy + zh, zx:zx + zw], ZOOM)
    dz = _zoom(dc[zy:zy + zh, zx:zx + zw], ZOOM)
    marked = []
    for c in (rc, dc):
        m = np.ascontiguousarray(c.copy())
        cv2.rectangle(m, (zx, zy), (zx + zw - 1, zy + zh - 1), (1.0, 0.8, 0.0), 1)
        marked.append(m)
    disp = max(cw, 256)
    return (f"<h2>Before / after (frame {vis.frame_index}, crop at x={x}, y={y}, {cw}x{ch})</h2>"
            '<div class="row">'
            f'<figure>{_img(marked[0], "reference crop", width=disp)}<figcaption>reference</figcaption></figure>'
            f'<figure>{_img(marked[1], "distorted crop", width=disp)}<figcaption>distorted</figcaption></figure>'
            "</div><div class='row'>"
            f'<figure>{_img(rz, "reference detail")}<figcaption>reference, detail x{ZOOM}</figcaption></figure>'
            f'<figure>{_img(dz, "distorted detail")}<figcaption>distorted, detail x{ZOOM}</figcaption></figure>'
            "</div>")


def _profile_section(vis) -> str:
    if not vis.profile_ref:
        return ""
    rep = max(1, int(math.ceil(120 / len(vis.profile_ref))))
    pr = np.repeat(np.stack(vis.profile_ref), rep, axis=0)
    pd = np.repeat(np.stack(vis.profile_dist), rep, axis=0)
    return (f"<h2>Temporal profile (row {vis.profile_row}, time runs down)</h2>"
            "<p>Each image row is the same picture row of one frame. Flicker shows as horizontal "
            "bands, temporal noise as speckle, unstable motion as jagged diagonals.</p>"
            '<div class="row">'
            f'<figure>{_img(pr, "reference temporal profile")}<figcaption>reference</figcaption></figure>'
            f'<figure>{_img(pd, "distorted temporal profile")}<figcaption>distorted</figcaption></figure>'
            "</div>")


def render_html(result, *, title: str = "Revival quality report") -> str:
    """The report as one HTML string.

    Args:
        result: a :class:`~revival.metrics.compare.CompareResult`; images need
            ``keep_visuals=True`` when it was computed (otherwise only table and plots).
        title: page title.
    """
    rows = []
    for key, value in result.mean.items():
        m = BY_KEY[key]
        rows.append(f"<tr><td><code>{key}</code></td><td class='num'>{_fmt(value)}</td>"
                    f"<td>{html.escape(m.unit)}</td><td>{'higher' if m.higher_is_better else 'lower'}"
                    f"</td><td>{html.escape(m.description)}</td></tr>")
    plots = []
    done = set()
    for key, vals in result.per_frame.items():
        if key in done or key.endswith("_ref") and key[:-4] in result.per_frame:
            continue
        series = {key: vals}
        if key + "_ref" in result.per_frame:
            series[key + "_ref"] = result.per_frame[key + "_ref"]
        done.update(series)
        plots.append(_svg_plot(series, title=key, unit=BY_KEY[key].unit))
    vis = result.visuals
    images = (_crops_section(vis) + _profile_section(vis)) if vis is not None and \
        vis.reference is not None else "<p>No images: the comparison kept no frames.</p>"
    settings = ", ".join(f"{k}={v}" for k, v in result.settings.items() if k != "frames_are")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; background: #fff; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
th {{ background: #eee; }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.row {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }}
figure {{ margin: 0; }} figcaption {{ font-size: 12px; color: #555; }}
svg {{ margin: 4px 12px 4px 0; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p><b>reference</b> {html.escape(str(result.reference))}<br><b>distorted</b> {html.escape(str(result.distorted))}<br>
{result.frames} frames, {result.width}x{result.height}. Settings: {html.escape(settings)}</p>
<h2>Metrics (mean over frames; jitter: RMS)</h2>
<table><tr><th>key</th><th>value</th><th>unit</th><th>better</th><th>what</th></tr>
{''.join(rows)}</table>
<h2>Per frame</h2><div class="row">{''.join(plots)}</div>
{images}
</body></html>
"""


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place.

    Raises:
        OutputPathError: the folder does not exist.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputPathError(f"cannot write {path}: folder {path.parent} does not exist; "
                              "create it first", path=path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".revival-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_html(result, path: str | Path, *, title: str = "Revival quality report") -> Path:
    """Write :func:`render_html` to ``path`` atomically (temporary file, then rename)."""
    out = write_text_atomic(path, render_html(result, title=title))
    log.info("wrote report %s", out)
    return out


def write_report(reference: str | Path, output: str | Path, report: str | Path) -> Path:
    """Report for ``revival restore --report``: the restored ``output`` against its input.

    The output is scaled to the input's size when they differ (fidelity to the
    input), and the no-reference and temporal metrics are shown for both clips.
    """
    from .compare import compare
    keys = ("psnr_y", "ssim_y", "de2000", "ewarp", "flicker", "flicker_ref", "blockiness",
            "niqe", "niqe_ref", "jitter", "jitter_ref")
    result = compare(reference, output, metrics=keys, align="resize", length="shortest",
                     keep_visuals=True)
    return write_html(result, report, title="Revival restore report")
