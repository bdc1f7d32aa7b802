# Copyright 2026 edge_perception contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""
Letterbox straight into a backend's input tensor: one resize, the rest on the small image.

The source (BGR, grey, or a YUV frame) is resized once, directly into the padded buffer or a
content-sized scratch image; everything else is done on the small image: the colour swap, the
float conversion (a per-value table: one ``cv2.LUT`` per channel writes the NCHW planes in
place, the same numbers as ``cv2.dnn.blobFromImage``), the padding (only the border is
filled). A YUV frame is converted where the result is provably the same as converting the
whole frame first: straight into the buffer when no resize is needed; when both sides shrink
by an odd whole factor (1920x1080 -> 640x360: INTER_LINEAR then reads exactly one source pixel
per output pixel) only those pixels, picked in YUV pixel pairs (``YuvFrame.convert_sampled``,
across by 3, 7, 11, ...), else only the rows the resize reads; otherwise the whole frame first.
An NV12 input's content is converted to I420 straight into the buffer when it spans the width.
Resizing the Y and U/V planes separately was measured and rejected: it changes the result far
beyond rounding (chroma is sampled at other places), see ``scripts/bench_preprocess.py``.
"""

import functools
from typing import Optional

import cv2
import numpy as np

from .yuv_frames import i420_into_nv12, nv12_planes, samples_in_pairs, YuvFrame
from .yuv_range import bgr_to_i420, bgr_to_nv12_in


def rows_read_by_resize(src_h: int, new_h: int, interpolation: int) -> Optional[np.ndarray]:
    """
    Return the source rows an INTER_LINEAR shrink by an odd whole factor reads, else None.

    OpenCV maps output row y to source row (y + 0.5) * k - 0.5, which for an odd k is the
    whole number k * y + (k - 1) / 2: each output row is one source row, weight exactly 1.
    """
    if interpolation != cv2.INTER_LINEAR or new_h >= src_h or src_h % new_h:
        return None
    k = src_h // new_h
    if k % 2 == 0:
        return None
    return np.arange((k - 1) // 2, src_h, k)


def point_sampled(src_w: int, src_h: int, new_w: int, new_h: int, interpolation: int) -> int:
    """
    Return INTER_NEAREST_EXACT where an INTER_LINEAR resize only picks pixels, else as given.

    When each side shrinks by an odd whole factor k (or stays), INTER_LINEAR reads source
    pixel k * x + (k - 1) / 2 with weight 1 (``rows_read_by_resize``); INTER_NEAREST_EXACT
    reads floor((x + 0.5) * k), the same pixel, at a fraction of the cost (1920x1080 ->
    640x360: 0.17 ms instead of 0.44). The tests hold the two to the same bytes.
    """
    if interpolation != cv2.INTER_LINEAR or (new_w, new_h) == (src_w, src_h):
        return interpolation
    for src, new in ((src_w, new_w), (src_h, new_h)):
        if src != new and rows_read_by_resize(src, new, interpolation) is None:
            return interpolation
    return getattr(cv2, 'INTER_NEAREST_EXACT', interpolation)     # OpenCV >= 4.5.1


def _into(out: np.ndarray, dst: np.ndarray) -> None:
    """Make sure an OpenCV result is in ``dst`` (a binding may return a copy of a view)."""
    if out is not dst:
        dst[...] = out


def write_resized(source, new_w: int, new_h: int, interpolation: int, rgb: bool,
                  dst: np.ndarray) -> None:
    """
    Write ``source`` resized to new_w x new_h, in BGR (or RGB) order, into ``dst``.

    source: a (H, W) grey or (H, W, 3) BGR uint8 array, or a YuvFrame. dst: a
    (new_h, new_w, 3) uint8 array or view (rows may be strided, pixels contiguous).
    """
    if isinstance(source, YuvFrame):
        src_w, src_h = source.width, source.height
        if (new_w, new_h) == (src_w, src_h):
            source.convert(rgb, dst)
            return
        if new_w < src_w and samples_in_pairs(src_w, new_w) \
                and point_sampled(src_w, src_h, new_w, new_h, interpolation) != interpolation:
            source.convert_sampled(rgb, dst)              # only the pixels read
            return
        rows = rows_read_by_resize(src_h, new_h, interpolation)
        if rows is not None:
            part = source.convert_rows(rows, rgb)        # (new_h, src_w, 3)
            if new_w == src_w:
                dst[...] = part
            else:                                         # a horizontal-only resize
                across = point_sampled(src_w, new_h, new_w, new_h, interpolation)
                _into(cv2.resize(part, (new_w, new_h), dst=dst, interpolation=across), dst)
            return
        full = source.convert(rgb)                        # the whole frame, then resize
        _into(cv2.resize(full, (new_w, new_h), dst=dst, interpolation=interpolation), dst)
        return
    src_h, src_w = source.shape[:2]
    same = new_w == src_w and new_h == src_h
    if not same:
        interpolation = point_sampled(src_w, src_h, new_w, new_h, interpolation)
    if source.ndim == 2:                                  # grey: resize one channel, then 3
        small = source if same else cv2.resize(source, (new_w, new_h),
                                               interpolation=interpolation)
        _into(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR, dst=dst), dst)
    elif same:
        if rgb:
            _into(cv2.cvtColor(source, cv2.COLOR_BGR2RGB, dst=dst), dst)
        else:
            dst[...] = source
    else:
        _into(cv2.resize(source, (new_w, new_h), dst=dst, interpolation=interpolation), dst)
        if rgb:
            _into(cv2.cvtColor(dst, cv2.COLOR_BGR2RGB, dst=dst), dst)   # in place, per pixel


def _is_bgr_of_size(source, width: int, height: int) -> bool:
    """Return whether ``source`` is a BGR array of exactly width x height (nothing to resize)."""
    return isinstance(source, np.ndarray) and source.ndim == 3 \
        and source.shape[:2] == (height, width)


def fill_border(image: np.ndarray, box, value) -> None:
    """Fill everything of ``image`` (H, W[, C]) outside box = (x, y, w, h) with ``value``."""
    x, y, w, h = box
    if y:
        image[:y] = value
    if y + h < image.shape[0]:
        image[y + h:] = value
    if x:
        image[y:y + h, :x] = value
    if x + w < image.shape[1]:
        image[y:y + h, x + w:] = value


def letterbox_tensor(source, spec, box, interpolation: int,
                     tables: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Return the input tensor of ``spec`` for ``source`` letterboxed into box = (x, y, w, h).

    tables: for float inputs, (3, 256) float32, the value of each uint8 level per channel in
    the model's colour order (``preprocess.value_tables``).
    """
    x, y, w, h = box
    height, width = spec.height, spec.width
    rgb = spec.color == 'rgb'
    if spec.color == 'nv12' and not (x % 2 or y % 2 or w % 2 or h % 2):
        return _nv12_tensor(source, spec, box, interpolation)
    if spec.color == 'nv12' or spec.dtype == 'uint8':
        padded = np.empty((1, height, width, 3), np.uint8)
        fill_border(padded[0], box, spec.pad_value)
        write_resized(source, w, h, interpolation, rgb, padded[0, y:y + h, x:x + w])
        if spec.color == 'nv12':
            return bgr_to_nv12_in(padded[0], spec.yuv_range)
        if spec.layout == 'nchw':
            return np.ascontiguousarray(padded.transpose(0, 3, 1, 2))
        return padded
    nchw = spec.layout == 'nchw'
    # a BGR or grey source is swapped to RGB by the split below, for free; a YUV frame
    # converts straight to RGB (the same cost)
    swap = nchw and rgb and not isinstance(source, YuvFrame)
    if nchw and _is_bgr_of_size(source, w, h):
        content = source                                  # no resize: split the frame itself
    else:
        content = np.empty((h, w, 3), np.uint8)
        write_resized(source, w, h, interpolation, rgb and not swap, content)
    pad = spec.pad_value
    if nchw:
        tensor = np.empty((1, 3, height, width), np.float32)
        # split into numpy-allocated planes (cv2.split's own outputs cost up to 10x more), in
        # the model's channel order
        planes = np.empty((3, h, w), np.uint8)
        order = [planes[2], planes[1], planes[0]] if swap else list(planes)
        for out, dst in zip(cv2.split(content, order), order):
            _into(out, dst)
        for channel, plane in enumerate(planes):
            table = tables[channel]
            fill_border(tensor[0, channel], box, table[pad])
            view = tensor[0, channel, y:y + h, x:x + w]
            _into(cv2.LUT(plane, table, dst=view), view)
    else:
        tensor = np.empty((1, height, width, 3), np.float32)
        fill_border(tensor[0], box, tables[:, pad])
        view = tensor[0, y:y + h, x:x + w]
        table = np.ascontiguousarray(tables.T).reshape(1, 256, 3)
        _into(cv2.LUT(content, table, dst=view), view)
    if spec.dtype == 'float16':
        return tensor.astype(np.float16)
    return tensor


def _nv12_tensor(source, spec, box, interpolation: int) -> np.ndarray:
    """
    Return the NV12 input with only the content converted (box corners and sides even).

    OpenCV's BGR -> I420 works on each 2x2 block alone (the tests hold this to the vendor's
    conversion of the whole padded image), so the pad blocks are one constant colour and the
    content converts by itself, straight into the planes.
    """
    x, y, w, h = box
    width, height = spec.width, spec.height
    if _is_bgr_of_size(source, w, h):
        content = source                                  # no resize: convert the frame itself
    else:
        content = np.empty((h, w, 3), np.uint8)
        write_resized(source, w, h, interpolation, False, content)
    nv12 = np.empty(height * width * 3 // 2, np.uint8)
    y_plane, uv_plane = nv12_planes(nv12, width, height)
    uv_content = uv_plane[y // 2:(y + h) // 2, x // 2:(x + w) // 2]
    if spec.yuv_range == 'video' and w == width and y + 3 * h <= 2 * height:
        # the content's I420 straight into the buffer from its first Y row: its Y rows land
        # where they belong, its U and V planes on the bottom pad and the top of the U/V
        # plane, ending above the content's U/V rows; they are paired into place, then the
        # pads overwrite them
        i420 = nv12[y * width:(y + h * 3 // 2) * width].reshape(h * 3 // 2, width)
        _into(cv2.cvtColor(content, cv2.COLOR_BGR2YUV_I420, dst=i420), i420)
        planes = i420[h:].reshape(2, h // 2, w // 2)
        _into(cv2.merge([planes[0], planes[1]], dst=uv_content), uv_content)
    else:
        i420_into_nv12(bgr_to_i420(content, spec.yuv_range), y_plane[y:y + h, x:x + w],
                       uv_content)
    pad_y, pad_uv = _pad_yuv(spec.pad_value, spec.yuv_range)
    fill_border(y_plane, box, pad_y)
    # each U, V pair as one 16-bit value: one plain fill instead of a 2-value broadcast
    fill_border(uv_plane.view(np.uint16)[..., 0], (x // 2, y // 2, w // 2, h // 2), pad_uv)
    return nv12


@functools.lru_cache(maxsize=64)     # 0.03 ms a call otherwise: OpenCV's small-call overhead
def _pad_yuv(value: int, yuv_range: str = 'video'):
    """Return Y and the U, V pair (as one uint16) of a grey pad pixel in ``yuv_range``."""
    i420 = bgr_to_i420(np.full((2, 2, 3), value, np.uint8), yuv_range).reshape(-1)
    return int(i420[0]), i420[4:6].copy().view(np.uint16)[0]
