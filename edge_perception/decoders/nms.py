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
Class-aware non-maximum suppression: OpenCV's NMSBoxes, or its greedy rule in plain Python.

cv2.dnn.NMSBoxesBatched would do the class-aware part itself but only exists from OpenCV 4.7;
Humble's python3-opencv is 4.5.4, so classes are separated with the usual coordinate offset.
A frame's few candidates (20 objects: ~40 boxes in ~20 classes) take a plain-Python greedy
pass with OpenCV's rule instead, cheaper than the numpy and OpenCV calls around NMSBoxes.
Where the compiled kernels are built (``native``), that same greedy rule runs compiled, for
any number of boxes.
"""

import math
from typing import Optional

import cv2
import numpy as np

from .. import native

# Plain Python while the same-class pairs it may compare stay few: its cost grows with them
# (measured after a cache flush: 40 boxes in 20 classes 110 us against OpenCV's 145 us;
# 20 boxes of one class, agnostic, 170 us against 90 us). Agnostic: n * (n - 1) pairs;
# class-aware: the pass counts the comparisons it makes and hands over to OpenCV past 50.
_PY_MAX_BOXES = 96
_PY_MAX_PAIRS = 50
_EPS = float(np.finfo(np.float64).eps)
_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


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
    kernels = native.KERNELS
    if kernels is not None and xyxy.dtype in _NATIVE_FLOATS and scores.dtype in _NATIVE_FLOATS:
        classes = None if agnostic else (
            class_id if class_id.dtype == np.int32 else class_id.astype(np.int32))
        keep = kernels.greedy_nms(np.ascontiguousarray(xyxy), np.ascontiguousarray(scores),
                                  None if classes is None else np.ascontiguousarray(classes),
                                  float(iou_threshold), int(max_detections))
        return np.frombuffer(keep, np.intp)
    if n <= _PY_MAX_BOXES and (not agnostic or n * (n - 1) <= 2 * _PY_MAX_PAIRS):
        # class-aware: the pass gives up (None) once it has compared more same-class pairs
        # than it is cheap for, rather than counting the classes' sizes first
        keep = greedy_nms(xyxy.tolist(), scores.tolist(),
                          [0] * n if agnostic else class_id.tolist(), float(iou_threshold),
                          max_detections, _PY_MAX_PAIRS)
        if keep is not None:
            return keep
    boxes = np.empty((n, 4))                        # float64, as OpenCV's Rect2d
    boxes[...] = xyxy
    if not agnostic and n > 1:
        # Shift each class far enough that boxes of different classes never overlap.
        low = float(np.minimum.reduce(boxes, axis=None))
        span = float(np.maximum.reduce(boxes, axis=None)) - min(low, 0.0) + 1.0
        boxes += (class_id * span)[:, None]
    boxes[:, 2:] -= boxes[:, :2]                  # OpenCV takes x, y, w, h
    k = min(n, 4 * max_detections)
    if k == n:
        # all of them: OpenCV sorts by score itself (a stable sort, as ours below); numpy
        # arrays in (no lists: their conversion is most of the cost for a few boxes)
        keep = cv2.dnn.NMSBoxes(boxes, scores.astype(np.float32, copy=False),
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


def greedy_nms(boxes, scores, classes, iou_threshold: float, max_detections: int,
               max_pairs: Optional[int] = None) -> Optional[np.ndarray]:
    """
    cv2.dnn.NMSBoxes' greedy rule on Python lists (x1, y1, x2, y2 boxes), class by class.

    As OpenCV (modules/dnn/src/nms.inl.hpp, jaccardDistance), fed boxes shifted apart by
    class: scores > 0 only, a stable sort by score, a box dropped when its overlap with a kept
    box exceeds the threshold; an empty box (w or h <= 0) overlaps nothing, and two boxes
    whose areas sum to <= DBL_EPSILON overlap fully, whatever their classes (the class offset
    moves boxes, not areas). OpenCV rounds the overlap to float32 before comparing; this
    compares in float64 (they can differ only for an overlap within ~1e-7 of the threshold).
    ``max_pairs``: return None after that many same-class comparisons (OpenCV is then the
    cheaper pass). Written for a cold call (after an inference evicted the caches): plain
    comparisons instead of min()/max(), no generator, one dict look-up per box.
    """
    order = sorted([i for i in range(len(scores)) if scores[i] > 0.0],
                   key=scores.__getitem__, reverse=True)
    kept_of = {}
    keep = []
    least = math.inf                # the smallest area kept (the DBL_EPSILON rule above)
    full = 1.0 > iou_threshold
    budget = math.inf if max_pairs is None else max_pairs
    for i in order:
        x1, y1, x2, y2 = boxes[i]
        area = (x2 - x1) * (y2 - y1)
        if full and area + least <= _EPS:
            continue
        if x2 > x1 and y2 > y1:         # an empty box overlaps nothing: never compared
            kept = kept_of.get(classes[i])
            if kept is None:
                kept_of[classes[i]] = [(x1, y1, x2, y2, area)]
            else:
                budget -= len(kept)
                if budget < 0:
                    return None
                for a1, b1, a2, b2, kept_area in kept:
                    w = (x2 if x2 < a2 else a2) - (x1 if x1 > a1 else a1)
                    if w > 0.0:
                        h = (y2 if y2 < b2 else b2) - (y1 if y1 > b1 else b1)
                        if h > 0.0:
                            inter = w * h
                            if inter / (area + kept_area - inter) > iou_threshold:
                                break
                else:
                    kept.append((x1, y1, x2, y2, area))
                    keep.append(i)
                    if area < least:
                        least = area
                    if len(keep) == max_detections:
                        break
                continue
        keep.append(i)
        if area < least:
            least = area
        if len(keep) == max_detections:
            break
    return np.array(keep, np.intp)
