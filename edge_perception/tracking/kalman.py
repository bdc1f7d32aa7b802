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
A constant-velocity Kalman filter over boxes, batched over tracks.

State per track: centre x, centre y, width, height and their velocities (8 values); the
measurement is the box (centre x, centre y, width, height). Process and measurement noise
scale with the box's size (a 20-pixel jitter is large for a 40-pixel box and small for a
400-pixel one), the choice of SORT and ByteTrack. Written from the textbook equations
(predict: x = F x, P = F P F' + Q; update: K = P H' (H P H' + R)^-1, x += K (z - H x),
P -= K H P), computed on the covariance's only non-zero entries (see ``BoxKalman``).
"""

from typing import Optional, Sequence

import numpy as np

__all__ = ['BoxKalman', 'cxcywh_to_xyxy', 'measured_boxes', 'xyxy_to_cxcywh']

MIN_SIZE = 1e-3     # a predicted width or height never goes below this (pixels)

# a state array is (6, 2, N, 2): these 6 parts, each (centre, size) x N tracks x (x, y)
POS, VEL, PP, VP, VV, PV = range(6)

# x1, y1, x2, y2 @ _TO_CXCYWH = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1 (the products
# by 0.5, 1, -1 and the sums are exact for pixel coordinates, so these are those numbers)
_TO_CXCYWH = np.array([[0.5, 0, -1, 0], [0, 0.5, 0, -1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]])


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
    Constant-velocity Kalman filter for N boxes at once, on a compact state.

    ``position_weight`` and ``velocity_weight`` are the standard deviations of the position
    and velocity noise per frame as fractions of the box's width (x terms) and height (y
    terms); 1/20 and 1/160 as in SORT/ByteTrack.

    The state of N tracks is one (6, 2, N, 2) float64 array: parts ``POS``, ``VEL``, ``PP``,
    ``VP``, ``VV``, ``PV``, each the (N, 2) centre terms (x, y) and the (N, 2) size terms
    (w, h) of every track; ``mean(state)`` and ``covariance(state)`` give the usual (N, 8)
    means and (N, 8, 8) covariances.

    Why 16 numbers hold the whole 8x8 covariance P (order x = cx, cy, w, h, vcx, vcy, vw, vh;
    "i ~ j" when i = j mod 4, i.e. a coordinate and its own velocity): F = [[I, I], [0, I]],
    H = [I, 0], Q and R are diagonal, and P starts diagonal. If P[i, j] = 0 whenever not
    i ~ j, then (F P F')[i, j] = sum F[i, k] P[k, l] F[j, l] has non-zero terms only for
    k ~ i, l ~ j and k ~ l, so only for i ~ j; adding the diagonal Q keeps that. In the
    update S = H P H' + R is diagonal, K[i, k] = P[i, k] / S[k, k] is non-zero only for
    k ~ i, and (K H P)[i, j] = sum_k K[i, k] P[k, j] only for i ~ k ~ j. So P stays four
    independent 2x2 blocks [[PP, PV], [VP, VV]], one per coordinate, and each step is scalar
    arithmetic per coordinate: predict PP += VP + PV + VV + q_pos, PV += VV, VP += VV,
    VV += q_vel, mean += velocity; update with S = PP + r: gain (PP, VP) / S, mean += gain *
    residual, then PV -= gain_pos VP, VV -= gain_vel VP, VP -= gain_vel PP, PP -= gain_pos PP.
    These are the operations of the 8x8 matrix products, in their order, without their
    other terms, which are exact zeros (x + 0 y == x); the gain is P's entry times 1 / S, as
    the LU solve of numpy's OpenBLAS computes it; so the numbers are those of the matrix
    form (bit for bit those of the former 8x8 code: ``scripts/bench_tracker.py`` checks). PV
    and VP are kept apart because the matrix form's P - K H P is not exactly symmetric.
    """

    def __init__(self, position_weight: float = 1.0 / 20, velocity_weight: float = 1.0 / 160):
        """Set the noise weights."""
        self.position_weight = float(position_weight)
        self.velocity_weight = float(velocity_weight)
        # std of the process noise per frame and pixel of box size: PP part, VV part
        self._weights = np.array([self.position_weight, self.velocity_weight]).reshape(2, 1, 1)

    def initiate(self, boxes_cxcywh: np.ndarray) -> np.ndarray:
        """Start tracks at these boxes, at rest: a (6, 2, N, 2) state."""
        boxes = np.asarray(boxes_cxcywh, np.float64).reshape(-1, 4)
        state = np.zeros((6, 2, len(boxes), 2))
        state[POS, 0], state[POS, 1] = boxes[:, :2], boxes[:, 2:]
        sizes = np.maximum(boxes[:, 2:], MIN_SIZE)          # w, h: for the x and y terms
        state[PP] = np.square(2 * self.position_weight * sizes)
        state[VV] = np.square(10 * self.velocity_weight * sizes)
        return state

    def predict(self, state: np.ndarray, steps: int = 1) -> np.ndarray:
        """Move the tracks ``steps`` frames ahead, in place (a gap is several steps)."""
        pos, vel, pp, vp, vv, pv = state
        size = pos[1]
        for _ in range(int(steps)):
            # process noise from the box before the step: (2, N, 2) for PP and VV
            noise = np.square(self._weights * np.maximum(size, MIN_SIZE))
            np.add(pv, vv, out=pv)                               # PV + VV
            np.add(pp, vp, out=pp)                               # PP + VP
            np.add(vp, vv, out=vp)                               # VP + VV
            np.add(pp, pv, out=pp)                               # (PP + VP) + (PV + VV)
            np.add(pp, noise[0], out=pp)                         # + Q
            np.add(vv, noise[1], out=vv)
            np.add(pos, vel, out=pos)
            np.maximum(size, MIN_SIZE, out=size)
        return state

    def update(self, state: np.ndarray, boxes_cxcywh: np.ndarray,
               tracks: Optional[Sequence[int]] = None) -> np.ndarray:
        """
        Correct tracks with measured boxes, in place: row i of the boxes with track i.

        ``tracks``: the tracks measured (distinct; row i of the boxes with ``tracks[i]``); the
        others are left exactly as they are (their gain is 0).
        """
        boxes = np.asarray(boxes_cxcywh, np.float64).reshape(-1, 2, 2)
        pos, vel, pp, vp, vv, pv = state
        inverse = 1.0 / (pp + np.square(self.position_weight *
                                        np.maximum(pos[1], MIN_SIZE)))   # 1 / S
        if tracks is not None:
            tracks = np.asarray(tracks, np.intp)
            measured = np.zeros(pos.shape[1])
            measured[tracks] = 1.0
            inverse *= measured[:, None]                # x 1 exact; x 0: no correction
            by_track = np.zeros((pos.shape[1], 2, 2))
            by_track[tracks] = boxes
            residual = by_track.transpose(1, 0, 2) - pos
        else:
            residual = boxes.transpose(1, 0, 2) - pos
        gain = state[PP:VP + 1] * inverse                # (2, 2, N, 2): position, velocity
        np.add(state[POS:VEL + 1], gain * residual, out=state[POS:VEL + 1])
        np.subtract(state[PV:VV - 1:-1], gain * vp, out=state[PV:VV - 1:-1])   # PV, VV
        np.subtract(state[PP:VP + 1], gain * pp, out=state[PP:VP + 1])        # PP, VP
        np.maximum(pos[1], MIN_SIZE, out=pos[1])
        return state

    @staticmethod
    def mean(state: np.ndarray) -> np.ndarray:
        """(N, 8) means: cx, cy, w, h and their velocities."""
        return state[POS:VEL + 1].transpose(2, 0, 1, 3).reshape(-1, 8)

    @staticmethod
    def covariance(state: np.ndarray) -> np.ndarray:
        """(N, 8, 8) covariances (the four 2x2 blocks of the state placed in the matrix)."""
        n = state.shape[2]
        cov = np.zeros((n, 8, 8))
        index = np.arange(4)
        for part, (i, j) in ((PP, (0, 0)), (PV, (0, 4)), (VP, (4, 0)), (VV, (4, 4))):
            cov[:, index + i, index + j] = state[part].transpose(1, 0, 2).reshape(n, 4)
        return cov


def measured_boxes(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 (float32 detections) -> (N, 4) float64 cx, cy, w, h, exactly."""
    return np.dot(np.asarray(xyxy, np.float64).reshape(-1, 4), _TO_CXCYWH)
