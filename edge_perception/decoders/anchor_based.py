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

import numpy as np

from .anchor_free import _empty, Candidates
from .planes import logit, Plane, sigmoid
from ..layouts import Binding


def decode_anchor(outputs, binding: Binding, threshold: float) -> Candidates:
    """Decode every stride; objectness is the cheap pre-filter (score <= objectness)."""
    layout = binding.layout
    activate = sigmoid if layout.scores == 'logit' else (lambda x: x)
    raw_thr = threshold if layout.scores == 'sigmoid' else logit(threshold)
    per_anchor = 5 + binding.num_classes
    parts = []
    offset = 0
    for level, anchors in zip(binding.levels, binding.anchors):
        first, offset = offset, offset + 3 * level.grid_h * level.grid_w
        tensor = outputs[level.outputs['pred']]
        for a, (anchor_w, anchor_h) in enumerate(anchors):
            base = a * per_anchor
            obj = Plane(tensor, layout.channels_last, slice(base + 4, base + 5))
            cells = obj.cells_at_least(raw_thr)
            if not len(cells):
                continue
            values = activate(Plane(tensor, layout.channels_last,
                                    slice(base, base + per_anchor)).rows(cells))
            scores = values[:, 5:] * values[:, 4:5]
            class_id = scores.argmax(axis=1).astype(np.int32)
            score = scores[np.arange(len(cells)), class_id]
            keep = score >= threshold
            if not keep.any():
                continue
            cells, values = cells[keep], values[keep]
            grid = np.stack([cells % level.grid_w, cells // level.grid_w], axis=1)
            xy = (values[:, 0:2] * 2 - 0.5 + grid) * level.stride
            wh = (values[:, 2:4] * 2) ** 2 * np.array([anchor_w, anchor_h], np.float32)
            xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], axis=1).astype(np.float32)
            parts.append((xyxy, score[keep].astype(np.float32), class_id[keep],
                          first + cells * 3 + a))
    if not parts:
        return _empty()
    return tuple(np.concatenate(p) for p in zip(*parts))
