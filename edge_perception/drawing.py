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
"""Drawing Detections on an image for people to look at (debug topics, the demo's output)."""

import cv2
import numpy as np

from .results import Detections


def class_color(class_id: int):
    """Return a stable, distinct BGR colour per class id (golden-ratio hue walk)."""
    hue = int((class_id * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def annotate(image_bgr: np.ndarray, detections: Detections, copy: bool = True) -> np.ndarray:
    """Boxes and 'name score' labels drawn on a BGR image (a copy unless copy=False)."""
    out = image_bgr.copy() if copy else image_bgr
    thickness = max(1, round(min(out.shape[:2]) / 320))
    scale = max(0.4, min(out.shape[:2]) / 1000)
    rows = zip(detections.xyxy, detections.confidence, detections.class_id, detections.names)
    for (x1, y1, x2, y2), score, cid, name in rows:
        color = class_color(int(cid))
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(out, p1, p2, color, thickness, cv2.LINE_AA)
        label = f'{name} {score:.2f}'
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = p1[1] - th - base - 2 if p1[1] - th - base - 2 >= 0 else p1[1]
        cv2.rectangle(out, (p1[0], top), (p1[0] + tw + 2, top + th + base + 2), color, -1)
        cv2.putText(out, label, (p1[0] + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)
    return out
