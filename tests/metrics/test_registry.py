from pathlib import Path

from revival.metrics.registry import BY_KEY, DEFAULT_KEYS, METRICS

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_keys_are_unique_and_defaults_known():
    assert len({m.key for m in METRICS}) == len(METRICS)
    assert set(DEFAULT_KEYS) <= set(BY_KEY)
    # the keys the issue promises stay stable
    for key in ("psnr_y", "ssim_y", "vmaf", "vmaf_neg", "lpips", "ewarp", "tof", "flicker",
                "blockiness", "niqe", "jitter", "de2000"):
        assert key in BY_KEY


def test_every_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for m in METRICS:
        assert f"`{m.key}`" in text, f"{m.key} missing from docs/metrics.md"
