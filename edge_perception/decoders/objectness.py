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
Heads with an objectness score (YOLOX; the YOLOv5, YOLOv6 and YOLOv7 repositories' ONNX exports).

score = objectness x best class probability, so objectness is the cheap pre-filter: only cells
whose objectness reaches the threshold are read further. Box codings (the layout's ``box``):
'yolox' (x, y offsets from the cell's corner and log w, h, all in grid units:
xy = (raw + cell) x stride, wh = exp(raw) x stride) and 'xywh' (cx, cy, w, h in input pixels,
decoded inside the model). Forms: per stride (1, 5+nc, H, W) grids (rknn_model_zoo's YOLOX) or
one dense (1, anchors, 5+nc) output, anchors finest stride first, row-major.
"""

import numpy as np

from .anchor_free import _empty, Candidates
from .planes import Plane
from ..layouts import Binding


def _scores(values: np.ndarray, threshold: float):
    """Best class and objectness x class probability of each row; rows reaching the threshold."""
    scores = values[:, 5:] * values[:, 4:5]
    class_id = scores.argmax(axis=1).astype(np.int32)
    score = scores[np.arange(len(values)), class_id]
    keep = score >= threshold
    return keep, score[keep].astype(np.float32), class_id[keep]


def _xyxy(cxcy: np.ndarray, wh: np.ndarray) -> np.ndarray:
    return np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1).astype(np.float32)


def _yolox_boxes(values, col, row, stride):
    stride = np.asarray(stride, np.float32).reshape(-1, 1)
    cxcy = (values[:, 0:2] + np.stack([col, row], axis=1)) * stride
    return _xyxy(cxcy, np.exp(values[:, 2:4]) * stride)


def decode_objectness(outputs, binding: Binding, threshold: float) -> Candidates:
    """Per-stride (1, 5+nc, H, W) grids (rknn_model_zoo's YOLOX)."""
    layout = binding.layout
    parts, offset = [], 0
    for level in binding.levels:
        first, offset = offset, offset + level.grid_h * level.grid_w
        tensor = outputs[level.outputs['pred1']]
        cells = Plane(tensor, layout.channels_last, slice(4, 5)).cells_at_least(threshold)
        if not len(cells):
            continue
        values = Plane(tensor, layout.channels_last).rows(cells)
        keep, score, class_id = _scores(values, threshold)
        if not keep.any():
            continue
        cells, values = cells[keep], values[keep]
        xyxy = _yolox_boxes(values, cells % level.grid_w, cells // level.grid_w, level.stride)
        parts.append((xyxy, score, class_id, cells + first))
    if not parts:
        return _empty()
    return tuple(np.concatenate(p) for p in zip(*parts))


def decode_dense_obj(outputs, binding: Binding, threshold: float) -> Candidates:
    """One (1, anchors, 5+nc) output, boxes decoded ('xywh') or grid-coded ('yolox')."""
    dense = outputs[binding.global_outputs.get('dense', 0)]
    cells = Plane(dense, True, slice(4, 5)).cells_at_least(threshold)
    if not len(cells):
        return _empty()
    values = Plane(dense, True).rows(cells)
    keep, score, class_id = _scores(values, threshold)
    cells, values = cells[keep], values[keep]
    if binding.layout.box == 'yolox':
        sizes = np.array([lv.grid_h * lv.grid_w for lv in binding.levels])
        level = np.searchsorted(np.cumsum(sizes), cells, side='right')
        local = cells - (np.cumsum(sizes) - sizes)[level]
        widths = np.array([lv.grid_w for lv in binding.levels])[level]
        strides = np.array([lv.stride for lv in binding.levels])[level]
        xyxy = _yolox_boxes(values, local % widths, local // widths, strides)
    else:
        xyxy = _xyxy(values[:, 0:2], values[:, 2:4])
    return xyxy, score, class_id, cells
