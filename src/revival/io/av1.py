"""AV1 quantisers from the bitstream's headers, without decoding.

FFmpeg's AV1 decoder (dav1d) exports no quantiser, but every frame header carries its
``base_q_idx`` (0-255, the luma AC quantiser index before segment deltas). Reaching it
means reading the sequence header (from ``av1C`` extradata or from the stream) and, in
each frame header, everything before the quantisation parameters: frame type and size
(which for inter frames may come from a reference, so the reference slots' sizes are
tracked), interpolation and tile layout. Syntax and names follow the AV1 specification
(sections 5.3, 5.5 and 5.9). Only what the quantiser needs is kept.

A frame shown again (``show_existing_frame``, the way AV1 shows a hidden alt-ref) counts
with the quantiser it was coded with, so the list follows displayed frames.

Example:
    >>> _Bits(bytes([0b10110000])).f(3)
    5
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator

SEQUENCE_HEADER, FRAME_HEADER, FRAME, REDUNDANT_FRAME_HEADER = 1, 3, 6, 7
KEY_FRAME, INTER_FRAME, INTRA_ONLY_FRAME, SWITCH_FRAME = 0, 1, 2, 3
NUM_REF_FRAMES, REFS_PER_FRAME = 8, 7
SELECT = 2  # SELECT_SCREEN_CONTENT_TOOLS / SELECT_INTEGER_MV
ALL_FRAMES = (1 << NUM_REF_FRAMES) - 1


class _Bits:
    """MSB-first bit reader with the AV1 descriptors f(n), uvlc(), ns(n) and leb128()."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def f(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ValueError("AV1 header runs past its data")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def uvlc(self) -> int:
        zeros = 0
        while not self.f(1):
            zeros += 1
            if zeros >= 32:
                raise ValueError("AV1 uvlc() longer than 32 bits")
        return self.f(zeros) + (1 << zeros) - 1

    def ns(self, n: int) -> int:
        w = n.bit_length()  # FloorLog2(n) + 1
        m = (1 << w) - n
        v = self.f(w - 1)
        return v if v < m else (v << 1) - m + self.f(1)

    def leb128(self) -> int:
        value = 0
        for i in range(8):
            byte = self.f(8)
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                return value
        raise ValueError("AV1 leb128 longer than 8 bytes")


def obus(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(obu_type, temporal_id, spatial_id, payload) of each OBU in low-overhead format."""
    pos = 0
    while pos < len(data):
        r = _Bits(data[pos:])
        if r.f(1):
            raise ValueError("AV1 OBU header: forbidden bit set (not an AV1 OBU stream)")
        kind, ext, has_size = r.f(4), r.f(1), r.f(1)
        r.f(1)
        tid = sid = 0
        if ext:
            tid, sid = r.f(3), r.f(2)
            r.f(3)
        size = r.leb128() if has_size else len(data) - pos - r.pos // 8
        start = pos + r.pos // 8
        if start + size > len(data):
            raise ValueError("AV1 OBU runs past its packet")
        yield kind, tid, sid, data[start:start + size]
        pos = start + size


def av1c_obus(extradata: bytes) -> bytes:
    """The configuration OBUs of an ``av1C`` box (MP4, Matroska), or the data as it is."""
    if len(extradata) >= 4 and extradata[0] == 0x81:  # marker 1, version 1
        return extradata[4:]
    return extradata


@dataclass
class SequenceHeader:
    reduced_still_picture_header: int = 0
    decoder_model_info_present: int = 0
    equal_picture_interval: int = 0
    buffer_removal_time_length: int = 0
    frame_presentation_time_length: int = 0
    op_idc: list[int] = field(default_factory=list)  # per operating point with a decoder model
    frame_width_bits: int = 0
    frame_height_bits: int = 0
    max_width: int = 0
    max_height: int = 0
    frame_id_numbers_present: int = 0
    delta_frame_id_length: int = 0
    frame_id_length: int = 0
    use_128x128_superblock: int = 0
    enable_order_hint: int = 0
    enable_ref_frame_mvs: int = 0
    force_screen_content_tools: int = SELECT
    force_integer_mv: int = SELECT
    order_hint_bits: int = 0
    enable_superres: int = 0


def parse_sequence_header(payload: bytes) -> SequenceHeader:
    """The fields of a sequence header OBU that frame headers depend on (spec 5.5)."""
    r, s = _Bits(payload), SequenceHeader()
    r.f(3)  # seq_profile
    r.f(1)  # still_picture
    s.reduced_still_picture_header = r.f(1)
    if s.reduced_still_picture_header:
        r.f(5)  # seq_level_idx[0]
    else:
        if r.f(1):  # timing_info_present_flag
            r.f(32)
            r.f(32)
            s.equal_picture_interval = r.f(1)
            if s.equal_picture_interval:
                r.uvlc()
            s.decoder_model_info_present = r.f(1)
            if s.decoder_model_info_present:
                buffer_delay_length = r.f(5) + 1
                r.f(32)
                s.buffer_removal_time_length = r.f(5) + 1
                s.frame_presentation_time_length = r.f(5) + 1
        initial_display_delay_present = r.f(1)
        for _ in range(r.f(5) + 1):
            idc = r.f(12)
            if r.f(5) > 7:  # seq_level_idx
                r.f(1)  # seq_tier
            if s.decoder_model_info_present:
                if r.f(1):  # decoder_model_present_for_this_op
                    r.f(buffer_delay_length)
                    r.f(buffer_delay_length)
                    r.f(1)
                    s.op_idc.append(idc)
                else:
                    s.op_idc.append(-1)
            if initial_display_delay_present and r.f(1):
                r.f(4)
    s.frame_width_bits, s.frame_height_bits = r.f(4) + 1, r.f(4) + 1
    s.max_width, s.max_height = r.f(s.frame_width_bits) + 1, r.f(s.frame_height_bits) + 1
    if not s.reduced_still_picture_header:
        s.frame_id_numbers_present = r.f(1)
    if s.frame_id_numbers_present:
        s.delta_frame_id_length = r.f(4) + 2
        s.frame_id_length = r.f(3) + 1 + s.delta_frame_id_length
    s.use_128x128_superblock = r.f(1)
    r.f(1)  # enable_filter_intra
    r.f(1)  # enable_intra_edge_filter
    if not s.reduced_still_picture_header:
        r.f(4)  # interintra, masked compound, warped motion, dual filter
        s.enable_order_hint = r.f(1)
        if s.enable_order_hint:
            r.f(1)  # enable_jnt_comp
            s.enable_ref_frame_mvs = r.f(1)
        s.force_screen_content_tools = SELECT if r.f(1) else r.f(1)
        if s.force_screen_content_tools > 0:
            s.force_integer_mv = SELECT if r.f(1) else r.f(1)
        if s.enable_order_hint:
            s.order_hint_bits = r.f(3) + 1
    s.enable_superres = r.f(1)
    return s


@dataclass
class _Ref:
    """What a reference slot must remember for later frame headers."""

    frame_type: int = KEY_FRAME
    upscaled_width: int = 0
    width: int = 0
    height: int = 0
    render: tuple[int, int] = (0, 0)
    order_hint: int = 0
    qindex: int | None = None


def _tile_log2(blk: int, target: int) -> int:
    k = 0
    while (blk << k) < target:
        k += 1
    return k


class FrameQuantisers:
    """Reads ``base_q_idx`` from frame headers, packet by packet, in decoding order."""

    def __init__(self, extradata: bytes | None = None) -> None:
        self.seq: SequenceHeader | None = None
        self.refs = [_Ref() for _ in range(NUM_REF_FRAMES)]
        self.coded: list[int] = []  # every coded frame's index, shown or not, in order
        if extradata:
            self.feed(av1c_obus(extradata))

    def feed(self, packet: bytes) -> list[int]:
        """The quantiser index of each frame the packet shows (a hidden frame shows none)."""
        shown: list[int] = []
        last_header = None
        for kind, tid, sid, payload in obus(packet):
            if kind == SEQUENCE_HEADER:
                self.seq = parse_sequence_header(payload)
            elif kind in (FRAME_HEADER, FRAME):
                if kind == FRAME_HEADER and payload == last_header:
                    continue  # a copy of the header just read
                last_header = payload
                if self.seq is None:
                    raise ValueError("AV1 frame header before any sequence header")
                q = self._frame_header(payload, tid, sid)
                if q is not None:
                    shown.append(q)
        return shown

    def _frame_size(self, r: _Bits, override: int) -> tuple[int, int, int]:
        s = self.seq
        if override:
            width, height = r.f(s.frame_width_bits) + 1, r.f(s.frame_height_bits) + 1
        else:
            width, height = s.max_width, s.max_height
        upscaled, width = self._superres(r, width)
        return upscaled, width, height

    def _superres(self, r: _Bits, upscaled: int) -> tuple[int, int]:
        denom = 8
        if self.seq.enable_superres and r.f(1):
            denom = r.f(3) + 9
        return upscaled, (upscaled * 8 + denom // 2) // denom

    @staticmethod
    def _render_size(r: _Bits, upscaled: int, height: int) -> tuple[int, int]:
        if r.f(1):
            return r.f(16) + 1, r.f(16) + 1
        return upscaled, height

    def _frame_header(self, payload: bytes, tid: int, sid: int) -> int | None:
        s, r, refs = self.seq, _Bits(payload), self.refs
        if s.reduced_still_picture_header:
            frame_type, show_frame, error_resilient = KEY_FRAME, 1, 1
        else:
            if r.f(1):  # show_existing_frame
                idx = r.f(3)
                if s.decoder_model_info_present and not s.equal_picture_interval:
                    r.f(s.frame_presentation_time_length)
                if refs[idx].frame_type == KEY_FRAME:  # shown key frame: reloads every slot
                    self.refs = [replace(refs[idx]) for _ in range(NUM_REF_FRAMES)]
                return refs[idx].qindex
            frame_type, show_frame = r.f(2), r.f(1)
            if show_frame and s.decoder_model_info_present and not s.equal_picture_interval:
                r.f(s.frame_presentation_time_length)
            if not show_frame:
                r.f(1)  # showable_frame
            if frame_type == SWITCH_FRAME or (frame_type == KEY_FRAME and show_frame):
                error_resilient = 1
            else:
                error_resilient = r.f(1)
        intra = frame_type in (KEY_FRAME, INTRA_ONLY_FRAME)
        disable_cdf_update = r.f(1)
        screen = r.f(1) if s.force_screen_content_tools == SELECT else s.force_screen_content_tools
        force_integer_mv = 0
        if screen:
            force_integer_mv = r.f(1) if s.force_integer_mv == SELECT else s.force_integer_mv
        if intra:
            force_integer_mv = 1
        if s.frame_id_numbers_present:
            r.f(s.frame_id_length)  # current_frame_id
        if frame_type == SWITCH_FRAME:
            override = 1
        elif s.reduced_still_picture_header:
            override = 0
        else:
            override = r.f(1)
        order_hint = r.f(s.order_hint_bits)
        if not (intra or error_resilient):
            r.f(3)  # primary_ref_frame
        if s.decoder_model_info_present and r.f(1):  # buffer_removal_time_present_flag
            for idc in s.op_idc:
                if idc < 0:
                    continue
                in_t, in_s = (idc >> tid) & 1, (idc >> (sid + 8)) & 1
                if idc == 0 or (in_t and in_s):
                    r.f(s.buffer_removal_time_length)
        if frame_type == SWITCH_FRAME or (frame_type == KEY_FRAME and show_frame):
            refresh = ALL_FRAMES
        else:
            refresh = r.f(8)
        if (not intra or refresh != ALL_FRAMES) and error_resilient and s.enable_order_hint:
            for i in range(NUM_REF_FRAMES):
                hint = r.f(s.order_hint_bits)
                if hint != refs[i].order_hint:
                    refs[i] = _Ref(order_hint=hint)
        if intra:
            upscaled, width, height = self._frame_size(r, override)
            render = self._render_size(r, upscaled, height)
            if screen and upscaled == width:
                r.f(1)  # allow_intrabc
        else:
            short = r.f(1) if s.enable_order_hint else 0
            ref_idx: list[int | None] = [None] * REFS_PER_FRAME
            if short:
                ref_idx[0], ref_idx[3] = r.f(3), r.f(3)  # LAST and GOLDEN; the rest derived
            for i in range(REFS_PER_FRAME):
                if not short:
                    ref_idx[i] = r.f(3)
                if s.frame_id_numbers_present:
                    r.f(s.delta_frame_id_length)
            if override and not error_resilient:
                upscaled = None
                for i in range(REFS_PER_FRAME):
                    if r.f(1):  # found_ref
                        ref = self._size_source(ref_idx[i])
                        upscaled, height, render = ref.upscaled_width, ref.height, ref.render
                        break
                if upscaled is None:
                    upscaled, width, height = self._frame_size(r, override)
                    render = self._render_size(r, upscaled, height)
                else:
                    upscaled, width = self._superres(r, upscaled)
            else:
                upscaled, width, height = self._frame_size(r, override)
                render = self._render_size(r, upscaled, height)
            if not force_integer_mv:
                r.f(1)  # allow_high_precision_mv
            if not r.f(1):  # is_filter_switchable
                r.f(2)
            r.f(1)  # is_motion_mode_switchable
            if not error_resilient and s.enable_ref_frame_mvs:
                r.f(1)  # use_ref_frame_mvs
        if not (s.reduced_still_picture_header or disable_cdf_update):
            r.f(1)  # disable_frame_end_update_cdf
        self._tile_info(r, width, height)
        qindex = r.f(8)  # quantization_params(): base_q_idx comes first
        self.coded.append(qindex)
        for i in range(NUM_REF_FRAMES):
            if refresh >> i & 1:
                refs[i] = _Ref(frame_type=frame_type, upscaled_width=upscaled, width=width,
                               height=height, render=render, order_hint=order_hint,
                               qindex=qindex)
        return qindex if show_frame else None

    def _size_source(self, idx: int | None) -> _Ref:
        """The reference a frame takes its size from; with short signalling the index of
        most references is derived from order hints, which is not followed here, so all
        known slots must agree on the size."""
        if idx is not None:
            return self.refs[idx]
        sizes = {(r.upscaled_width, r.height, r.render) for r in self.refs if r.width}
        if len(sizes) != 1:
            raise ValueError("AV1 frame size from a reference chosen by order hints, and the "
                             "references differ in size")
        return next(r for r in self.refs if r.width)

    def _tile_info(self, r: _Bits, width: int, height: int) -> None:
        mi_cols, mi_rows = 2 * ((width + 7) >> 3), 2 * ((height + 7) >> 3)
        big = self.seq.use_128x128_superblock
        sb_cols = (mi_cols + 31) >> 5 if big else (mi_cols + 15) >> 4
        sb_rows = (mi_rows + 31) >> 5 if big else (mi_rows + 15) >> 4
        sb_size = (5 if big else 4) + 2
        max_tile_width_sb = 4096 >> sb_size
        max_tile_area_sb = (4096 * 2304) >> (2 * sb_size)
        min_log2_cols = _tile_log2(max_tile_width_sb, sb_cols)
        max_log2_cols = _tile_log2(1, min(sb_cols, 64))
        max_log2_rows = _tile_log2(1, min(sb_rows, 64))
        min_log2_tiles = max(min_log2_cols, _tile_log2(max_tile_area_sb, sb_rows * sb_cols))
        if r.f(1):  # uniform_tile_spacing_flag
            cols_log2 = min_log2_cols
            while cols_log2 < max_log2_cols and r.f(1):
                cols_log2 += 1
            rows_log2 = max(min_log2_tiles - cols_log2, 0)
            while rows_log2 < max_log2_rows and r.f(1):
                rows_log2 += 1
        else:
            widest, start, cols = 0, 0, 0
            while start < sb_cols:
                size = r.ns(min(sb_cols - start, max_tile_width_sb)) + 1
                widest, start, cols = max(widest, size), start + size, cols + 1
            cols_log2 = _tile_log2(1, cols)
            area = (sb_rows * sb_cols) >> (min_log2_tiles + 1) if min_log2_tiles else sb_rows * sb_cols
            max_height = max(area // widest, 1)
            start, rows = 0, 0
            while start < sb_rows:
                start, rows = start + r.ns(min(sb_rows - start, max_height)) + 1, rows + 1
            rows_log2 = _tile_log2(1, rows)
        if cols_log2 or rows_log2:
            r.f(rows_log2 + cols_log2)  # context_update_tile_id
            r.f(2)  # tile_size_bytes_minus_1
