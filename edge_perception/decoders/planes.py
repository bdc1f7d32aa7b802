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
Raw head tensors viewed as 2-D planes, thresholded in their raw (logit / quantised) space.

The cheap path every decoder relies on: a probability threshold is converted once into the
tensor's own domain (logit, then int8 with the tensor's scale and zero point), compared with
the raw data in one vectorised pass, and only the few cells above it are dequantised and
activated. Nothing is dequantised or sigmoided for cells that cannot hold an object.
"""

import functools
import math
from typing import Optional

import numpy as np

from ..tensors import QuantizedTensor


@functools.lru_cache(maxsize=64)
def logit(p: float) -> float:
    """Inverse sigmoid, clamped away from 0 and 1 (cached: a frame asks for the same one)."""
    p = min(max(float(p), 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """
    Logistic function (float32 in, float32 out).

    ``x * -1.0`` is ``-x`` exactly, with the multiply every decoder already calls instead of
    one more kind of numpy call (each new one costs ~10 us after an inference).
    """
    return 1.0 / (1.0 + np.exp(x * -1.0))


# (cells, C) tensors of at least this many entries are scanned as (C, cells) rows (a
# 640 input's strides 8 and 16 with 80 classes; stride 32, 32000 entries, is compared flat:
# measured, scanning it vertically too gains nothing)
_VERTICAL_MIN = 1 << 15


def _cells_of(cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Sorted unique values of ``cells`` (< n_cells): a mark per cell, then its nonzero()."""
    marks = np.zeros(n_cells, bool)
    marks[cells] = True
    return marks.nonzero()[0]


# Integer maximum reductions are SIMD (as fast as max() of the floor) on numpy 1.26 and 2.x,
# measured here; on 1.21 (Humble) they are scalar loops, 8x a comparison.
_SIMD_INT_MAX = np.lib.NumpyVersion(np.__version__) >= '1.26.0'


def _column_max(raw: np.ndarray):
    """
    Maximum over axis 0 of a float tensor, or None where a comparison is the faster pass.

    np.maximum.reduce is SIMD for floats on every numpy the package runs on (1.21: 0.05 ms for
    512k floats) while np.fmax.reduce is not on 1.21 (0.5 ms), and integer maxima are scalar
    loops on 1.21 (0.2 ms for 512k int8, 8x a comparison): ints there (SIMD from 1.26: one
    pass at the floor's speed), and float columns holding a NaN (maximum propagates it,
    hiding the other channels), take the comparison instead.
    """
    kind = raw.dtype.kind
    if kind in 'iu':
        return np.maximum.reduce(raw, axis=0) if _SIMD_INT_MAX else None
    if kind != 'f':
        return None
    top = np.maximum.reduce(raw, axis=0)
    # NaN anywhere: maximum propagates it (the same reduction again, no new kind of call:
    # after an inference evicted the caches each new one costs ~10-30 us)
    if math.isnan(np.maximum.reduce(top)):
        return None
    return top


@functools.lru_cache(maxsize=32)
def _int_range(dtype: np.dtype):
    """(min, max) of an integer dtype, None for others (np.iinfo costs ~10 us a call)."""
    if dtype.kind not in 'iu':
        return None
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def quantised_threshold(value: float, quant: QuantizedTensor, dtype: np.dtype):
    """
    Raw q with real >= value <=> q >= it, per-tensor quantisation (None: nothing passes).

    The scale and zero point are taken as float32, as the dequantised values are computed.
    """
    return _quantised_threshold(float(value), quant.scale, quant.zero_point, dtype)


@functools.lru_cache(maxsize=256)
def _quantised_threshold(value: float, scale: float, zero_point: float, dtype: np.dtype):
    """Compute it once per (threshold, tensor quantisation): a model's outputs keep theirs."""
    q = math.ceil(value / float(np.float32(scale)) + float(np.float32(zero_point)) - 1e-6)
    bounds = _int_range(dtype)
    if bounds is not None:
        if q > bounds[1]:
            return None
        q = max(q, bounds[0])
    return q


@functools.lru_cache(maxsize=256)
def as_float32(value: float) -> np.float32:
    """Return ``value`` as a numpy float32 scalar, cached (one costs ~10 us after an inference)."""
    return np.float32(value)


def one_channel_at_least(tensor, value: float) -> np.ndarray:
    """Cells (sorted) of a one-channel output, (1, 1, H, W) or (1, H, W, 1), >= ``value``."""
    if type(tensor) is QuantizedTensor:
        if tensor.per_channel:      # one channel: per-channel only in name
            return (tensor.dequantize().reshape(-1) >= value).nonzero()[0]
        data = tensor.data
        value = quantised_threshold(value, tensor, data.dtype)
        if value is None:
            return np.zeros(0, np.intp)
    else:
        data = np.asarray(tensor)
    # nonzero() itself: np.flatnonzero is a Python wrapper around ravel() and it
    return (data.reshape(-1) >= value).nonzero()[0]


def scan_cells(raw: np.ndarray, channels_last: bool, thr) -> np.ndarray:
    """
    Sorted unique cells of a 2-D raw view, (C, cells) or (cells, C), where any entry >= thr.

    ``thr`` is in the raw domain (a float, or the quantised integer threshold).
    """
    n_cells, n_channels = raw.shape if channels_last else raw.shape[::-1]
    # nonzero() of a 1-D comparison throughout: np.flatnonzero, np.sort and the arrays'
    # any()/max() are Python wrappers, ~10 us each after an inference evicted the caches
    if n_channels == 1:                 # score_sum, objectness: one short row
        return ((raw[:, 0] if channels_last else raw[0]) >= thr).nonzero()[0]
    if not channels_last:
        # (C, cells): the per-cell maximum is a vertical reduction (one SIMD pass, no
        # boolean temporary); else a row-wise OR of the comparison, also one pass.
        top = _column_max(raw)
        if top is None:
            return np.logical_or.reduce(raw >= thr, axis=0).nonzero()[0]
        return (top >= thr).nonzero()[0]
    # (cells, C): a reduction over the short C axis is slow (~10x a flat pass). A large
    # contiguous tensor is read as (C, cells) rows instead (the same memory, no transpose)
    # and reduced vertically at ~max() speed; the few columns whose maximum passes are
    # checked entry by entry (a column holds entries of C different cells). A small one
    # (and an int tensor where integer maxima are slow, see _column_max) takes one flat
    # comparison. A flood of candidates: the slow reduction.
    top = None
    if raw.size >= _VERTICAL_MIN and raw.flags.c_contiguous:
        view = raw.reshape(n_channels, n_cells)
        top = _column_max(view)
    if top is not None:
        cols = (top >= thr).nonzero()[0]
        if not len(cols):
            return cols
        if len(cols) <= n_cells // 4:
            r, c = (view[:, cols] >= thr).nonzero()       # a small 2-D block
            return _cells_of((r * n_cells + cols[c]) // n_channels, n_cells)
    else:
        hits = (raw >= thr).reshape(-1).nonzero()[0]
        if len(hits) <= n_cells // 4:
            return _cells_of(hits // n_channels, n_cells)
    return np.logical_or.reduce(raw >= thr, axis=1).nonzero()[0]


def grid_cells_at_least(tensor, channels_last: bool, n_cells: int, value: float) -> np.ndarray:
    """
    ``Plane(tensor, channels_last).cells_at_least(value)`` of a whole 4-D grid output.

    The same scan without building the plane. A frame calls this per stride right after an
    inference evicted the caches, where every Python frame costs a few us: the common case
    (many channels, floats or ints with SIMD maxima, contiguous) is written out here, the
    column maximum of scan_cells in one function; anything else goes to scan_cells.
    """
    if type(tensor) is not QuantizedTensor:
        data, thr = np.asarray(tensor), value
    elif tensor.axis is not None:           # per-channel quantisation
        return Plane(tensor, channels_last).cells_at_least(value)
    else:
        data = tensor.data
        thr = _quantised_threshold(float(value), tensor.scale, tensor.zero_point, data.dtype)
        if thr is None:
            return np.zeros(0, np.intp)
    n_channels = data.size // n_cells
    kind = data.dtype.kind
    if n_channels > 1 and (not channels_last or data.size >= _VERTICAL_MIN) and \
            data.flags.c_contiguous and (kind == 'f' or (kind in 'iu' and _SIMD_INT_MAX)):
        view = data.reshape(n_channels, n_cells)    # NCHW's rows; NHWC's memory as C rows
        top = np.maximum.reduce(view, axis=0)
        if kind != 'f' or not math.isnan(np.maximum.reduce(top)):      # NaN: scan_cells
            cols = (top >= thr).nonzero()[0]
            if not channels_last or not len(cols):
                return cols
            if len(cols) <= n_cells // 4:           # else a flood: scan_cells
                r, c = (view[:, cols] >= thr).nonzero()       # a small 2-D block
                marks = np.zeros(n_cells, bool)
                marks[(r * n_cells + cols[c]) // n_channels] = True
                return marks.nonzero()[0]
    return scan_cells(data.reshape(n_cells, -1) if channels_last else data.reshape(-1, n_cells),
                      channels_last, thr)


def grid_rows(tensor, channels_last: bool, n_cells: int, cells: np.ndarray) -> np.ndarray:
    """
    (len(cells), C) float32 rows of a grid output, dequantised: ``Plane(...).rows`` in short.

    The same values, bit for bit, without building the plane (a frame calls this per output).
    """
    if type(tensor) is QuantizedTensor:
        if tensor.axis is not None:         # per-channel quantisation
            return Plane(tensor, channels_last).rows(cells)
        data = tensor.data
        raw = data.reshape(n_cells, -1)[cells] if channels_last else \
            data.reshape(-1, n_cells)[:, cells].T
        return (raw.astype(np.float32) - as_float32(tensor.zero_point)) * as_float32(tensor.scale)
    data = np.asarray(tensor)
    raw = data.reshape(n_cells, -1)[cells] if channels_last else \
        data.reshape(-1, n_cells)[:, cells].T
    return raw.astype(np.float32, copy=False)


class Plane:
    """
    One output tensor as a 2-D raw view, channel-major (C, cells) or cell-major (cells, C).

    ``channels`` selects a channel range (the dense layout keeps box and class rows in one
    tensor). Grids are (1, C, H, W) / (1, H, W, C); dense tensors are (1, C, A) / (1, A, C).
    """

    def __init__(self, tensor, channels_last: bool, channels: slice = slice(None)):
        self.quant: Optional[QuantizedTensor] = (
            tensor if isinstance(tensor, QuantizedTensor) else None)
        data = tensor.data if self.quant is not None else np.asarray(tensor)
        if data.ndim == 4:
            n_cells = data.shape[1] * data.shape[2] if channels_last else \
                data.shape[2] * data.shape[3]
            data = data.reshape(n_cells, -1) if channels_last else data.reshape(-1, n_cells)
        elif data.ndim == 3:
            data = data[0]
        else:
            raise ValueError(f'cannot view output of shape {data.shape} as a plane')
        self.channels_last = channels_last
        self.raw = data[:, channels] if channels_last else data[channels]
        self.n_cells = self.raw.shape[0] if channels_last else self.raw.shape[1]
        self.n_channels = self.raw.shape[1] if channels_last else self.raw.shape[0]
        if self.quant is not None and self.quant.per_channel:
            self.scale = np.asarray(self.quant.scale, np.float32)[channels]
            self.zero = np.broadcast_to(np.asarray(self.quant.zero_point, np.float32),
                                        np.shape(self.quant.scale))[channels]
        elif self.quant is not None:
            self.scale, self.zero = as_float32(self.quant.scale), as_float32(self.quant.zero_point)

    def raw_threshold(self, value: float):
        """
        Return the raw threshold equivalent to ``real >= value`` (None: nothing passes).

        Per-tensor quantisation only: real >= v  <=>  q >= ceil(v / scale + zero_point).
        """
        if self.quant is None:
            return value
        return quantised_threshold(value, self.quant, self.raw.dtype)

    def cells_at_least(self, value: float) -> np.ndarray:
        """Sorted unique cell indices where any channel is >= ``value`` (a real number)."""
        if self.quant is not None and self.quant.per_channel:
            # No single raw threshold exists; per-channel scales only occur on box/coefficient
            # heads in practice, so this slow path is for completeness.
            hits = np.flatnonzero(self.rows(np.arange(self.n_cells)) >= value)
            return np.unique(hits // self.n_channels)
        thr = self.raw_threshold(value)
        if thr is None:
            return np.zeros(0, np.intp)
        return scan_cells(self.raw, self.channels_last, thr)

    def hits_at_least(self, value: float):
        """
        (cells, channels) of every entry >= ``value``, cell-major order (cells sorted).

        For heads with one score per anchor slot in a cell (YOLOv5 objectness): the entries,
        not just the cells, are wanted. Per-tensor quantisation or float only.
        """
        thr = self.raw_threshold(value)
        if thr is None:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        # nonzero of the flattened (contiguous) comparison: ~3x faster than a 2-D nonzero
        hits = (self.raw >= thr).reshape(-1).nonzero()[0]
        if self.channels_last:
            return np.divmod(hits, self.n_channels)
        channel, cell = np.divmod(hits, self.n_cells)
        order = cell.argsort(kind='stable')
        return cell[order], channel[order]

    def rows(self, cells: np.ndarray) -> np.ndarray:
        """(len(cells), C) float32 values of the given cells, dequantised."""
        raw = self.raw[cells] if self.channels_last else self.raw[:, cells].T
        if self.quant is None:
            return raw.astype(np.float32, copy=False)
        return (raw.astype(np.float32) - self.zero) * self.scale
