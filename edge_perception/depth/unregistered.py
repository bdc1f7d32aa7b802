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
2D detections to 3D boxes with depth NOT registered to the colour image (another camera).

Every valid depth pixel is deprojected with the depth intrinsics, moved into the colour
optical frame with the extrinsics, and projected with the colour intrinsics: a cloud of
(colour pixel, colour-frame depth) samples. Per detection, the samples inside the box's
inner region (or on the mask's pixels) give the robust depth z (median, in the colour
frame, so a board facing the colour camera is exact); the centre is the colour box centre's
ray at z, the size the box's extent at z and the depth spread, as ``lift_detections`` does
for registered depth. Centre and keypoints are then moved into the depth camera's optical
frame (where ``detections_3d`` is published); the box keeps the colour camera's axes, so
``Objects3D.rotation`` is the colour frame's orientation in the depth frame.
Samples behind the colour camera are dropped. Occlusion between the two viewpoints: the
depth camera sees background (through a hole, beside an edge) that the colour camera sees
hidden behind the object; projected, it lands on the object's pixels. A coarse z-buffer
removes it: in cells of about two depth pixels (in colour pixels), samples more than
``OCCLUDED_BEYOND`` (10 %) farther than the cell's nearest are dropped.
"""

from typing import List, Optional

import numpy as np

from .box_extent import DepthConfig, Objects3D
from .extrinsics import RigidTransform
from .pinhole import EDGE_TO_CENTRE, PinholeCamera
from .robust_depth import inner_region, region_stats

__all__ = ['DepthCloud', 'lift_unregistered', 'OCCLUDED_BEYOND']

#: a sample farther than its z-buffer cell's nearest by this fraction is hidden (occluded)
OCCLUDED_BEYOND = 0.1


class DepthCloud:
    """
    The valid depth pixels as colour-image samples: edge coordinates u, v and depth z.

    Computed on the whole depth grid in float32 (about 10 ns a pixel: a dense 848x480 image
    in a few ms), then kept only inside ``region`` (x1, y1, x2, y2, colour edge coordinates),
    the union of the detections' boxes, so that each detection scans few samples.
    """

    def __init__(self, depth_m: np.ndarray, depth_cam: PinholeCamera,
                 colour_cam: PinholeCamera, colour_from_depth: RigidTransform,
                 config: DepthConfig, region=None):
        z = np.asarray(depth_m, dtype=np.float32)
        if z.shape != (depth_cam.height, depth_cam.width):
            raise ValueError(f'depth image is {z.shape[1]}x{z.shape[0]} but its '
                             f'camera_info says {depth_cam.width}x{depth_cam.height}')
        with np.errstate(invalid='ignore'):
            z = np.where((z >= config.min_depth) & (z <= config.max_depth), z, np.float32(np.nan))
        a = ((np.arange(depth_cam.width) - depth_cam.cx) / depth_cam.fx).astype(np.float32)
        b = ((np.arange(depth_cam.height) - depth_cam.cy) / depth_cam.fy).astype(np.float32)
        x, y = a[None, :] * z, b[:, None] * z
        r = colour_from_depth.rotation.astype(np.float32)
        t = colour_from_depth.translation.astype(np.float32)
        xc = r[0, 0] * x + r[0, 1] * y + r[0, 2] * z + t[0]
        yc = r[1, 0] * x + r[1, 1] * y + r[1, 2] * z + t[1]
        zc = r[2, 0] * x + r[2, 1] * y + r[2, 2] * z + t[2]
        with np.errstate(invalid='ignore', divide='ignore'):
            keep = zc > np.float32(1e-6)            # NaN (no depth) and behind: dropped
            zc = zc[keep]
            # edge coordinates: CameraInfo pixel + 0.5
            u = np.float32(colour_cam.fx) * xc[keep] / zc + np.float32(colour_cam.cx + 0.5)
            v = np.float32(colour_cam.fy) * yc[keep] / zc + np.float32(colour_cam.cy + 0.5)
        if region is not None:
            x1, y1, x2, y2 = region
            inside = (u >= x1) & (u < x2) & (v >= y1) & (v < y2)
            u, v, zc = u[inside], v[inside], zc[inside]
        # z-buffer cells: two depth pixels seen from the colour camera, so that each cell on a
        # visible surface holds samples of it
        cell = max(2.0, np.ceil(2.0 * max(colour_cam.fx / depth_cam.fx,
                                          colour_cam.fy / depth_cam.fy)))
        visible = _visible(u, v, zc, cell)
        self.u, self.v, self.z = u[visible], v[visible], zc[visible].astype(np.float64)

    def in_rect(self, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
        """Return the indices of the samples inside [x1, x2) x [y1, y2) (edge coordinates)."""
        return np.flatnonzero((self.u >= x1) & (self.u < x2) & (self.v >= y1) & (self.v < y2))


def _visible(u: np.ndarray, v: np.ndarray, z: np.ndarray, cell: float) -> np.ndarray:
    """Return per sample: not farther than OCCLUDED_BEYOND beyond the nearest of its cell."""
    if not len(z):
        return np.zeros(0, bool)
    i = np.floor(u / cell).astype(np.int64)
    j = np.floor(v / cell).astype(np.int64)
    i -= i.min()
    ids = (j - j.min()) * (int(i.max()) + 1) + i
    order = np.argsort(ids, kind='stable')
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    nearest = np.minimum.reduceat(z[order], starts)
    counts = np.diff(np.r_[starts, len(z)])
    out = np.empty(len(z), bool)
    out[order] = z[order] <= np.repeat(nearest, counts) * np.float32(1.0 + OCCLUDED_BEYOND)
    return out


def lift_unregistered(detections, depth_m: np.ndarray, depth_cam: PinholeCamera,
                      colour_cam: PinholeCamera, colour_from_depth: RigidTransform,
                      config: DepthConfig = DepthConfig()) -> Objects3D:
    """
    Lift 2D detections (colour pixels) to 3D with a depth image of another camera.

    ``colour_from_depth`` maps points of the depth optical frame into the colour optical
    frame (tf's ``lookup_transform(colour_frame, depth_frame)``). Returns ``Objects3D`` in
    the depth camera's optical frame.
    """
    boxes = np.asarray(detections.xyxy, dtype=np.float64).reshape(-1, 4)
    margin = _keypoint_half(depth_cam, colour_cam, config)
    region = None if not len(boxes) else (boxes[:, 0].min() - margin, boxes[:, 1].min() - margin,
                                          boxes[:, 2].max() + margin, boxes[:, 3].max() + margin)
    cloud = DepthCloud(depth_m, depth_cam, colour_cam, colour_from_depth, config, region)
    depth_from_colour = colour_from_depth.inverse()
    n = len(detections)
    center = np.full((n, 3), np.nan)
    size = np.full((n, 3), np.nan)
    valid = np.zeros(n, bool)
    counts = np.zeros(n, np.int64)
    colour_z = np.full(n, np.nan)
    reasons: List[Optional[str]] = []
    masks = getattr(detections, 'masks', None)
    for i, box in enumerate(boxes):
        if masks is not None:
            values = cloud.z[_on_mask(cloud, masks, i)]
            where = 'mask'
        else:
            values = cloud.z[cloud.in_rect(*inner_region(*box, config.inner_fraction))]
            where = 'box inner region'
        stats = region_stats(values, config.percentiles, config.min_valid_pixels)
        if stats is None:
            reasons.append(f'{values.size} depth samples in the {where} (need '
                           f'{config.min_valid_pixels}): depth zero, NaN, out of range or '
                           "outside the depth camera's view")
            continue
        z = stats.median
        x1, y1, x2, y2 = (float(c) + EDGE_TO_CENTRE for c in box)
        in_colour = colour_cam.deproject((x1 + x2) / 2, (y1 + y2) / 2, z)
        center[i] = depth_from_colour.apply(in_colour)
        size[i] = ((x2 - x1) * z / colour_cam.fx, (y2 - y1) * z / colour_cam.fy, stats.spread)
        valid[i], counts[i], colour_z[i] = True, stats.valid, z
        reasons.append(None)
    keypoints = _keypoints(detections, cloud, depth_cam, colour_cam, depth_from_colour,
                           colour_z, config)
    return Objects3D(center, size, valid, detections, reasons, counts, keypoints, True,
                     rotation=depth_from_colour.rotation.copy())


def _on_mask(cloud: DepthCloud, masks, i: int) -> np.ndarray:
    """Return the indices of the samples whose colour pixel is on mask ``i``."""
    x0, y0, crop = masks.crop(i)
    if crop.size == 0:
        return np.zeros(0, np.int64)
    h, w = crop.shape
    near = cloud.in_rect(x0, y0, x0 + w, y0 + h)
    ci = np.floor(cloud.u[near]).astype(np.int64) - x0
    cj = np.floor(cloud.v[near]).astype(np.int64) - y0
    inside = (ci >= 0) & (ci < w) & (cj >= 0) & (cj < h)
    near, ci, cj = near[inside], ci[inside], cj[inside]
    return near[crop[cj, ci]]


def _keypoint_half(depth_cam, colour_cam, config) -> float:
    """Return the half size of a keypoint's window (2 r + 1 depth pixels) in colour pixels."""
    return (config.keypoint_radius + 0.5) * colour_cam.fx / depth_cam.fx


def _keypoints(detections, cloud, depth_cam, colour_cam, depth_from_colour, colour_z, config):
    """Return the keypoints in the depth frame: median colour-frame depth of samples near each."""
    kps = getattr(detections, 'keypoints', None)
    if kps is None:
        return None
    kps = np.asarray(kps, dtype=np.float64)
    out = np.full(kps.shape[:2] + (3,), np.nan)
    half = _keypoint_half(depth_cam, colour_cam, config)
    boxes = np.asarray(detections.xyxy, dtype=np.float64).reshape(-1, 4)
    for i, person in enumerate(kps):
        x1, y1, x2, y2 = boxes[i]
        near = cloud.in_rect(x1 - half, y1 - half, x2 + half, y2 + half)
        u, v, z = cloud.u[near], cloud.v[near], cloud.z[near]
        for k, (x, y, score) in enumerate(person):
            if score < config.keypoint_threshold:
                continue
            around = (np.abs(u - x) <= half) & (np.abs(v - y) <= half)
            depth = float(np.median(z[around])) if around.any() else colour_z[i]
            if not np.isfinite(depth):
                continue
            point = colour_cam.deproject(x + EDGE_TO_CENTRE, y + EDGE_TO_CENTRE, depth)
            out[i, k] = depth_from_colour.apply(point)
    return out
