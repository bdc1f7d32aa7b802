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
The result types every stage speaks: Detections, Classifications and SemanticMap.

``Detections`` (boxes in source-image pixels, scores, classes, and instance masks or keypoints
for segmentation and pose models) is modelled on roboflow `supervision`'s (not a dependency: we
need numpy only, and the same object must travel through pre-processing, decoders, drawing and
the ROS layer). Classification models give ``Classifications`` (top-k), semantic segmentation
models a ``SemanticMap`` (a class per source pixel). Instance masks are ``InstanceMasks``
(each mask kept inside its box; ``masks.dense()`` gives the (N, H, W) array).
"""

from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy as np

from .instance_masks import InstanceMasks

__all__ = ['Classifications', 'Detections', 'InstanceMasks', 'SemanticMap']


@dataclass
class Detections:
    """
    N objects found in one image.

    xyxy: (N, 4) float32, x1, y1, x2, y2 in source-image pixels.
    confidence: (N,) float32 in [0, 1].
    class_id: (N,) int32 index into ``class_names``.
    class_names: the model's whole class table (not per detection).
    masks: optional ``InstanceMasks``, the instance masks at source resolution, each kept
    inside its box (``masks.dense()``: the (N, H, W) bool array; ``masks[i]``: one (H, W)
    mask; ``masks.id_image()``). An (N, H, W) bool array given here is converted.
    keypoints: optional (N, K, 3) float32, x, y in source pixels and a confidence.
    tracker_id: optional (N,) int64 track ids (``edge_perception.tracking``; as in
    supervision), keyword-only; None when no tracker ran.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    class_names: Tuple[str, ...] = ()
    masks: Optional[InstanceMasks] = None
    keypoints: Optional[np.ndarray] = None
    keypoint_names: Tuple[str, ...] = field(default=())
    tracker_id: Optional[np.ndarray] = field(default=None, kw_only=True)

    def __post_init__(self):
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        self.class_id = np.asarray(self.class_id, dtype=np.int32).reshape(-1)
        self.class_names = tuple(self.class_names)
        n = len(self.xyxy)
        if self.tracker_id is not None:
            self.tracker_id = np.asarray(self.tracker_id, dtype=np.int64).reshape(-1)
        if self.masks is not None and not isinstance(self.masks, InstanceMasks):
            self.masks = InstanceMasks.from_dense(self.masks)
        if len(self.confidence) != n or len(self.class_id) != n:
            raise ValueError(
                f'Detections: xyxy has {n} rows but confidence has {len(self.confidence)} '
                f'and class_id {len(self.class_id)}')
        for name in ('masks', 'keypoints', 'tracker_id'):
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
            self.keypoint_names,
            tracker_id=None if self.tracker_id is None else self.tracker_id[index])

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


@dataclass
class Classifications:
    """
    The top-k classes of one image, most confident first.

    class_id: (k,) int32 index into ``class_names``.
    confidence: (k,) float32 probabilities in [0, 1] (softmax over all classes).
    class_names: the model's whole class table.
    """

    class_id: np.ndarray
    confidence: np.ndarray
    class_names: Tuple[str, ...] = ()

    def __post_init__(self):
        self.class_id = np.asarray(self.class_id, dtype=np.int32).reshape(-1)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        self.class_names = tuple(self.class_names)
        if len(self.class_id) != len(self.confidence):
            raise ValueError(f'Classifications: {len(self.class_id)} class ids but '
                             f'{len(self.confidence)} confidences')

    def __len__(self) -> int:
        return len(self.class_id)

    @property
    def names(self) -> list:
        """Class name of each entry (the id as text where the table has no entry)."""
        table = self.class_names
        return [table[c] if 0 <= c < len(table) else str(int(c)) for c in self.class_id]

    def __repr__(self) -> str:
        rows = ', '.join(f'{n} {c:.2f}' for n, c in zip(self.names, self.confidence))
        return f'Classifications({rows})'


@dataclass
class SemanticMap:
    """
    A class per pixel of the source image.

    class_map: (H, W) uint16 class ids at source resolution.
    class_names: the model's whole class table.
    """

    class_map: np.ndarray
    class_names: Tuple[str, ...] = ()

    def __post_init__(self):
        self.class_map = np.asarray(self.class_map, dtype=np.uint16)
        if self.class_map.ndim != 2:
            raise ValueError(f'SemanticMap: class_map must be (H, W), got {self.class_map.shape}')
        self.class_names = tuple(self.class_names)

    @property
    def shape(self) -> Tuple[int, int]:
        """Return (H, W) of the map (the source image's size)."""
        return tuple(self.class_map.shape)

    @property
    def classes_present(self) -> np.ndarray:
        """Sorted (m,) int32 ids of the classes that cover at least one pixel."""
        counts = np.bincount(self.class_map.reshape(-1),
                             minlength=max(1, len(self.class_names)))
        return np.flatnonzero(counts).astype(np.int32)

    @property
    def names_present(self) -> list:
        """Names of ``classes_present``."""
        table = self.class_names
        return [table[c] if c < len(table) else str(int(c)) for c in self.classes_present]

    def __repr__(self) -> str:
        h, w = self.class_map.shape
        return f'SemanticMap({w}x{h}: {", ".join(self.names_present)})'
