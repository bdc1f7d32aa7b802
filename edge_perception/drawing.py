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
Drawing results on an image for people to look at (debug topics, the demo's output).

``annotate`` draws Detections (boxes, labels, translucent instance masks, pose skeletons),
``annotate_classes`` the top classes of a classifier, ``colorize`` a semantic map.
"""

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from .keypoints import SKELETON
from .results import Classifications, Detections, SemanticMap

MASK_ALPHA = 0.45
KEYPOINT_THRESHOLD = 0.5


def class_color(class_id: int):
    """Return a stable, distinct BGR colour per class id (golden-ratio hue walk)."""
    hue = int((class_id * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _draw_masks(out: np.ndarray, detections: Detections) -> None:
    """Blend each instance mask in its detection's colour, working inside its box only."""
    masks = detections.masks
    if (masks.height, masks.width) != out.shape[:2]:
        raise ValueError(f'masks are {masks.width}x{masks.height}, the image '
                         f'{out.shape[1]}x{out.shape[0]}')
    for i in range(len(masks)):
        x, y, inside = masks.crop(i)
        if not inside.size:
            continue
        region = out[y:y + inside.shape[0], x:x + inside.shape[1]]
        tint = tuple(MASK_ALPHA * c for c in class_color(int(detections.class_id[i]))) + (0.0,)
        blended = cv2.addWeighted(region, 1 - MASK_ALPHA, region, 0.0, 0.0)
        cv2.add(blended, tint, dst=blended)
        if hasattr(cv2, 'copyTo'):              # one SIMD pass (np.copyto with where is slow)
            cv2.copyTo(blended, inside.view(np.uint8), region)
        else:
            region[inside] = blended[inside]


def _draw_skeletons(out: np.ndarray, detections: Detections, thickness: int,
                    threshold: float) -> None:
    """Limbs (COCO skeleton for 17 keypoints) and joints at or above ``threshold``."""
    k = detections.keypoints.shape[1]
    limbs = SKELETON if k == 17 else ()
    radius = max(2, thickness + 1)
    for cid, points in zip(detections.class_id, detections.keypoints):
        color = class_color(int(cid))
        visible = points[:, 2] >= threshold
        xy = [(int(round(x)), int(round(y))) for x, y in points[:, :2]]
        for a, b in limbs:
            if visible[a] and visible[b]:
                cv2.line(out, xy[a], xy[b], color, thickness, cv2.LINE_AA)
        for j in np.flatnonzero(visible):
            cv2.circle(out, xy[j], radius, color, -1, cv2.LINE_AA)


def annotate(image_bgr: np.ndarray, detections: Detections, copy: bool = True,
             keypoint_threshold: float = KEYPOINT_THRESHOLD) -> np.ndarray:
    """
    Draw boxes and 'name score' labels on a BGR image (a copy unless copy=False).

    Tracked detections (``tracker_id`` set) are labelled '#id name score'.

    Instance masks are blended in translucent per-class colour and keypoints drawn as a
    skeleton (joints with confidence >= ``keypoint_threshold``) when the detections have them.
    """
    out = image_bgr.copy() if copy else image_bgr
    if detections.masks is not None and len(detections):
        _draw_masks(out, detections)
    thickness = max(1, round(min(out.shape[:2]) / 320))
    if detections.keypoints is not None and len(detections):
        _draw_skeletons(out, detections, thickness, keypoint_threshold)
    scale = max(0.4, min(out.shape[:2]) / 1000)
    rows = zip(detections.xyxy, detections.confidence, detections.class_id, detections.names)
    # oriented boxes (OrientedDetections) are drawn rotated, the label at their top-left
    corners = detections.corners if getattr(detections, 'angle', None) is not None else None
    track_ids = detections.tracker_id
    for index, ((x1, y1, x2, y2), score, cid, name) in enumerate(rows):
        color = class_color(int(cid))
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        if corners is not None:
            polygon = np.round(corners[index]).astype(np.int32)
            cv2.polylines(out, [polygon], True, color, thickness, cv2.LINE_AA)
            p1 = (int(polygon[:, 0].min()), int(polygon[:, 1].min()))
        else:
            cv2.rectangle(out, p1, p2, color, thickness, cv2.LINE_AA)
        label = f'{name} {score:.2f}'
        if track_ids is not None:
            label = f'#{int(track_ids[index])} {label}'
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = p1[1] - th - base - 2 if p1[1] - th - base - 2 >= 0 else p1[1]
        cv2.rectangle(out, (p1[0], top), (p1[0] + tw + 2, top + th + base + 2), color, -1)
        cv2.putText(out, label, (p1[0] + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)
    return out


def annotate_classes(image_bgr: np.ndarray, classifications: Classifications,
                     copy: bool = True) -> np.ndarray:
    """Write the classes, 'name 0.93' one a line, most probable first, at the top left."""
    out = image_bgr.copy() if copy else image_bgr
    thickness = max(1, round(min(out.shape[:2]) / 320))
    scale = max(0.4, min(out.shape[:2]) / 800)
    y = 4
    for cid, name, score in zip(classifications.class_id, classifications.names,
                                classifications.confidence):
        label = f'{name} {score:.2f}'
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        cv2.rectangle(out, (4, y), (4 + tw + 4, y + th + base + 4), class_color(int(cid)), -1)
        cv2.putText(out, label, (6, y + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
        y += th + base + 6
    return out


def palette(num_classes: int, background: Optional[Tuple[int, int, int]] = (0, 0, 0)
            ) -> np.ndarray:
    """(num_classes, 3) uint8 BGR colours, class 0 ``background`` (None: a colour too)."""
    colors = np.array([class_color(i) for i in range(max(1, num_classes))], np.uint8)
    if background is not None:
        colors[0] = background
    return colors


def colorize(semantic_map: SemanticMap, colors: Optional[Sequence] = None) -> np.ndarray:
    """Return a BGR image of a SemanticMap, one colour per class (class 0 black)."""
    class_map = semantic_map.class_map
    count = max(len(semantic_map.class_names), int(class_map.max()) + 1 if class_map.size else 1)
    table = palette(count) if colors is None else np.asarray(colors, np.uint8).reshape(-1, 3)
    if len(table) < count:
        raise ValueError(f'{len(table)} colours for {count} classes')
    return table[class_map]
