from revival.runtime.cpu import cpu_features, isa_class

CPUINFO = """processor\t: 0
model name\t: Example CPU @ 2.80GHz
flags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni
processor\t: 1
model name\t: Other
flags\t\t: fpu
"""


def test_cpu_features_reads_the_first_processor(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    name, simd = cpu_features(path)
    assert name == "Example CPU @ 2.80GHz"
    assert simd == ["avx2", "fma", "avx512f", "avx512_vnni"]


def test_cpu_features_without_cpuinfo_reports_no_extensions(tmp_path):
    name, simd = cpu_features(tmp_path / "missing")
    assert simd == []
    assert isinstance(name, str)


def test_isa_class_orders_by_int8_capability():
    assert isa_class(["avx2", "fma"]) == "avx2"
    assert isa_class(["avx2", "avx512f"]) == "avx512"
    assert isa_class(["avx2", "avx512f", "avx512_vnni"]) == "avx512_vnni"
    assert isa_class(["avx2", "avx_vnni"]) == "avx_vnni"
    assert isa_class(["avx512_vnni", "amx_int8"]) == "amx"
    assert isa_class([]) == "baseline"
