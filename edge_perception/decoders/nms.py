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
Class-aware non-maximum suppression on top of OpenCV's NMSBoxes.

cv2.dnn.NMSBoxesBatched would do the class-aware part itself but only exists from OpenCV 4.7;
Humble's python3-opencv is 4.5.4, so classes are separated with the usual coordinate offset.
"""

import cv2
import numpy as np


def nms(xyxy: np.ndarray, scores: np.ndarray, class_id: np.ndarray, iou_threshold: float,
        max_detections: int, agnostic: bool = False) -> np.ndarray:
    """
    Return the indices of the boxes kept, highest score first, at most ``max_detections``.

    OpenCV compares each candidate with every box kept so far and cannot stop early, which is
    slow with thousands of candidates (a low threshold). Greedy NMS decisions depend only on
    higher-scored boxes, so running it on the best K candidates is exact for the boxes it keeps:
    K starts at 4 x max_detections and grows only while fewer than max_detections survive.
    """
    n = len(xyxy)
    if n == 0 or max_detections <= 0:
        return np.zeros(0, np.intp)
    boxes = xyxy.astype(np.float64)
    if not agnostic and n > 1:
        # Shift each class far enough that boxes of different classes never overlap.
        span = float(boxes.max() - min(boxes.min(), 0.0)) + 1.0
        boxes = boxes + (class_id.astype(np.float64) * span)[:, None]
    boxes[:, 2:] -= boxes[:, :2]                  # OpenCV takes x, y, w, h
    k = min(n, 4 * max_detections)
    if k == n:
        # all of them: OpenCV sorts by score itself (a stable sort, as ours below)
        keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.astype(float).tolist(),
                                score_threshold=0.0, nms_threshold=float(iou_threshold))
        return np.asarray(keep, dtype=np.intp).reshape(-1)[:max_detections]
    order = np.argsort(-scores, kind='stable')
    while True:
        top = order[:k]
        keep = cv2.dnn.NMSBoxes(boxes[top].tolist(), scores[top].astype(float).tolist(),
                                score_threshold=0.0, nms_threshold=float(iou_threshold))
        keep = np.asarray(keep, dtype=np.intp).reshape(-1)
        if len(keep) >= max_detections or k == n:
            return top[keep[:max_detections]]
        k = min(n, 4 * k)
