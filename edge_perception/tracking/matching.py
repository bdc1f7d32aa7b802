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

from typing import List, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ['assign', 'box_iou', 'corner_iou', 'match_by_iou']


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of the x1, y1, x2, y2 boxes ``a`` (N, 4) and ``b`` (M, 4)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    return corner_iou(a[:, :2], a[:, 2:], b)


def corner_iou(top_left: np.ndarray, bottom_right: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of N boxes given by their (N, 2) corners (x, y) and (M, 4) x1 y1 x2 y2 ``b``."""
    b = np.asarray(b, np.float64).reshape(-1, 4).T
    # per pair: the intersection's width and height, clipped at 0, their product
    inter = np.minimum(bottom_right[:, 0:1], b[2])
    inter -= np.maximum(top_left[:, 0:1], b[0])
    np.maximum(inter, 0.0, out=inter)
    height = np.minimum(bottom_right[:, 1:2], b[3])
    height -= np.maximum(top_left[:, 1:2], b[1])
    np.maximum(height, 0.0, out=height)
    inter *= height
    side_a = bottom_right - top_left
    np.maximum(side_a, 0.0, out=side_a)
    side_b = b[2:] - b[:2]
    np.maximum(side_b, 0.0, out=side_b)
    union = (side_a[:, 0] * side_a[:, 1])[:, None] + side_b[0] * side_b[1]
    union -= inter
    if union.size and union.min() > 0:
        return np.divide(inter, union, out=inter)
    return np.divide(inter, union, out=np.zeros(union.shape), where=union > 0)


def assign(iou: np.ndarray, min_iou: float, forced: bool = True
           ) -> Tuple[List[int], List[int]]:
    """
    Rows and columns of the best one-to-one pairs of an (N, M) IoU matrix, IoU >= ``min_iou``.

    Best: the largest sum of IoU - min_iou, as the reference ByteTrack's assignment with a
    cost limit optimises (a pair is worth what its IoU exceeds the least one, so two weak
    pairs never displace one strong pair). Pairs come in increasing row order.

    The assignment is forced, and the Hungarian algorithm is skipped, when every row and
    every column has at most one candidate (IoU >= min_iou) and every candidate's IoU exceeds
    min_iou. Proof: the candidates are then a matching M of total gain G, every gain being
    > 0. Any assignment keeps only candidates (the others are dropped), so its kept pairs
    are a subset of M and gain at most G, and exactly G only if it holds all of M (leaving
    out a pair loses that pair's gain > 0). M itself is possible, so the optimum is M and
    ``linear_sum_assignment`` returns M plus pairs of gain 0, which are not candidates
    (IoU < min_iou) and are dropped. With a candidate at exactly min_iou (gain 0) the
    algorithm's own choice decides, so it runs. ``forced=False``: do not look for this case
    (the caller knows it is not).
    """
    n, m = iou.shape
    if not n or not m:
        return [], []
    candidates = iou >= min_iou
    if forced:
        rows, cols = np.nonzero(candidates)
        r, c = rows.tolist(), cols.tolist()
        if not r:
            return [], []
        if len(set(r)) == len(r) and len(set(c)) == len(c) and \
                iou[rows, cols].min() > min_iou:
            return r, c                                 # np.nonzero: rows in order
    # a pair below the least IoU gains nothing (the same as no pair), dropped below
    gain = np.where(candidates, iou - min_iou, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    keep = candidates[rows, cols]
    return rows[keep].tolist(), cols[keep].tolist()


def match_by_iou(tracks_xyxy: np.ndarray, detections_xyxy: np.ndarray, min_iou: float
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Pair tracks with detections (IoU >= ``min_iou``) maximising the sum of IoU - min_iou.

    See ``assign``. Returns (K, 2) pairs (track row, detection row), the unmatched track
    rows and the unmatched detection rows.
    """
    iou = box_iou(tracks_xyxy, detections_xyxy)
    n, m = iou.shape
    rows, cols = assign(iou, min_iou)
    pairs = np.array([rows, cols], np.intp).T.reshape(-1, 2)
    unmatched_tracks = np.setdiff1d(np.arange(n), pairs[:, 0]).astype(np.intp)
    unmatched_detections = np.setdiff1d(np.arange(m), pairs[:, 1]).astype(np.intp)
    return pairs, unmatched_tracks, unmatched_detections
