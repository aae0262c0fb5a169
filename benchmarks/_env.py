"""What every benchmark records beside its figures: machine, versions, commit, command."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from revival.runtime.cpu import cpu_features

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks"
SHARED_DATA = Path(os.environ.get("REVIVAL_DATA", ROOT.parent / "shared" / "data"))


def _version(module: str) -> str | None:
    try:
        mod = __import__(module)
    except Exception:  # noqa: BLE001 - a missing optional package is simply not reported
        return None
    return getattr(mod, "__version__", None)


def sgemm_gflops(n: int = 1024, repeats: int = 10) -> float:
    """NumPy float32 matrix-multiply throughput on every core: a one-number yardstick of
    the machine's speed, so that timings taken on different machines can be compared."""
    import time

    import numpy as np

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2.0 * n ** 3 * repeats / (time.perf_counter() - t0) / 1e9


def environment() -> dict[str, Any]:
    cpu, simd = cpu_features()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    cwd=ROOT, capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    import av
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "commit": commit, "dirty_tree": dirty,
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
                    "simd": simd, "sgemm_gflops": round(sgemm_gflops(), 1),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
        "versions": {"python": platform.python_version(), "numpy": _version("numpy"),
                     "av": av.__version__, "ffmpeg": ".".join(map(str, av.ffmpeg_version_info))
                     if isinstance(av.ffmpeg_version_info, tuple) else str(av.ffmpeg_version_info),
                     "opencv": _version("cv2"), "onnxruntime": _version("onnxruntime"),
                     "openvino": _version("openvino")},
    }


def write_results(name: str, results: dict[str, Any], table: str, *, notes: str = "") -> Path:
    """Write docs/benchmarks/NAME.json and NAME.md (the Markdown table plus provenance)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    env = environment()
    payload = {"benchmark": name, **env, "results": results}
    (DOCS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    md = [f"# {name}", "", table.rstrip(), ""]
    if notes:
        md += [notes.rstrip(), ""]
    md += [f"Command: `{env['command']}`  ", f"Commit: `{env['commit']}`"
           f"{' (with uncommitted changes)' if env['dirty_tree'] else ''}, {env['date']}  ",
           f"Machine: {env['machine']['cpu']}, {env['machine']['cores']} cores, "
           f"{' '.join(env['machine']['simd']) or 'no AVX2'}, NumPy SGEMM "
           f"{env['machine']['sgemm_gflops']} GFLOP/s "
           f"(load average {env['machine']['load_average_1min']} when written); "
           f"FFmpeg {env['versions']['ffmpeg']}, PyAV {env['versions']['av']}", ""]
    path = DOCS / f"{name}.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
