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

from typing import Tuple

import numpy as np

from .planes import logit, Plane, sigmoid
from ..layouts import Binding

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
    best = values[np.arange(len(cells)), class_id]
    if scores_kind == 'logit':
        best = sigmoid(best)
    keep = best >= threshold
    return cells[keep], best[keep].astype(np.float32), class_id[keep]


def dfl_distances(logits: np.ndarray, reg_max: int) -> np.ndarray:
    """
    Turn (k, 4*reg_max) DFL bin logits into (k, 4) expected distances in grid units.

    Hand-written softmax-expectation (scipy.special.softmax would add a dependency for 3 lines).
    """
    bins = logits.reshape(-1, 4, reg_max)
    bins = np.exp(bins - bins.max(axis=2, keepdims=True))
    return (bins @ np.arange(reg_max, dtype=np.float32)) / bins.sum(axis=2)


def decode_dense(outputs, binding: Binding, threshold: float) -> Candidates:
    """Decode the ultralytics (1, 4+nc[+extra], A) output: rows 0-3 are cx, cy, w, h in px."""
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


def decode_dfl(outputs, binding: Binding, threshold: float) -> Candidates:
    """Per-stride grids: box (4*reg_max DFL logits), cls, optional score_sum."""
    layout = binding.layout
    raw_thr = threshold if layout.scores == 'sigmoid' else logit(threshold)
    parts = []
    offset = 0
    for level in binding.levels:
        first, offset = offset, offset + level.grid_h * level.grid_w
        cls, box, score_sum = level_planes(outputs, level, layout, binding.reg_max)
        if score_sum is not None:
            # score_sum = clamp(sum of class scores) >= every class score: a cell below the
            # threshold there cannot hold any class above it.
            cells = score_sum.cells_at_least(raw_thr)
            if len(cells) * 8 > cls.n_cells:      # the pre-filter did not filter: full pass
                cells = cls.cells_at_least(raw_thr)
            elif len(cells):
                cells = cells[(cls.rows(cells) >= raw_thr).any(axis=1)]
        else:
            cells = cls.cells_at_least(raw_thr)
        if not len(cells):
            continue
        cells, score, class_id = _best_class(cls, cells, layout.scores, threshold)
        if not len(cells):
            continue
        dist = dfl_distances(box.rows(cells), binding.reg_max)
        cx = (cells % level.grid_w).astype(np.float32) + 0.5
        cy = (cells // level.grid_w).astype(np.float32) + 0.5
        xyxy = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]],
                        axis=1) * np.float32(level.stride)
        parts.append((xyxy, score, class_id, cells + first))
    if not parts:
        return _empty()
    return tuple(np.concatenate(p) for p in zip(*parts))
