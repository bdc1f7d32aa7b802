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
The pinhole camera of a ``sensor_msgs/CameraInfo``: deprojection and pixel mapping.

Pixel coordinates follow ``CameraInfo``'s convention (OpenCV's): the centre of pixel
(column i, row j) is at (i, j). Detection boxes are in edge coordinates (pixel i covers
[i, i + 1)), so their coordinates are moved by half a pixel (``EDGE_TO_CENTRE``) before
they meet the intrinsics. Lens distortion is not modelled (``D`` is ignored): depth images
of RGB-D cameras are usually published rectified or with a near-zero ``D``.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ['EDGE_TO_CENTRE', 'PinholeCamera']

#: Added to an edge coordinate (box corner) to get a CameraInfo pixel coordinate.
EDGE_TO_CENTRE = -0.5


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics fx, fy, cx, cy (pixels) of a width x height image in ``frame_id``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    frame_id: str = ''

    def __post_init__(self):
        if not (np.isfinite([self.fx, self.fy, self.cx, self.cy]).all()
                and self.fx > 0 and self.fy > 0):
            raise ValueError(f'PinholeCamera: focal lengths must be finite and positive, '
                             f'got fx={self.fx} fy={self.fy} cx={self.cx} cy={self.cy}')
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f'PinholeCamera: image size {self.width}x{self.height} is empty')

    @classmethod
    def from_camera_info(cls, info) -> 'PinholeCamera':
        """
        Read a sensor_msgs/CameraInfo (or anything with ``k``, ``width``, ``height``).

        Raises ValueError for an uncalibrated camera (K all zeros, as drivers publish without
        a calibration) or a non-positive focal length, with the reason.
        """
        k = [float(v) for v in info.k]
        if len(k) != 9:
            raise ValueError(f'camera_info: K has {len(k)} values, expected 9')
        if k[0] == 0.0 or k[4] == 0.0:
            raise ValueError('camera_info: K has zero focal lengths (the camera is not '
                             'calibrated: drivers publish K = 0 without a calibration)')
        header = getattr(info, 'header', None)
        frame_id = getattr(header, 'frame_id', '') if header is not None else ''
        return cls(k[0], k[4], k[2], k[5], int(info.width), int(info.height), frame_id)

    @property
    def size(self):
        """(width, height) in pixels."""
        return (self.width, self.height)

    def deproject(self, u, v, z) -> np.ndarray:
        """(..., 3) float64 points x, y, z in metres of pixels (u, v) at depths ``z``."""
        u, v, z = (np.asarray(a, dtype=np.float64) for a in (u, v, z))
        return np.stack(np.broadcast_arrays((u - self.cx) / self.fx * z,
                                            (v - self.cy) / self.fy * z, z), axis=-1)

    def project(self, points) -> np.ndarray:
        """(..., 2) pixel coordinates (u, v) of (..., 3) points in this camera's frame."""
        p = np.asarray(points, dtype=np.float64)
        return np.stack([self.fx * p[..., 0] / p[..., 2] + self.cx,
                         self.fy * p[..., 1] / p[..., 2] + self.cy], axis=-1)

    def map_to(self, other: 'PinholeCamera', u, v):
        """
        Map pixel coordinates of this camera to ``other``, a camera with the same centre.

        This is what registration gives: the same optical frame sampled with other
        intrinsics (another resolution): the same ray, ``other``'s pixel.
        """
        u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
        return ((u - self.cx) * (other.fx / self.fx) + other.cx,
                (v - self.cy) * (other.fy / self.fy) + other.cy)

    def scaled_to(self, width: int, height: int, frame_id: str = None) -> 'PinholeCamera':
        """Return the intrinsics of the same view resampled to ``width`` x ``height``."""
        sx, sy = width / self.width, height / self.height
        # pixel edges scale, centres are half a pixel inside them
        return PinholeCamera(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                             (self.cy + 0.5) * sy - 0.5, int(width), int(height),
                             self.frame_id if frame_id is None else frame_id)
