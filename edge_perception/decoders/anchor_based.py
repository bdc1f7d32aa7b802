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
Anchor-based YOLOv5 heads: per stride (1, 3*(5+nc), H, W) or (1, H, W, 3*(5+nc)).

Channel a*(5+nc)+k holds, for anchor a: k=0..3 box (x, y, w, h), 4 objectness, 5.. classes.
RKNN exports apply the sigmoid inside the model; RDK exports emit logits. score = obj * cls.
"""

import functools
from typing import Tuple

import numpy as np

from .anchor_free import _candidates, _empty, _native_tensor, Candidates, per_binding
from .planes import (as_float32, grid_rows, logit, Plane, quantised_threshold,
                     sigmoid)
from .. import native
from ..layouts import Binding
from ..tensors import QuantizedTensor


@functools.lru_cache(maxsize=16)
def _slot_geometry(levels: Tuple[Tuple[int, int, int], ...], anchors: Tuple) -> np.ndarray:
    """
    Per anchor slot (cell * 3 + anchor, strides in order): col, row, stride, anchor w, h.

    float32 (slots, 5): the one table every frame's few candidates index.
    """
    tables = []
    for (stride, grid_h, grid_w), level_anchors in zip(levels, anchors):
        rows, cols = np.indices((grid_h, grid_w), np.float32).reshape(2, -1)
        per = len(level_anchors)
        tables.append(np.concatenate([
            np.repeat(np.stack([cols, rows], axis=1), per, axis=0),
            np.full((grid_h * grid_w * per, 1), stride, np.float32),
            np.tile(np.asarray(level_anchors, np.float32), (grid_h * grid_w, 1))], axis=1))
    table = np.concatenate(tables)
    table.setflags(write=False)
    return table


def _slot_geometry_of(binding: Binding) -> np.ndarray:
    return _slot_geometry(tuple((lv.stride, lv.grid_h, lv.grid_w) for lv in binding.levels),
                          tuple(tuple(map(tuple, a)) for a in binding.anchors))


def _anchor_tables(binding: Binding) -> Tuple[np.ndarray, ...]:
    """Each stride's anchors as the compiled kernel takes them: float32 w, h per anchor."""
    tables = tuple(np.ascontiguousarray(a, np.float32).reshape(-1) for a in binding.anchors)
    for table in tables:
        table.setflags(write=False)
    return tables


def _decode_anchor_native(kernels, outputs, binding: Binding, threshold: float, suppress=()):
    """Run decode_anchor through the compiled kernel; None where a tensor is not for it."""
    layout = binding.layout
    if layout.scores not in ('sigmoid', 'logit'):
        return None
    raw_thr = threshold if layout.scores == 'sigmoid' else logit(threshold)
    levels = []
    first = 0
    for level, table in zip(binding.levels, per_binding(binding, _anchor_tables)):
        # (data, raw objectness threshold, scale, zero point, quantised)
        pred = _native_tensor(outputs[level.outputs['pred']], raw_thr, layout.channels_last,
                              False)
        if pred is None:
            return None
        n_cells = level.grid_h * level.grid_w
        levels.append(pred + (layout.channels_last, n_cells, level.grid_w, first,
                              float(level.stride), table, binding.num_classes))
        first += n_cells * (len(table) // 2)
    return _candidates(kernels.anchor_decode(levels, float(threshold),
                                             layout.scores == 'logit', *suppress))


def decode_anchor(outputs, binding: Binding, threshold: float) -> Candidates:
    """
    Decode every stride; objectness is the cheap pre-filter (score = obj * cls <= obj).

    Per stride one comparison over the anchors' objectness channels finds the (cell, anchor)
    slots that can hold an object, and their rows are gathered; activation, best class and
    boxes then run once over the candidates of all strides. Where the compiled kernel is
    built (``native``) and takes the tensors, the same rules run in one call.
    """
    kernels = native.KERNELS
    if kernels is not None:
        found = _decode_anchor_native(kernels, outputs, binding, threshold)
        if found is not None:
            return found
    layout = binding.layout
    raw_thr = threshold if layout.scores == 'sigmoid' else logit(threshold)
    per_anchor = 5 + binding.num_classes
    slots, values = [], []
    first = 0
    for level, anchors in zip(binding.levels, binding.anchors):
        tensor = outputs[level.outputs['pred']]
        n = len(anchors)
        n_slots = n * level.grid_h * level.grid_w
        quant = type(tensor) is QuantizedTensor
        if layout.channels_last and not (quant and tensor.per_channel):
            # (1, H, W, n*(5+nc)) is (slots, 5+nc) rows, slot = cell * n + anchor: the
            # objectness hits are the slots themselves, and one gather takes their rows
            data = tensor.data if quant else np.asarray(tensor)
            table = data.reshape(n_slots, per_anchor)
            thr = quantised_threshold(raw_thr, tensor, data.dtype) if quant else raw_thr
            if thr is not None:
                hits = (table[:, 4] >= thr).nonzero()[0]
                if len(hits):
                    rows = table[hits]
                    values.append((rows.astype(np.float32) - as_float32(tensor.zero_point))
                                  * as_float32(tensor.scale) if quant else
                                  rows.astype(np.float32, copy=False))
                    slots.append(hits + first)
        else:
            obj = Plane(tensor, layout.channels_last, slice(4, n * per_anchor, per_anchor))
            cells, which = obj.hits_at_least(raw_thr)
            if len(cells):
                rows = grid_rows(tensor, layout.channels_last, level.grid_h * level.grid_w,
                                 cells)
                values.append(
                    rows.reshape(len(cells), n, per_anchor)[np.arange(len(cells)), which])
                slots.append(first + cells * n + which)
        first += n_slots
    if not slots:
        return _empty()
    if len(slots) > 1:
        slots, values = np.concatenate(slots), np.concatenate(values)
    else:
        slots, values = slots[0], values[0]
    # the best class of the raw values is the best probability's (activation is monotonic)
    classes = values[:, 5:]
    class_id = classes.argmax(axis=1).astype(np.int32)
    # the argmax's value (a ufunc reduction: the array methods are Python wrappers)
    picked = np.concatenate([values[:, :5], np.maximum.reduce(classes, axis=1)[:, None]],
                            axis=1)
    if layout.scores == 'logit':
        picked = sigmoid(picked)
    score = picked[:, 4] * picked[:, 5]
    if not np.minimum.reduce(score) >= threshold:       # NaN fails it too
        keep = score >= threshold
        slots, class_id, score, picked = slots[keep], class_id[keep], score[keep], picked[keep]
    geometry = per_binding(binding, _slot_geometry_of)[slots]
    xy = (picked[:, 0:2] * 2 - 0.5 + geometry[:, 0:2]) * geometry[:, 2:3]
    # x * x and * 0.5 are exactly ** 2 and / 2, without two more kinds of numpy call
    wh = picked[:, 2:4] * 2
    wh = wh * wh * geometry[:, 3:5]
    half = wh * 0.5
    xyxy = np.concatenate([xy - half, xy + half], axis=1).astype(np.float32, copy=False)
    return xyxy, score.astype(np.float32, copy=False), class_id, slots
