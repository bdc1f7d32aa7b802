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
The one result type every stage speaks: boxes in source-image pixels, scores, classes.

Modelled on roboflow `supervision`'s ``Detections`` (not a dependency: we need numpy only, and
the same object must travel through pre-processing, decoders, drawing and the ROS layer).
"""

from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy as np


@dataclass
class Detections:
    """
    N objects found in one image.

    xyxy: (N, 4) float32, x1, y1, x2, y2 in source-image pixels.
    confidence: (N,) float32 in [0, 1].
    class_id: (N,) int32 index into ``class_names``.
    class_names: the model's whole class table (not per detection).
    masks: optional (N, H, W) bool instance masks at source resolution.
    keypoints: optional (N, K, 3) float32, x, y in source pixels and a confidence.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    class_names: Tuple[str, ...] = ()
    masks: Optional[np.ndarray] = None
    keypoints: Optional[np.ndarray] = None
    keypoint_names: Tuple[str, ...] = field(default=())

    def __post_init__(self):
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        self.class_id = np.asarray(self.class_id, dtype=np.int32).reshape(-1)
        self.class_names = tuple(self.class_names)
        n = len(self.xyxy)
        if len(self.confidence) != n or len(self.class_id) != n:
            raise ValueError(
                f'Detections: xyxy has {n} rows but confidence has {len(self.confidence)} '
                f'and class_id {len(self.class_id)}')
        for name in ('masks', 'keypoints'):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f'Detections: {name} has {len(value)} rows, expected {n}')

    @classmethod
    def empty(cls, class_names: Sequence[str] = ()) -> 'Detections':
        """No detections, with the class table kept."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.int32), tuple(class_names))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> 'Detections':
        """Select detections with an int, a slice, an index array or a boolean mask."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            self.xyxy[index], self.confidence[index], self.class_id[index], self.class_names,
            None if self.masks is None else self.masks[index],
            None if self.keypoints is None else self.keypoints[index],
            self.keypoint_names)

    @property
    def names(self) -> list:
        """Class name of each detection (the id as text where the table has no entry)."""
        table = self.class_names
        return [table[c] if 0 <= c < len(table) else str(int(c)) for c in self.class_id]

    @property
    def centers_sizes(self) -> np.ndarray:
        """(N, 4) float32: centre x, centre y, width, height in source pixels."""
        x1, y1, x2, y2 = self.xyxy.T
        return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=1)

    def __repr__(self) -> str:
        rows = ', '.join(
            f'{n} {c:.2f} [{b[0]:.0f} {b[1]:.0f} {b[2]:.0f} {b[3]:.0f}]'
            for n, c, b in zip(self.names, self.confidence, self.xyxy))
        return f'Detections({len(self)}: {rows})'
