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
Anchor-free YOLO heads (YOLOv5u, YOLOv8, YOLO11): one decoder for the whole family.

Two box encodings, chosen by the layout's family: 'dense' (ultralytics export, boxes already
cx, cy, w, h in input pixels, one tensor for all anchors) and 'dfl' (per-stride grids with raw
distribution-focal-loss logits, as RKNN and RDK heads emit). Vendor differences (NCHW/NHWC,
sigmoid inside or not, score_sum pre-filter, quantisation) are all read from the binding.
"""

import functools
import math
from typing import Tuple

import numpy as np

from .planes import (grid_cells_at_least, grid_rows, logit, one_channel_at_least, Plane,
                     quantised_threshold, sigmoid)
from .. import native
from ..layouts import Binding
from ..tensors import QuantizedTensor

# xyxy (input px), score, class id, anchor (index over all strides, finest stride first,
# row-major: the dense layout's anchor axis; instance heads gather their rows with it)
Candidates = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _empty() -> Candidates:
    return (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32),
            np.zeros(0, np.intp))


def _best_class(plane: Plane, cells: np.ndarray, scores_kind: str, threshold: float):
    """Best class and its probability for each cell; keep cells reaching ``threshold``."""
    values = plane.rows(cells)
    class_id = values.argmax(axis=1).astype(np.int32)
    best = np.maximum.reduce(values, axis=1)        # the argmax's value
    if scores_kind == 'logit':
        best = sigmoid(best)
    keep = best >= threshold
    return cells[keep], best[keep].astype(np.float32), class_id[keep]


def dfl_distances(logits: np.ndarray, reg_max: int) -> np.ndarray:
    """
    Turn (k, 4*reg_max) DFL bin logits into (k, 4) expected distances in grid units.

    Hand-written softmax-expectation (scipy.special.softmax would add a dependency for 3 lines).
    One matrix product gives each side's sum of weights and weighted bins. The logits are
    shifted by their overall maximum (a flat reduction; numpy's per-row max over 16 bins is
    ~10x slower) unless they span more than exp's safe range, then by each side's maximum.
    """
    bins = logits.reshape(-1, reg_max)
    if not len(bins):
        return np.zeros((0, 4), np.float32)
    top = np.maximum.reduce(bins, axis=None)
    if top - np.minimum.reduce(bins, axis=None) > 60.0:
        top = np.maximum.reduce(bins, axis=1, keepdims=True)
    weights = np.exp(bins - top) @ _expectation(reg_max)
    return (weights[:, 0] / weights[:, 1]).reshape(-1, 4)


@functools.lru_cache(maxsize=8)
def _expectation(reg_max: int) -> np.ndarray:
    """(reg_max, 2) float32: bin index, 1 (softmax numerator and denominator in one product)."""
    out = np.ones((reg_max, 2), np.float32)
    out[:, 0] = np.arange(reg_max)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=16)
def _anchor_geometry(levels: Tuple[Tuple[int, int, int], ...]):
    """Cell centres (A, 2) in grid units and strides (A, 1) of every anchor, float32."""
    centres, strides = [], []
    for stride, grid_h, grid_w in levels:
        rows, cols = np.indices((grid_h, grid_w), np.float32).reshape(2, -1)
        centres.append(np.stack([cols, rows], axis=1) + np.float32(0.5))
        strides.append(np.full((grid_h * grid_w, 1), stride, np.float32))
    centres, strides = np.concatenate(centres), np.concatenate(strides)
    centres.setflags(write=False)
    strides.setflags(write=False)
    return centres, strides


# x1 = cx - l, y1 = cy - t, x2 = cx + r, y2 = cy + b (adding -d is subtracting d, exactly)
_LTRB_SIGNS = np.array([-1, -1, 1, 1], np.float32)


@functools.lru_cache(maxsize=16)
def _box_geometry(levels: Tuple[Tuple[int, int, int], ...]) -> np.ndarray:
    """Return (A, 5) float32 per anchor: cx, cy, cx, cy (grid units), stride (one look-up)."""
    centres, strides = _anchor_geometry(levels)
    table = np.concatenate([centres, centres, strides], axis=1)
    table.setflags(write=False)
    return table


# id(binding) -> (binding, {builder: table}): tables built once per bound model (a Binding
# holds dicts, so it cannot be an lru_cache key); the binding is kept, so its id stays its own
_TABLES = {}


def per_binding(binding: Binding, build):
    """Return ``build(binding)``, computed once per binding (geometry tables)."""
    entry = _TABLES.get(id(binding))
    if entry is None or entry[0] is not binding:
        if len(_TABLES) >= 64:
            _TABLES.clear()
        entry = _TABLES[id(binding)] = (binding, {})
    tables = entry[1]
    table = tables.get(build)
    if table is None:
        table = tables[build] = build(binding)
    return table


def _box_geometry_of(binding: Binding) -> np.ndarray:
    return _box_geometry(tuple((lv.stride, lv.grid_h, lv.grid_w) for lv in binding.levels))


def decode_dense(outputs, binding: Binding, threshold: float) -> Candidates:
    """Decode the ultralytics (1, 4+nc[+extra], A) output: rows 0-3 are cx, cy, w, h in px."""
    kernels = native.KERNELS
    if kernels is not None:
        found = _decode_dense_native(kernels, outputs, binding, threshold)
        if found is not None:
            return found
    transposed = binding.dense_transposed
    dense = outputs[binding.global_outputs.get('dense', 0)]
    cls = Plane(dense, transposed, slice(4, 4 + binding.num_classes))
    cells = cls.cells_at_least(threshold)
    if not len(cells):
        return _empty()
    cells, score, class_id = _best_class(cls, cells, binding.layout.scores, threshold)
    cxcywh = Plane(dense, transposed, slice(0, 4)).rows(cells)
    half = cxcywh[:, 2:] / 2
    xyxy = np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)
    return xyxy, score, class_id, cells


def level_planes(outputs, level, layout, reg_max: int):
    """Return the (cls, box, score_sum or None) planes of one stride, whatever the packing."""
    roles, last = level.outputs, layout.channels_last
    if 'boxcls' in roles:       # RKNN pose: DFL bins then class logits in one tensor
        tensor = outputs[roles['boxcls']]
        return (Plane(tensor, last, slice(4 * reg_max, None)),
                Plane(tensor, last, slice(0, 4 * reg_max)), None)
    score_sum = Plane(outputs[roles['score_sum']], last) if 'score_sum' in roles else None
    return Plane(outputs[roles['cls']], last), Plane(outputs[roles['box']], last), score_sum


# element types the compiled decoder reads (native._native: int8/uint8/int16/int32/f32/f64)
_NATIVE_DTYPES = frozenset(np.dtype(t) for t in ('i1', 'u1', 'i2', 'i4', 'f4', 'f8'))


def _native_tensor(tensor, thr, channels_last: bool, per_channel_ok: bool):
    """
    Return one output as the compiled decoder takes it, or None where it cannot.

    (data, raw threshold, scale, zero point, quantised); None: the numpy path decodes the
    frame. A raw threshold no value can reach is +inf; a per-channel scale (box heads only) comes
    as float32 arrays along the channel axis.
    """
    if type(tensor) is QuantizedTensor:
        data = tensor.data
        if tensor.axis is not None:
            if not per_channel_ok or data.ndim != 4 or tensor.axis != (3 if channels_last else 1):
                return None
            scale = np.ascontiguousarray(tensor.scale, np.float32)
            zero = np.ascontiguousarray(np.broadcast_to(
                np.asarray(tensor.zero_point, np.float32), scale.shape))
            quant = (data, 0.0, scale, zero, True)
        elif not tensor.scale > 0:      # no raw threshold: the numpy path decides
            return None
        else:
            raw = None if thr is None else quantised_threshold(float(thr), tensor, data.dtype)
            quant = (data, math.inf if raw is None else float(raw), float(tensor.scale),
                     float(tensor.zero_point), True)
    else:
        data = tensor if type(tensor) is np.ndarray else np.asarray(tensor)
        quant = (data, 0.0 if thr is None else float(thr), 1.0, 0.0, False)
    if data.dtype not in _NATIVE_DTYPES or not data.flags.c_contiguous:
        return None
    return quant


def _decode_dfl_native(kernels, outputs, binding: Binding, threshold: float, suppress=()):
    """
    Run decode_dfl through the compiled kernel; None where a tensor is not for it.

    ``suppress``: (iou threshold, max detections, agnostic) to return only what NMS keeps.
    """
    layout = binding.layout
    raw_thr = threshold if layout.scores == 'sigmoid' else logit(threshold)
    last = layout.channels_last
    ltrb = getattr(layout, 'box', '') == 'ltrb'
    if layout.scores not in ('sigmoid', 'logit') or not (ltrb or 1 <= binding.reg_max <= 64):
        return None
    levels = []
    first = 0
    for level in binding.levels:
        roles = level.outputs
        n_cells = level.grid_h * level.grid_w
        if 'boxcls' in roles:
            return None
        cls = _native_tensor(outputs[roles['cls']], raw_thr, last, False)
        box = _native_tensor(outputs[roles['box']], None, last, True)
        if cls is None or box is None:
            return None
        ss, ss_thr = None, 0.0
        if 'score_sum' in roles:
            found = _native_tensor(outputs[roles['score_sum']], raw_thr, last, False)
            if found is None:
                return None
            ss, ss_thr = found[0], found[1]
            if ss_thr == math.inf:
                ss = False              # no score_sum value can pass: no candidates
        levels.append((cls[0], cls[1], cls[2], cls[3], cls[4], box[0], box[2], box[3], box[4],
                       ss, ss_thr, last, n_cells, level.grid_w, first, float(level.stride)))
        first += n_cells
    return _candidates(kernels.dfl_decode(
        levels, float(threshold), layout.scores == 'logit', int(binding.reg_max),
        _LTRB if ltrb else _DFL, *suppress))


# box codings of native.dfl_decode
_DFL, _LTRB, _CXCYWH = 0, 1, 2


def _candidates(found) -> Candidates:
    """Return the kernel's bytearrays as the decoders' arrays (writable views, no copy)."""
    xyxy, score, class_id, anchor = found
    return (np.frombuffer(xyxy, np.float32).reshape(-1, 4), np.frombuffer(score, np.float32),
            np.frombuffer(class_id, np.int32), np.frombuffer(anchor, np.intp))


def _decode_dense_native(kernels, outputs, binding: Binding, threshold: float, suppress=()):
    """
    Run decode_dense through the compiled kernel; None where the tensor is not for it.

    The (1, 4+nc[+extra], A) head as one 'stride' of A cells, channel-major: its class rows
    and box rows are contiguous views. The transposed (1, A, C) head goes to numpy.
    """
    if binding.dense_transposed or binding.layout.scores not in ('sigmoid', 'logit'):
        return None
    found = _native_tensor(outputs[binding.global_outputs.get('dense', 0)], threshold, False,
                           False)
    if found is None or found[0].ndim != 3:
        return None
    data, cls_thr, scale, zero, quantised = found
    rows = data[0]
    n_cells = rows.shape[1]
    level = (rows[4:4 + binding.num_classes], cls_thr, scale, zero, quantised, rows[:4], scale,
             zero, quantised, None, 0.0, False, n_cells, n_cells, 0, 1.0)
    return _candidates(kernels.dfl_decode(
        (level,), float(threshold), binding.layout.scores == 'logit', 16, _CXCYWH,
        *suppress))


def decode_dfl(outputs, binding: Binding, threshold: float) -> Candidates:
    """
    Per-stride grids: box (4*reg_max DFL logits, or 4 distances), cls, optional score_sum.

    Each stride only finds its candidate cells (one pass over score_sum, or over the class
    scores where there is none) and gathers their rows; best class, activation, DFL and boxes
    then run once over the candidates of all strides together. Every frame's cost beyond that
    one pass is a fixed number of small numpy calls (each one cold after an inference): the
    same few kinds per stride, one table look-up for the geometry. Where the compiled kernel
    is built (``native``) and takes the tensors, the same rules run in one call.
    """
    layout = binding.layout
    kernels = native.KERNELS
    if kernels is not None:
        found = _decode_dfl_native(kernels, outputs, binding, threshold)
        if found is not None:
            return found
    raw_thr = threshold if layout.scores == 'sigmoid' else logit(threshold)
    last = layout.channels_last
    anchors, values, bins = [], [], []
    first = 0
    for level in binding.levels:
        roles = level.outputs
        n_cells = level.grid_h * level.grid_w
        if 'boxcls' in roles:
            cls, box, _ = level_planes(outputs, level, layout, binding.reg_max)
            cells = cls.cells_at_least(raw_thr)
        else:
            cls_t, box_t = outputs[roles['cls']], outputs[roles['box']]
            cells = None
            if 'score_sum' in roles:
                # score_sum = clamp(sum of class scores) >= every class score: a cell below
                # the threshold there cannot hold any class above it.
                cells = one_channel_at_least(outputs[roles['score_sum']], raw_thr)
                if len(cells) * 8 > n_cells:    # the pre-filter did not filter: full pass
                    cells = None
            if cells is None:
                cells = grid_cells_at_least(cls_t, last, n_cells, raw_thr)
        if len(cells):
            anchors.append(cells + first)
            if 'boxcls' in roles:
                values.append(cls.rows(cells))
                bins.append(box.rows(cells))
            else:
                values.append(grid_rows(cls_t, last, n_cells, cells))
                bins.append(grid_rows(box_t, last, n_cells, cells))
        first += n_cells
    if not anchors:
        return _empty()
    if len(anchors) > 1:
        anchors, values, bins = (np.concatenate(anchors), np.concatenate(values),
                                 np.concatenate(bins))
    else:
        anchors, values, bins = anchors[0], values[0], bins[0]
    class_id = values.argmax(axis=1).astype(np.int32)
    # the argmax's value; ufunc reductions directly (the array methods are Python wrappers)
    score = np.maximum.reduce(values, axis=1)
    if layout.scores == 'logit':
        score = sigmoid(score)
    # a candidate whose best class fell below the threshold (score_sum passed, or rounding at
    # the boundary): the minimum (reused by the DFL below; NaN fails it) is checked first
    if not np.minimum.reduce(score) >= threshold:
        keep = score >= threshold
        anchors, class_id, score, bins = anchors[keep], class_id[keep], score[keep], bins[keep]
    if getattr(layout, 'box', '') == 'ltrb':      # four plain distances (no DFL bins)
        dist = bins.astype(np.float32, copy=False)
    else:
        dist = dfl_distances(bins, binding.reg_max)
    cell = per_binding(binding, _box_geometry_of)[anchors]
    xyxy = (cell[:, :4] + dist * _LTRB_SIGNS) * cell[:, 4:]
    return xyxy, score.astype(np.float32, copy=False), class_id, anchors


def fused_nms(native_decode):
    """
    Make one family's decode then nms() a single compiled call through ``native_decode``.

    The result, ``decode_nms(outputs, binding, threshold, iou, max_detections, agnostic)``,
    returns what NMS keeps, in its order, or None where the kernels are not built or do not
    take the tensors (the caller then decodes, then calls nms()).
    """
    def decode_nms(outputs, binding: Binding, threshold: float, iou_threshold: float,
                   max_detections: int, agnostic: bool):
        kernels = native.KERNELS
        if kernels is None:
            return None
        return native_decode(kernels, outputs, binding, threshold,
                             (float(iou_threshold), int(max_detections), bool(agnostic)))
    return decode_nms
