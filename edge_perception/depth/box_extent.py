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
2D detections to 3D boxes in the depth camera's optical frame (x right, y down, z forward).

For each detection: the robust depth z of its region in the (registered) depth image (the
mask's pixels for segmentation, the box's inner region otherwise), the centre = the box
centre's ray at z, the size = the box's extent at z (x, y) and the depth spread of the
region (z: the visible surface's depth extent, a lower bound of the object's thickness).
Keypoints get the median depth of a small window around them (the object's depth where the
window has none). ``objects_on_rays`` is the same geometry at a fixed distance, for when
there is no depth.
"""

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from .pinhole import EDGE_TO_CENTRE, PinholeCamera
from .robust_depth import inner_region, pixel_range, region_stats, window_depth

__all__ = ['DepthConfig', 'Objects3D', 'lift_detections', 'objects_on_rays']


@dataclass(frozen=True)
class DepthConfig:
    """
    How depth is read.

    inner_fraction: the central part of a box whose depths count (masks: all mask pixels).
    percentiles: low/high percentiles of the region's depths giving the depth spread.
    min_valid_pixels: fewer valid depths than this in a region: no 3D for that object.
    min_depth, max_depth: depths outside (metres) are treated as invalid.
    keypoint_radius: half size (depth pixels) of the window of a keypoint's depth.
    keypoint_threshold: keypoints below this confidence get no 3D point (NaN).
    """

    inner_fraction: float = 0.5
    percentiles: tuple = (10.0, 90.0)
    min_valid_pixels: int = 10
    min_depth: float = 0.05
    max_depth: float = 50.0
    keypoint_radius: int = 2
    keypoint_threshold: float = 0.5

    def __post_init__(self):
        if not 0.0 < self.inner_fraction <= 1.0:
            raise ValueError(f'inner_fraction must be in (0, 1], got {self.inner_fraction}')
        low, high = self.percentiles
        if not 0.0 <= low <= high <= 100.0:
            raise ValueError(f'percentiles must be 0 <= low <= high <= 100, got '
                             f'{self.percentiles}')
        if not 0.0 <= self.min_depth < self.max_depth:
            raise ValueError(f'need 0 <= min_depth < max_depth, got {self.min_depth}, '
                             f'{self.max_depth}')


@dataclass
class Objects3D:
    """
    The 3D boxes of N detections, in metres in the depth camera's optical frame.

    center, size: (N, 3) float64 (NaN rows where ``valid`` is False); valid: (N,) bool;
    reasons: per detection, None or why it has no 3D box; valid_pixels: (N,) int depths used;
    keypoints: (N, K, 3) float64 or None, NaN for keypoints with no 3D point;
    detections: the 2D detections (results and ids are copied from them);
    from_depth: False when placed on the camera rays at a fixed distance;
    rotation: (3, 3) orientation of the boxes' axes in the published frame (unregistered
    depth: the colour camera's axes in the depth frame), None = the frame's own axes.
    """

    center: np.ndarray
    size: np.ndarray
    valid: np.ndarray
    detections: object
    reasons: List[Optional[str]] = field(default_factory=list)
    valid_pixels: Optional[np.ndarray] = None
    keypoints: Optional[np.ndarray] = None
    from_depth: bool = True
    rotation: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.center)


def _box_in_depth(box, colour: PinholeCamera, depth: PinholeCamera):
    """Box corners (edge coordinates of the colour image) in edge coordinates of the depth."""
    x1, y1, x2, y2 = (float(c) + EDGE_TO_CENTRE for c in box)
    (u1, u2), (v1, v2) = colour.map_to(depth, [x1, x2], [y1, y2])
    return u1 - EDGE_TO_CENTRE, v1 - EDGE_TO_CENTRE, u2 - EDGE_TO_CENTRE, v2 - EDGE_TO_CENTRE


def _mask_region(depth_m, masks, i, box_d, colour, depth_cam):
    """Depths of the depth pixels whose colour pixel is in mask ``i`` (nearest colour pixel)."""
    x0, y0, crop = masks.crop(i)
    if crop.size == 0:
        return depth_m[:0, :0]
    h, w = depth_m.shape
    a, b = pixel_range(box_d[0], box_d[2], w)
    c, d = pixel_range(box_d[1], box_d[3], h)
    cols, rows = np.arange(a, b, dtype=np.float64), np.arange(c, d, dtype=np.float64)
    cu, cv = depth_cam.map_to(colour, cols, rows)
    ci = np.rint(cu).astype(np.int64) - x0
    cj = np.rint(cv).astype(np.int64) - y0
    inside_i = (ci >= 0) & (ci < crop.shape[1])
    inside_j = (cj >= 0) & (cj < crop.shape[0])
    selected = np.zeros((len(rows), len(cols)), bool)
    sub = crop[np.clip(cj, 0, crop.shape[0] - 1)][:, np.clip(ci, 0, crop.shape[1] - 1)]
    selected[:] = sub & inside_j[:, None] & inside_i[None, :]
    return depth_m[c:d, a:b][selected]


def lift_detections(detections, depth_m: np.ndarray, depth_cam: PinholeCamera,
                    colour_cam: PinholeCamera, config: DepthConfig = DepthConfig()
                    ) -> Objects3D:
    """
    Lift 2D detections (colour-image pixels) to 3D with a registered depth image (metres).

    ``depth_m``: (H, W) float32 metres, NaN invalid, of size ``depth_cam.size``;
    ``colour_cam``: the colour image's intrinsics (same optical centre: registered depth).
    """
    depth_m = np.asarray(depth_m, dtype=np.float32)
    if depth_m.shape != (depth_cam.height, depth_cam.width):
        raise ValueError(f'depth image is {depth_m.shape[1]}x{depth_m.shape[0]} but its '
                         f'camera_info says {depth_cam.width}x{depth_cam.height}')
    usable = depth_m.copy()
    usable[~((usable >= config.min_depth) & (usable <= config.max_depth))] = np.nan
    n = len(detections)
    center = np.full((n, 3), np.nan)
    size = np.full((n, 3), np.nan)
    valid = np.zeros(n, bool)
    counts = np.zeros(n, np.int64)
    reasons: List[Optional[str]] = []
    masks = getattr(detections, 'masks', None)
    h, w = usable.shape
    for i, box in enumerate(np.asarray(detections.xyxy, dtype=np.float64)):
        box_d = _box_in_depth(box, colour_cam, depth_cam)
        if masks is not None:
            values = _mask_region(usable, masks, i, box_d, colour_cam, depth_cam)
            where = 'mask'
        else:
            r = inner_region(*box_d, config.inner_fraction)
            a, b = pixel_range(r[0], r[2], w)
            c, d = pixel_range(r[1], r[3], h)
            values = usable[c:d, a:b]
            where = 'box inner region'
        stats = region_stats(values, config.percentiles, config.min_valid_pixels)
        if stats is None:
            found = int(np.isfinite(values).sum())
            reasons.append(f'{found} valid depth pixels in the {where} (need '
                           f'{config.min_valid_pixels}): depth zero, NaN or out of range')
            continue
        z = stats.median
        u1, v1, u2, v2 = (c + EDGE_TO_CENTRE for c in box_d)
        center[i] = depth_cam.deproject((u1 + u2) / 2, (v1 + v2) / 2, z)
        size[i] = ((u2 - u1) * z / depth_cam.fx, (v2 - v1) * z / depth_cam.fy, stats.spread)
        valid[i], counts[i] = True, stats.valid
        reasons.append(None)
    keypoints = _keypoints_3d(detections, usable, depth_cam, colour_cam, center, valid, config)
    return Objects3D(center, size, valid, detections, reasons, counts, keypoints, True)


def _keypoints_3d(detections, usable, depth_cam, colour_cam, center, valid, config):
    kps = getattr(detections, 'keypoints', None)
    if kps is None:
        return None
    kps = np.asarray(kps, dtype=np.float64)
    out = np.full(kps.shape[:2] + (3,), np.nan)
    for i, person in enumerate(kps):
        for k, (x, y, score) in enumerate(person):
            if score < config.keypoint_threshold:
                continue
            u, v = colour_cam.map_to(depth_cam, x + EDGE_TO_CENTRE, y + EDGE_TO_CENTRE)
            z = window_depth(usable, u, v, config.keypoint_radius)
            if not np.isfinite(z):
                if not valid[i]:
                    continue
                z = center[i, 2]
            out[i, k] = depth_cam.deproject(u, v, z)
    return out


def objects_on_rays(detections, colour_cam: PinholeCamera, distance: float,
                    keypoint_threshold: float = 0.5) -> Objects3D:
    """Place the detections on their camera rays at ``distance`` metres (no depth): flat boxes."""
    if not np.isfinite(distance) or distance <= 0:
        raise ValueError(f'marker distance must be positive, got {distance}')
    boxes = np.asarray(detections.xyxy, dtype=np.float64).reshape(-1, 4) + EDGE_TO_CENTRE
    n = len(boxes)
    cu, cv = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    center = colour_cam.deproject(cu, cv, np.full(n, distance)).reshape(n, 3)
    size = np.stack([(boxes[:, 2] - boxes[:, 0]) * distance / colour_cam.fx,
                     (boxes[:, 3] - boxes[:, 1]) * distance / colour_cam.fy,
                     np.zeros(n)], axis=1)
    keypoints = None
    kps = getattr(detections, 'keypoints', None)
    if kps is not None:
        kps = np.asarray(kps, dtype=np.float64)
        keypoints = colour_cam.deproject(kps[..., 0] + EDGE_TO_CENTRE,
                                         kps[..., 1] + EDGE_TO_CENTRE,
                                         np.full(kps.shape[:2], distance))
        keypoints[kps[..., 2] < keypoint_threshold] = np.nan
    return Objects3D(center, size, np.ones(n, bool), detections, [None] * n,
                     np.zeros(n, np.int64), keypoints, False)
