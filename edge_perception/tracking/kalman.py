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
A constant-velocity Kalman filter over boxes, vectorised over tracks.

State per track: centre x, centre y, width, height and their velocities (8 values); the
measurement is the box (centre x, centre y, width, height). Process and measurement noise
scale with the box's size (a 20-pixel jitter is large for a 40-pixel box and small for a
400-pixel one), the choice of SORT and ByteTrack. Written from the textbook equations
(predict: x = F x, P = F P F' + Q; update: K = P H' (H P H' + R)^-1).
"""

from typing import Tuple

import numpy as np

__all__ = ['BoxKalman', 'cxcywh_to_xyxy', 'xyxy_to_cxcywh']

MIN_SIZE = 1e-3     # a predicted width or height never goes below this (pixels)


def xyxy_to_cxcywh(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 -> (N, 4) float64 centre x, centre y, width, height."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2,
                     xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]], axis=1)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) centre x, centre y, width, height -> (N, 4) float64 x1, y1, x2, y2."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    half = np.maximum(boxes[:, 2:4], MIN_SIZE) / 2
    return np.concatenate([boxes[:, 0:2] - half, boxes[:, 0:2] + half], axis=1)


class BoxKalman:
    """
    Constant-velocity Kalman filter for N boxes at once.

    ``position_weight`` and ``velocity_weight`` are the standard deviations of the position
    and velocity noise per frame as fractions of the box's width (x terms) and height (y
    terms); 1/20 and 1/160 as in SORT/ByteTrack.
    """

    def __init__(self, position_weight: float = 1.0 / 20, velocity_weight: float = 1.0 / 160):
        """Set the noise weights and the constant-velocity model."""
        self.position_weight = float(position_weight)
        self.velocity_weight = float(velocity_weight)
        self._motion = np.eye(8)
        self._motion[:4, 4:] = np.eye(4)                 # x += v, one frame
        self._observe = np.eye(4, 8)

    def _sizes(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 4) width, height, width, height of each box (the noise scales)."""
        wh = np.maximum(boxes[:, 2:4], MIN_SIZE)
        return np.concatenate([wh, wh], axis=1)

    def initiate(self, boxes_cxcywh: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Start tracks at these boxes, at rest: (N, 8) means and (N, 8, 8) covariances."""
        boxes = np.asarray(boxes_cxcywh, np.float64).reshape(-1, 4)
        mean = np.concatenate([boxes, np.zeros_like(boxes)], axis=1)
        sizes = self._sizes(boxes)
        std = np.concatenate([2 * self.position_weight * sizes,
                              10 * self.velocity_weight * sizes], axis=1)
        cov = np.zeros((len(boxes), 8, 8))
        index = np.arange(8)
        cov[:, index, index] = std ** 2
        return mean, cov

    def predict(self, mean: np.ndarray, cov: np.ndarray, steps: int = 1
                ) -> Tuple[np.ndarray, np.ndarray]:
        """Move N tracks ``steps`` frames ahead (a gap of dropped frames is several steps)."""
        mean = np.array(mean, np.float64).reshape(-1, 8)
        cov = np.array(cov, np.float64).reshape(-1, 8, 8)
        index = np.arange(8)
        for _ in range(int(steps)):
            sizes = self._sizes(mean[:, :4])
            std = np.concatenate([self.position_weight * sizes,
                                  self.velocity_weight * sizes], axis=1)
            mean = mean @ self._motion.T
            cov = self._motion @ cov @ self._motion.T
            cov[:, index, index] += std ** 2
            mean[:, 2:4] = np.maximum(mean[:, 2:4], MIN_SIZE)
        return mean, cov

    def update(self, mean: np.ndarray, cov: np.ndarray, boxes_cxcywh: np.ndarray
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Correct N predicted tracks with their N measured boxes (row i with row i)."""
        mean = np.asarray(mean, np.float64).reshape(-1, 8)
        cov = np.asarray(cov, np.float64).reshape(-1, 8, 8)
        boxes = np.asarray(boxes_cxcywh, np.float64).reshape(-1, 4)
        h = self._observe
        noise = (self.position_weight * self._sizes(mean[:, :4])) ** 2
        innovation_cov = h @ cov @ h.T                                   # (N, 4, 4)
        index = np.arange(4)
        innovation_cov[:, index, index] += noise
        cross = cov @ h.T                                                # (N, 8, 4)
        # K = cross S^-1, i.e. K' = S^-1 cross' (S symmetric): one batched solve
        gain = np.linalg.solve(innovation_cov, np.transpose(cross, (0, 2, 1)))
        gain = np.transpose(gain, (0, 2, 1))                             # (N, 8, 4)
        residual = boxes - mean[:, :4]
        mean = mean + np.einsum('nij,nj->ni', gain, residual)
        cov = cov - gain @ np.transpose(cross, (0, 2, 1))
        mean[:, 2:4] = np.maximum(mean[:, 2:4], MIN_SIZE)
        return mean, cov
