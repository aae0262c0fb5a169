"""Model cards generated from the weight manifests.

``python -m revival.models.cards`` writes ``docs/models/<id>.md`` for every shipped
model; the manifest is the single source, so cards never drift from the weights.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .registry import MODELS, WEIGHTS_DIR, load_manifest


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render_card(m: dict[str, Any]) -> str:
    """Markdown model card of one manifest."""
    c = m["input"]
    lines = [f"# {m['id']} (v{m['version']})", "", m.get("description", ""), "",
             "## Contract", "",
             f"- scale: x{c['scale']}; input {c['layout']} float32, {c['channels']} channel(s): "
             f"{c['colour']}",
             f"- range: {c['range']}; output {c['output_range']}",
             f"- tiling: receptive radius {c['tiling']['receptive_radius']} px, use overlap >= "
             f"{c['tiling']['min_overlap']} (output then independent of tile size)",
             f"- temporal window: {c['temporal_window']}; precisions: {', '.join(c['precisions'])}"
             f"; ONNX opset {m['opset']}",
             f"- architecture: `{m['arch']}`, {m.get('params')} parameters"
             + (f" (trained as `{m['training_arch']}`, {m.get('training_params')} parameters, "
                "whose branches export merges into these layers)" if m.get("training_arch")
                else "")
             + f"; adversarial training: {'yes' if m.get('adversarial') else 'no'}"
             + (f" ({m['adversarial_note']})" if m.get("adversarial_note") else ""), "",
             "## Files", "", "| precision | file | bytes | sha256 |", "|---|---|---|---|"]
    for prec, f in sorted(m["files"].items()):
        lines.append(f"| {prec} | `{f['file']}` | {f['size_bytes']} | `{f['sha256']}` |")
    lines += ["", "## Measured", ""]
    bench = m.get("benchmark")
    if bench:
        lines += ["| precision_backend | ms / 320x180 | Set5 Y-PSNR / SSIM | Set14 Y-PSNR / SSIM |",
                  "|---|---|---|---|"]
        for k, v in bench.items():
            if not isinstance(v, dict):
                continue
            q = [f"{v[s]['psnr_y']:.2f} / {v[s]['ssim_y']:.4f}" if s in v else "-"
                 for s in ("Set5", "Set14")]
            lines.append(f"| {k} | {v['ms_per_320x180']} | {q[0]} | {q[1]} |")
        lines += ["", f"Threads: {bench.get('threads')}; preferred backend (auto): "
                  f"{m.get('preferred_backend')}. From `python benchmarks/sr_models.py "
                  f"--update-manifests`, see docs/benchmarks/sr_models.md.", ""]
    for key, sets in m.get("metrics", {}).items():
        vals = ", ".join(f"{s} {_fmt(r['psnr_y'])} dB / {_fmt(r['ssim_y'])}"
                         for s, r in sets.items())
        lines.append(f"- {key} at export: {vals}")
    if m.get("metrics") and m.get("metrics_cpu"):
        cpu = m["metrics_cpu"]
        lines.append(f"- measured on {cpu['cpu']} ({', '.join(cpu['simd']) or 'no AVX2'}); "
                     f"INT8 results can differ on CPUs without VNNI")
    auto = m.get("auto_strength")
    if auto:
        lines += ["", "## Automatic strength", "",
                  f"- `strength = \"auto\"`: clip((QP - {auto['qp_zero']:g}) / {auto['qp_span']:g}, "
                  f"0, 1), QP the source's coded quantiser on the H.264 scale; mean gain "
                  f"{_fmt(auto.get('mean_gain_db'))} dB on its calibration "
                  f"(`{auto.get('calibration')}`)"]
        for family, rule in (auto.get("families") or {}).items():
            lines.append(f"- {family} sources: clip((QP - {rule['qp_zero']:g}) / "
                         f"{rule['qp_span']:g}, 0, 1); mean gain {_fmt(rule.get('mean_gain_db'))} "
                         f"dB (`{rule.get('calibration')}`)")
        lines.append(f"- no quantiser reported: strength {auto.get('fallback_strength')}")
    r = m["recipe"]
    lines += ["", "## Training", "", m["training_data"], "",
              f"- iterations: {r['iterations']}, batch {r.get('batch')}, LR patch "
              f"{r.get('patch')}, loss {r.get('loss')}, {r.get('optimizer')}, lr {r.get('lr')}, "
              f"bf16 autocast: {r.get('bf16_autocast')}, seed {r.get('seed')}",
              f"- command: `{r.get('command')}`",
              f"- export: `{r.get('export_command')}`",
              f"- commit at export: `{m['commit']}`; exported {m.get('exported')}",
              "", "## Licence", "", m["licence"], ""]
    hist = m.get("validation_history") or []
    if hist and "psnr_y" in hist[0]:
        lines += ["## Validation history (Set5, monitoring only)", "",
                  "| iteration | Y-PSNR | SSIM |", "|---|---|---|"]
        lines += [f"| {h['iter']} | {h['psnr_y']:.3f} | {h['ssim_y']:.4f} |" for h in hist]
        lines.append("")
    elif hist:
        base = "bicubic upscaling" if c["scale"] > 1 else "the degraded input"
        lines += [f"## Validation history (held-out training sources, {hist[0].get('pairs')} "
                  "pairs, monitoring only)", "",
                  f"| iteration | PSNR RGB | PSNR of {base} |", "|---|---|---|"]
        lines += [f"| {h['iter']} | {h['psnr']:.3f} | {h['psnr_input']:.3f} |" for h in hist]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m revival.models.cards")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[3] / "docs" / "models")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    index = ["# Models", "", "Generated by `python -m revival.models.cards` from the manifests in "
             "`src/revival/models/weights/`.", "", "| id | scale | description | shipped |",
             "|---|---|---|---|"]
    for model_id, entry in MODELS.items():
        shipped = (WEIGHTS_DIR / f"{model_id}.json").is_file()
        if shipped:
            (args.out / f"{model_id}.md").write_text(render_card(load_manifest(model_id)))
        name = f"[{model_id}]({model_id}.md)" if shipped else model_id
        index.append(f"| {name} | x{entry.scale} | {entry.description} | "
                     f"{'yes' if shipped else 'no'} |")
    (args.out / "README.md").write_text("\n".join(index) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
