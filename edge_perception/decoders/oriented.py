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
Oriented boxes (YOLOv8/YOLO11-OBB): decoding, rotated NMS and the result type.

A box is (cx, cy, w, h, angle): ``xyxy`` holds the box's extents before rotation (cx -/+ w/2,
cy -/+ h/2) and ``angle`` the rotation in radians about the centre (counter-clockwise from the
image x axis towards y, i.e. clockwise on screen, as ultralytics and rknn_model_zoo use it).
Forms: rknn_model_zoo's split head (per stride (1, 64+nc, H, W) DFL and class logits, then the
angle (1, 1, anchors) as the model's sigmoid: angle = (value - 0.25) x pi), the ultralytics
export ((1, 4+nc+1, anchors): cx, cy, w, h in input pixels, class scores, angle in radians)
and YOLO26-OBB's end-to-end export ((1, max_det, 7), decoded by ``end_to_end``).
The DFL distances (l, t, r, b) give the size w = l + r, h = t + b and, rotated, the centre.
Suppression is Fast NMS (a box goes when any better box of its class overlaps it above the
threshold) with the probabilistic IoU of the boxes' Gaussians (Bhattacharyya distance), the
pair ultralytics validates OBB models with.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .anchor_free import _best_class, _empty, Candidates, dfl_distances, level_planes
from .instances import gather_rows
from .planes import logit, Plane, sigmoid
from ..layouts import Binding
from ..results import Detections


@dataclass(repr=False)
class OrientedDetections(Detections):
    """Detections with a rotation: ``xyxy`` before rotation, ``angle`` (N,) radians."""

    angle: Optional[np.ndarray] = None

    def __post_init__(self):
        super().__post_init__()
        n = len(self.xyxy)
        self.angle = np.zeros(n, np.float32) if self.angle is None else \
            np.asarray(self.angle, np.float32).reshape(-1)
        if len(self.angle) != n:
            raise ValueError(f'OrientedDetections: angle has {len(self.angle)} rows, expected {n}')

    def __getitem__(self, index) -> 'OrientedDetections':
        """Select detections with an int, a slice, an index array or a boolean mask."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        base = Detections.__getitem__(self, index)
        return OrientedDetections(base.xyxy, base.confidence, base.class_id, base.class_names,
                                  base.masks, base.keypoints, base.keypoint_names,
                                  self.angle[index], tracker_id=base.tracker_id)

    @property
    def xywhr(self) -> np.ndarray:
        """(N, 5) float32: centre x, centre y, width, height, angle (radians)."""
        return np.concatenate([self.centers_sizes, self.angle[:, None]], axis=1)

    @property
    def corners(self) -> np.ndarray:
        """(N, 4, 2) float32 corners of the rotated boxes in source pixels."""
        return rotated_corners(self.xywhr)

    def __repr__(self) -> str:
        rows = ', '.join(
            f'{n} {c:.2f} [{b[0]:.0f} {b[1]:.0f} {b[2]:.0f} {b[3]:.0f} {np.degrees(a):.0f}deg]'
            for n, c, b, a in zip(self.names, self.confidence, self.xywhr, self.angle))
        return f'OrientedDetections({len(self)}: {rows})'


def rotated_corners(xywhr: np.ndarray) -> np.ndarray:
    """(N, 4, 2) corners of (N, 5) rotated boxes: the box's own (-,-), (+,-), (+,+), (-,+)."""
    xywhr = np.asarray(xywhr, np.float64).reshape(-1, 5)
    cos, sin = np.cos(xywhr[:, 4]), np.sin(xywhr[:, 4])
    sx = np.array([-0.5, 0.5, 0.5, -0.5])[None, :] * xywhr[:, 2:3]
    sy = np.array([-0.5, -0.5, 0.5, 0.5])[None, :] * xywhr[:, 3:4]
    x = xywhr[:, 0:1] + sx * cos[:, None] - sy * sin[:, None]
    y = xywhr[:, 1:2] + sx * sin[:, None] + sy * cos[:, None]
    return np.stack([x, y], axis=2).astype(np.float32)


def _rotated_xyxy(cx, cy, dist, angle, stride):
    """Unrotated extents of DFL distances (grid units) from a cell centre, rotated by angle."""
    half_x = (dist[:, 2] - dist[:, 0]) / 2
    half_y = (dist[:, 3] - dist[:, 1]) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    x = cx + half_x * cos - half_y * sin
    y = cy + half_x * sin + half_y * cos
    w, h = dist[:, 0] + dist[:, 2], dist[:, 1] + dist[:, 3]
    return (np.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=1)
            * np.float32(stride)).astype(np.float32)


def box_angles(outputs, binding: Binding, anchor: np.ndarray) -> np.ndarray:
    """Rotation in radians of the given anchors (indices over all strides, finest first)."""
    if not len(anchor):
        return np.zeros(0, np.float32)
    if 'angle' in binding.global_outputs:
        raw = Plane(outputs[binding.global_outputs['angle']], False).rows(anchor)[:, 0]
        return ((raw - 0.25) * np.pi).astype(np.float32)
    roles = binding.levels[0].outputs if binding.levels else {}
    if 'angle' in roles:            # per stride, radians (YOLO26's OBB26)
        return gather_rows(outputs, binding, 'angle', anchor, 1)[:, 0]
    if 'angle_logit' in roles:      # per stride, the OBB head's logit (YOLOv8/YOLO11)
        raw = gather_rows(outputs, binding, 'angle_logit', anchor, 1)[:, 0]
        return ((1.0 / (1.0 + np.exp(-raw)) - 0.25) * np.pi).astype(np.float32)
    dense = outputs[binding.global_outputs.get('dense', 0)]
    if binding.layout.family == 'end_to_end':      # (1, max_det, 7): the last column
        return np.asarray(dense, np.float32)[0, anchor, 6].copy()
    row = 4 + binding.num_classes
    plane = Plane(dense, binding.dense_transposed, slice(row, row + 1))
    return plane.rows(anchor)[:, 0].astype(np.float32)


def decode_obb(outputs, binding: Binding, threshold: float) -> Candidates:
    """rknn_model_zoo's OBB head: per stride DFL + class logits, a global angle output."""
    layout = binding.layout
    raw_thr = threshold if layout.scores == 'sigmoid' else logit(threshold)
    parts, offset = [], 0
    for level in binding.levels:
        first, offset = offset, offset + level.grid_h * level.grid_w
        cls, box, _ = level_planes(outputs, level, layout, binding.reg_max)
        cells = cls.cells_at_least(raw_thr)
        if not len(cells):
            continue
        if layout.select == 'topk':     # end-to-end (YOLO26): every (cell, class) pair
            probs = cls.rows(cells)
            probs = sigmoid(probs) if layout.scores == 'logit' else probs
            row, class_id = np.nonzero(probs >= threshold)
            cells, score, class_id = cells[row], probs[row, class_id], class_id.astype(np.int32)
        else:
            cells, score, class_id = _best_class(cls, cells, layout.scores, threshold)
        if not len(cells):
            continue
        rows = box.rows(cells)      # reg_max 1 (YOLO26): the distances themselves
        dist = dfl_distances(rows, binding.reg_max) if binding.reg_max > 1 else rows
        angle = box_angles(outputs, binding, cells + first)
        cx = (cells % level.grid_w).astype(np.float32) + 0.5
        cy = (cells // level.grid_w).astype(np.float32) + 0.5
        parts.append((_rotated_xyxy(cx, cy, dist, angle, level.stride), score, class_id,
                      cells + first))
    if not parts:
        return _empty()
    return tuple(np.concatenate(p) for p in zip(*parts))


def _covariances(xywhr: np.ndarray):
    """Entries (a, b, c) of each box's covariance [[a, c], [c, b]] as a uniform rectangle."""
    var_w, var_h = xywhr[:, 2] ** 2 / 12, xywhr[:, 3] ** 2 / 12
    cos, sin = np.cos(xywhr[:, 4]), np.sin(xywhr[:, 4])
    return (var_w * cos ** 2 + var_h * sin ** 2, var_w * sin ** 2 + var_h * cos ** 2,
            (var_w - var_h) * cos * sin)


def probiou(xywhr: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """
    (N, N) probabilistic IoU: 1 - Hellinger distance of the boxes' Gaussians.

    Bhattacharyya distance of N(m1, S1), N(m2, S2) with S = (S1 + S2) / 2:
    d' S^-1 d / 8 + ln(det S / sqrt(det S1 det S2)) / 2; Hellinger = sqrt(1 - exp(-distance)).
    """
    boxes = np.asarray(xywhr, np.float64).reshape(-1, 5)
    a, b, c = _covariances(boxes)
    sa, sb, sc = a[:, None] + a[None, :], b[:, None] + b[None, :], c[:, None] + c[None, :]
    dx = boxes[:, 0][:, None] - boxes[:, 0][None, :]
    dy = boxes[:, 1][:, None] - boxes[:, 1][None, :]
    det_sum = sa * sb - sc ** 2           # det(S1 + S2) = 4 det S
    # d' S^-1 d / 8 with S^-1 = 2 (S1 + S2)^-1 = 2 [[sb, -sc], [-sc, sa]] / det_sum
    mahalanobis = (sb * dx ** 2 + sa * dy ** 2 - 2 * sc * dx * dy) / (4 * det_sum + eps)
    det = np.clip(a * b - c ** 2, 0, None)
    log_term = 0.5 * np.log(det_sum / (4 * np.sqrt(det[:, None] * det[None, :]) + eps) + eps)
    distance = np.clip(mahalanobis + log_term, eps, 100.0)
    return 1.0 - np.sqrt(1.0 - np.exp(-distance) + eps)


def rotated_nms(xyxy: np.ndarray, angle: np.ndarray, scores: np.ndarray, class_id: np.ndarray,
                iou_threshold: float, max_detections: int, agnostic: bool = False) -> np.ndarray:
    """
    Return the indices kept by class-aware Fast NMS with probabilistic IoU, best first.

    A box is dropped when a better-scored box of its class overlaps it by more than the
    threshold, whether or not that box is itself kept. Decisions depend only on better boxes
    of the same class, so each class is done alone (the IoU matrix is per class) and its best
    K candidates decide exactly; K grows while fewer than max_detections survive.
    """
    n = len(xyxy)
    if n == 0 or max_detections <= 0:
        return np.zeros(0, np.intp)
    x1, y1, x2, y2 = np.asarray(xyxy, np.float64).T
    boxes = np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, angle], axis=1)
    order = np.argsort(-scores, kind='stable')
    groups = [order] if agnostic else [order[class_id[order] == c]
                                       for c in np.unique(class_id)]
    kept = []
    for group in groups:
        k = min(len(group), 4 * max_detections)
        while True:
            top = group[:k]
            iou = np.triu(probiou(boxes[top]), 1)
            keep = top[(iou > iou_threshold).sum(axis=0) == 0]
            if len(keep) >= max_detections or k == len(group):
                kept.append(keep[:max_detections])
                break
            k = min(len(group), 4 * k)
    kept = np.concatenate(kept)
    return kept[np.argsort(-scores[kept], kind='stable')][:max_detections]


def obb_to_source(letterbox, xyxy: np.ndarray) -> np.ndarray:
    """Map unrotated extents to source pixels (not clipped: a rotated box may leave the image)."""
    return letterbox.points_to_source(np.asarray(xyxy, np.float32).reshape(-1, 2, 2)) \
        .reshape(-1, 4).astype(np.float32)
