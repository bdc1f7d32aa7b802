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
"""Box IoU and the optimal one-to-one assignment (Hungarian, scipy) above a least IoU."""

from typing import Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ['box_iou', 'match_by_iou']


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of the x1, y1, x2, y2 boxes ``a`` (N, 4) and ``b`` (M, 4)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(union > 0, inter / union, 0.0)


def match_by_iou(tracks_xyxy: np.ndarray, detections_xyxy: np.ndarray, min_iou: float
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Pair tracks with detections (IoU >= ``min_iou``) maximising the sum of IoU - min_iou.

    That is what the reference ByteTrack's assignment with a cost limit optimises: a pair
    is worth what its IoU exceeds the least one, so two weak pairs never displace one strong
    pair. Returns (K, 2) pairs (track row, detection row), the unmatched track rows and the
    unmatched detection rows.
    """
    iou = box_iou(tracks_xyxy, detections_xyxy)
    n, m = iou.shape
    pairs = np.zeros((0, 2), np.intp)
    if n and m:
        # a pair below the least IoU gains nothing (the same as no pair), dropped below
        gain = np.where(iou >= min_iou, iou - min_iou, 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        keep = iou[rows, cols] >= min_iou
        pairs = np.stack([rows[keep], cols[keep]], axis=1).astype(np.intp)
    unmatched_tracks = np.setdiff1d(np.arange(n), pairs[:, 0]).astype(np.intp)
    unmatched_detections = np.setdiff1d(np.arange(m), pairs[:, 1]).astype(np.intp)
    return pairs, unmatched_tracks, unmatched_detections
