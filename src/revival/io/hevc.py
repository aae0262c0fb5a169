"""The quantiser of HEVC video, read from its slice headers.

FFmpeg's HEVC decoder exports no quantiser, but every slice header carries it: the slice's
QP is ``26 + init_qp_minus26 (picture parameter set) + slice_qp_delta``, on the same scale
as H.264's. Reaching ``slice_qp_delta`` means reading the sequence and picture parameter
sets and every slice-header field before it (ITU-T H.265, 7.3.2.2, 7.3.2.3, 7.3.6.1):
reference picture sets, weighted-prediction tables and the rest, which this module does
for single-layer streams. Coding units can change the QP further (adaptive quantisation);
the slice QP is the encoder's base for the picture, as a frame QP is for x264.

Parameter sets come from the container's ``hvcC`` record (MP4, Matroska) or from the
stream itself (Annex B: raw ``.hevc``, MPEG-TS). Anything the parser does not understand
raises :class:`ValueError`; :func:`slice_qps` callers treat that as "no quantiser".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

# NAL unit types (H.265 Table 7-1)
_NAL_SPS, _NAL_PPS = 33, 34
_IDR_W_RADL, _IDR_N_LP = 19, 20
_BLA_W_LP, _RSV_IRAP_23 = 16, 23
_B, _P = 0, 1


class _Bits:
    """MSB-first reader of one NAL unit's payload (emulation prevention removed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        if n == 0:
            return 0
        end = self.pos + n
        if end > len(self.data) * 8:
            raise ValueError("HEVC header runs past its NAL unit")
        first, last = self.pos >> 3, (end + 7) >> 3
        chunk = int.from_bytes(self.data[first:last], "big")
        value = (chunk >> (last * 8 - end)) & ((1 << n) - 1)
        self.pos = end
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("HEVC Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def unescape(nal: bytes) -> bytes:
    """A NAL unit without its emulation-prevention bytes (00 00 03 -> 00 00)."""
    if b"\x00\x00\x03" not in nal:
        return nal
    out = bytearray()
    zeros = 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


@dataclass
class _SPS:
    chroma_array_type: int
    separate_planes: bool
    pic_size_in_ctbs: int
    log2_max_poc_lsb: int
    sao: bool
    rps_counts: list[tuple[int, int]]  # per set: (delta POCs, used by the current picture)
    long_term: bool
    num_long_term_sps: int
    long_term_used_sps: list[bool]
    temporal_mvp: bool


@dataclass
class _PPS:
    sps_id: int
    dependent_slices: bool
    output_flag: bool
    extra_bits: int
    cabac_init_present: bool
    num_ref_idx_default: tuple[int, int]
    init_qp: int
    weighted_pred: bool
    weighted_bipred: bool
    lists_modification: bool


@dataclass
class _State:
    sps: dict[int, _SPS] = field(default_factory=dict)
    pps: dict[int, _PPS] = field(default_factory=dict)


def _skip_profile_tier_level(r: _Bits, max_sub_layers_minus1: int) -> None:
    r.u(88)
    r.u(8)  # general_level_idc
    present = [(r.u(1), r.u(1)) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        for _ in range(max_sub_layers_minus1, 8):
            r.u(2)
    for profile, level in present:
        if profile:
            r.u(88)
        if level:
            r.u(8)


def _skip_scaling_list_data(r: _Bits) -> None:
    for size_id in range(4):
        for _ in range(0, 6, 3 if size_id == 3 else 1):
            if not r.u(1):  # scaling_list_pred_mode_flag
                r.ue()
                continue
            if size_id > 1:
                r.se()
            for _ in range(min(64, 1 << (4 + (size_id << 1)))):
                r.se()


def _st_ref_pic_set(r: _Bits, idx: int, num_sets: int,
                    counts: list[tuple[int, int]]) -> tuple[int, int]:
    """Parse one short-term reference picture set: (delta POCs, used by current picture)."""
    if idx != 0 and r.u(1):  # inter_ref_pic_set_prediction_flag
        delta_idx = r.ue() + 1 if idx == num_sets else 1
        r.u(1)  # delta_rps_sign
        r.ue()  # abs_delta_rps_minus1
        ref = idx - delta_idx
        if not 0 <= ref < len(counts):
            raise ValueError("HEVC reference picture set predicted from a missing set")
        num, used = 0, 0
        for _ in range(counts[ref][0] + 1):
            used_flag = r.u(1)
            use_delta = 1 if used_flag else r.u(1)
            num += use_delta
            used += used_flag and use_delta
        return num, used
    negative, positive = r.ue(), r.ue()
    if negative > 16 or positive > 16:
        raise ValueError("HEVC reference picture set too large")
    used = 0
    for _ in range(negative + positive):
        r.ue()
        used += r.u(1)
    return negative + positive, used


def _parse_sps(r: _Bits) -> tuple[int, _SPS]:
    r.u(4)
    max_sub_layers_minus1 = r.u(3)
    r.u(1)
    _skip_profile_tier_level(r, max_sub_layers_minus1)
    sps_id = r.ue()
    chroma_format = r.ue()
    separate_planes = r.u(1) if chroma_format == 3 else 0
    width, height = r.ue(), r.ue()
    if r.u(1):  # conformance window
        for _ in range(4):
            r.ue()
    r.ue()
    r.ue()  # bit depths
    log2_max_poc_lsb = r.ue() + 4
    ordering_all = r.u(1)
    for _ in range(0 if ordering_all else max_sub_layers_minus1, max_sub_layers_minus1 + 1):
        r.ue()
        r.ue()
        r.ue()
    log2_min_cb = r.ue() + 3
    log2_ctb = log2_min_cb + r.ue()
    for _ in range(4):
        r.ue()  # transform block sizes and hierarchy depths
    if r.u(1) and r.u(1):  # scaling lists enabled, with data in the SPS
        _skip_scaling_list_data(r)
    r.u(1)  # amp
    sao = bool(r.u(1))
    if r.u(1):  # PCM
        r.u(4)
        r.u(4)
        r.ue()
        r.ue()
        r.u(1)
    num_sets = r.ue()
    if num_sets > 64:
        raise ValueError("HEVC SPS with more than 64 reference picture sets")
    counts: list[tuple[int, int]] = []
    for i in range(num_sets):
        counts.append(_st_ref_pic_set(r, i, num_sets, counts))
    long_term = bool(r.u(1))
    lt_used: list[bool] = []
    if long_term:
        for _ in range(r.ue()):
            r.u(log2_max_poc_lsb)
            lt_used.append(bool(r.u(1)))
    temporal_mvp = bool(r.u(1))
    ctb = 1 << log2_ctb
    pic_size = ((width + ctb - 1) // ctb) * ((height + ctb - 1) // ctb)
    return sps_id, _SPS(0 if separate_planes else chroma_format, bool(separate_planes),
                        pic_size, log2_max_poc_lsb, sao,
                        counts, long_term, len(lt_used), lt_used, temporal_mvp)


def _parse_pps(r: _Bits) -> tuple[int, _PPS]:
    pps_id, sps_id = r.ue(), r.ue()
    dependent = bool(r.u(1))
    output_flag = bool(r.u(1))
    extra_bits = r.u(3)
    r.u(1)  # sign data hiding
    cabac_init = bool(r.u(1))
    defaults = (r.ue() + 1, r.ue() + 1)
    init_qp = 26 + r.se()
    r.u(1)
    r.u(1)  # constrained intra, transform skip
    if r.u(1):  # cu_qp_delta_enabled_flag
        r.ue()
    r.se()
    r.se()  # chroma QP offsets
    r.u(1)  # slice chroma QP offsets present
    weighted_pred, weighted_bipred = bool(r.u(1)), bool(r.u(1))
    r.u(1)  # transquant bypass
    tiles = r.u(1)
    r.u(1)  # entropy coding sync
    if tiles:
        cols, rows = r.ue(), r.ue()
        if not r.u(1):  # uniform spacing
            for _ in range(cols + rows):
                r.ue()
        r.u(1)
    r.u(1)  # loop filter across slices
    if r.u(1):  # deblocking filter control
        r.u(1)
        if not r.u(1):
            r.se()
            r.se()
    if r.u(1):
        _skip_scaling_list_data(r)
    lists_modification = bool(r.u(1))
    return pps_id, _PPS(sps_id, dependent, output_flag, extra_bits, cabac_init, defaults,
                        init_qp, weighted_pred, weighted_bipred, lists_modification)


def _ceil_log2(n: int) -> int:
    return max(0, (n - 1).bit_length())


def _skip_pred_weight_table(r: _Bits, chroma: int, refs: tuple[int, ...]) -> None:
    r.ue()
    if chroma:
        r.se()
    for n in refs:  # list 0, then list 1 for B slices
        luma = [r.u(1) for _ in range(n)]
        chroma_flags = [r.u(1) for _ in range(n)] if chroma else [0] * n
        for lf, cf in zip(luma, chroma_flags):
            if lf:
                r.se()
                r.se()
            if cf:
                for _ in range(4):
                    r.se()


def _slice_qp(r: _Bits, nal_type: int, state: _State) -> int | None:
    """The QP of a slice segment; None for a dependent segment or a later segment."""
    first = r.u(1)
    if _BLA_W_LP <= nal_type <= _RSV_IRAP_23:
        r.u(1)
    pps_id = r.ue()
    pps = state.pps.get(pps_id)
    sps = state.sps.get(pps.sps_id) if pps else None
    if pps is None or sps is None:
        raise ValueError("HEVC slice refers to a parameter set not seen")
    if not first:
        return None  # one slice per picture is enough
    r.u(pps.extra_bits)
    slice_type = r.ue()
    if pps.output_flag:
        r.u(1)
    if sps.separate_planes:
        r.u(2)  # colour_plane_id
    temporal_mvp = False
    used_curr = 0
    if nal_type not in (_IDR_W_RADL, _IDR_N_LP):
        r.u(sps.log2_max_poc_lsb)
        if not r.u(1):  # short_term_ref_pic_set_sps_flag
            _, used_curr = _st_ref_pic_set(r, len(sps.rps_counts), len(sps.rps_counts),
                                           sps.rps_counts)
        elif len(sps.rps_counts) > 1:
            idx = r.u(_ceil_log2(len(sps.rps_counts)))
            used_curr = sps.rps_counts[idx][1]
        elif sps.rps_counts:
            used_curr = sps.rps_counts[0][1]
        if sps.long_term:
            num_sps = r.ue() if sps.num_long_term_sps > 0 else 0
            num_pics = r.ue()
            for i in range(num_sps + num_pics):
                if i < num_sps:
                    idx = r.u(_ceil_log2(sps.num_long_term_sps)) if sps.num_long_term_sps > 1 else 0
                    used_curr += sps.long_term_used_sps[idx]
                else:
                    r.u(sps.log2_max_poc_lsb)
                    used_curr += r.u(1)
                if r.u(1):
                    r.ue()
        if sps.temporal_mvp:
            temporal_mvp = bool(r.u(1))
    if sps.sao:
        r.u(1)
        if sps.chroma_array_type:
            r.u(1)
    if slice_type in (_P, _B):
        refs = list(pps.num_ref_idx_default)
        if r.u(1):  # num_ref_idx_active_override_flag
            refs[0] = r.ue() + 1
            if slice_type == _B:
                refs[1] = r.ue() + 1
        if slice_type == _P:
            refs = refs[:1]
        if pps.lists_modification and used_curr > 1:
            bits = _ceil_log2(used_curr)
            for n in refs:
                if r.u(1):
                    for _ in range(n):
                        r.u(bits)
        if slice_type == _B:
            r.u(1)  # mvd_l1_zero_flag
        if pps.cabac_init_present:
            r.u(1)
        if temporal_mvp:
            from_l0 = r.u(1) if slice_type == _B else 1
            if refs[0 if from_l0 else 1] > 1:
                r.ue()
        if (pps.weighted_pred and slice_type == _P) or (pps.weighted_bipred and slice_type == _B):
            _skip_pred_weight_table(r, sps.chroma_array_type, tuple(refs))
        r.ue()  # five_minus_max_num_merge_cand
    qp = pps.init_qp + r.se()
    if not -64 <= qp <= 51:
        raise ValueError(f"HEVC slice QP {qp} out of range")
    return qp


def slice_qps(nals: Iterable[bytes]) -> Iterator[int]:
    """The QP of each picture's first slice, in decoding order, from its NAL units.

    ``nals`` are whole NAL units (header included, start codes and length prefixes
    removed), parameter sets before the slices that use them.
    """
    state = _State()
    for nal in nals:
        if len(nal) < 3:
            continue
        nal_type, layer = (nal[0] >> 1) & 0x3F, ((nal[0] & 1) << 5) | (nal[1] >> 3)
        if layer:
            continue
        if nal_type == _NAL_SPS:
            sps_id, sps = _parse_sps(_Bits(unescape(nal[2:])))
            state.sps[sps_id] = sps
        elif nal_type == _NAL_PPS:
            pps_id, pps = _parse_pps(_Bits(unescape(nal[2:])))
            state.pps[pps_id] = pps
        elif nal_type <= _RSV_IRAP_23 and not 10 <= nal_type <= 15:
            # only the header is needed; 2 KB holds the longest weighted-prediction table
            qp = _slice_qp(_Bits(unescape(nal[2:2048])), nal_type, state)
            if qp is not None:
                yield qp


def hvcc_nals(extradata: bytes) -> tuple[list[bytes], int]:
    """Parameter-set NAL units of an ``hvcC`` record, and the packets' length-prefix size."""
    if len(extradata) < 23 or extradata[0] != 1:
        raise ValueError("not an hvcC record")
    size = (extradata[21] & 3) + 1
    pos, nals = 23, []
    for _ in range(extradata[22]):
        count = int.from_bytes(extradata[pos + 1:pos + 3], "big")
        pos += 3
        for _ in range(count):
            n = int.from_bytes(extradata[pos:pos + 2], "big")
            nals.append(extradata[pos + 2:pos + 2 + n])
            pos += 2 + n
    return nals, size


def length_prefixed(packet: bytes, size: int) -> Iterator[bytes]:
    pos = 0
    while pos + size <= len(packet):
        n = int.from_bytes(packet[pos:pos + size], "big")
        yield packet[pos + size:pos + size + n]
        pos += size + n


def annex_b(data: bytes) -> Iterator[bytes]:
    """NAL units between start codes (00 00 01 or 00 00 00 01)."""
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        yield data[s:end].rstrip(b"\x00") if k + 1 < len(starts) else data[s:end]
