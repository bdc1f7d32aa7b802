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
End-to-end heads (YOLOv10, YOLO26): the model ranks its own boxes, nothing is suppressed here.

Two forms: the ultralytics export's ``(1, max_det, 6)`` output (x1, y1, x2, y2 in input pixels,
score, class, after the model's own top-k; YOLO26-OBB: ``(1, max_det, 7)``, cx, cy, w, h,
score, class, angle), and rknn_model_zoo's YOLOv10 split head (per stride
DFL boxes and class probabilities of the one-to-one branch). The zoo's post-processing takes the
best 300 anchors by their best class, then the best 300 (anchor, class) pairs among them; that
set is the best ``max_det`` pairs over all anchors, which is what ``decode_dfl_topk`` gives
(every pair at or above the threshold, ranked by ``select_top_k``). An anchor may thus carry
more than one class, as in the vendor's and ultralytics' own code.
"""

import numpy as np

from .anchor_free import _empty, Candidates, dfl_distances, level_planes
from .planes import logit, sigmoid
from ..layouts import Binding


def decode_end_to_end(outputs, binding: Binding, threshold: float) -> Candidates:
    """
    Rows of the (1, max_det, 6) output whose score reaches ``threshold``.

    Oriented boxes ((1, max_det, 7): cx, cy, w, h, score, class, angle) give their extents
    before rotation; the angle is read by ``oriented.box_angles`` from the same rows.
    """
    rows = np.asarray(outputs[binding.global_outputs.get('dense', 0)], np.float32)[0]
    keep = np.flatnonzero(rows[:, 4] >= threshold)
    if not len(keep):
        return _empty()
    rows = rows[keep]
    boxes = np.ascontiguousarray(rows[:, :4])
    if binding.layout.box == 'xywhr':
        half = boxes[:, 2:] / 2
        boxes = np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)
    return boxes, rows[:, 4].copy(), np.rint(rows[:, 5]).astype(np.int32), keep.astype(np.intp)


def decode_dfl_topk(outputs, binding: Binding, threshold: float) -> Candidates:
    """Every (cell, class) of a DFL split head with a probability at or above ``threshold``."""
    raw_thr = threshold if binding.layout.scores == 'sigmoid' else logit(threshold)
    parts, offset = [], 0
    for level in binding.levels:
        first, offset = offset, offset + level.grid_h * level.grid_w
        cls, box, score_sum = level_planes(outputs, level, binding.layout, binding.reg_max)
        cells = (score_sum if score_sum is not None else cls).cells_at_least(raw_thr)
        if not len(cells):
            continue
        probs = cls.rows(cells)
        if binding.layout.scores == 'logit':        # RDK heads: activated on the CPU
            probs = sigmoid(probs)
        row, class_id = np.nonzero(probs >= threshold)
        if not len(row):
            continue
        cells = cells[row]
        rows = box.rows(cells)      # reg_max 1 (YOLO26): the distances themselves
        dist = dfl_distances(rows, binding.reg_max) if binding.reg_max > 1 else rows
        cx = (cells % level.grid_w).astype(np.float32) + 0.5
        cy = (cells // level.grid_w).astype(np.float32) + 0.5
        xyxy = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]],
                        axis=1) * np.float32(level.stride)
        parts.append((xyxy, probs[row, class_id].astype(np.float32), class_id.astype(np.int32),
                      cells + first))
    if not parts:
        return _empty()
    return tuple(np.concatenate(p) for p in zip(*parts))


def select_top_k(score: np.ndarray, max_detections: int) -> np.ndarray:
    """Return the indices of the ``max_detections`` best scores, best first (no NMS)."""
    return np.argsort(-score, kind='stable')[:max_detections]
