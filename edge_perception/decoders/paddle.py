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
PaddleDetection's exported heads (paddle2onnx): PP-YOLOE(+), PicoDet and the other ppdet heads.

PaddleDetection's ``post_process`` (ppdet/modeling/heads/ppyoloe_head.py) decodes the boxes
inside the model and divides them by the ``scale_factor`` input; the ONNX Runtime backend feeds
a scale of 1, so they stay in network-input pixels. Two forms:

- ``paddle_nms``: the model's own MultiClassNMS (``multiclass_nms3``): rows (N, 6) class,
  score, x1, y1, x2, y2 and their count (1,); rows with class -1 are padding (as
  PaddleDetection's deploy/third_engine/onnx/infer.py skips them). Nothing is suppressed here.
- ``paddle_boxes_scores`` (``exclude_nms=True``): boxes (1, N, 4) and class probabilities
  (1, nc, N). As PaddleDetection's MultiClassNMS, every (box, class) pair above the threshold
  is a candidate and NMS runs per class.
"""

import numpy as np

from .anchor_free import _empty, Candidates
from ..layouts import Binding


def decode_paddle_nms(outputs, binding: Binding, threshold: float) -> Candidates:
    """Rows of the model's NMS output, up to its count, of a class and a score >= threshold."""
    rows = np.asarray(outputs[binding.global_outputs['dense']], np.float32).reshape(-1, 6)
    count = int(np.asarray(outputs[binding.global_outputs['count']]).reshape(-1)[0])
    rows = rows[:max(0, min(count, len(rows)))]
    keep = np.flatnonzero((rows[:, 0] > -1) & (rows[:, 1] >= threshold))
    if not len(keep):
        return _empty()
    rows = rows[keep]
    return (np.ascontiguousarray(rows[:, 2:6]), rows[:, 1].copy(),
            np.rint(rows[:, 0]).astype(np.int32), keep.astype(np.intp))


def decode_paddle_boxes_scores(outputs, binding: Binding, threshold: float) -> Candidates:
    """Every (box, class) pair whose probability reaches ``threshold`` (NMS follows per class)."""
    boxes = np.asarray(outputs[binding.global_outputs['dense']], np.float32)[0]
    scores = np.asarray(outputs[binding.global_outputs['scores']], np.float32)[0]
    class_id, anchor = np.nonzero(scores >= threshold)
    if not len(anchor):
        return _empty()
    return (np.ascontiguousarray(boxes[anchor]), scores[class_id, anchor],
            class_id.astype(np.int32), anchor.astype(np.intp))
