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
Depth-to-colour extrinsics: rigid transforms and the static transform tree of a camera driver.

RGB-D drivers (realsense2_camera, orbbec_camera) publish the pose of each optical frame as
static transforms on ``/tf_static`` (e.g. ``camera_link -> camera_depth_frame ->
camera_depth_optical_frame`` and ``camera_link -> camera_color_frame ->
camera_color_optical_frame``). ``StaticTransforms`` keeps those edges (the latest per child
frame, as tf2 does) and composes the chain between any two connected frames.
Why not tf2_ros: it is a C++ extension that no PyPI wheel provides, so the dev/CI
environment cannot import it; a static tree needs no time interpolation, only this.

Conventions are tf's: a ``geometry_msgs/Transform`` from ``header.frame_id`` (parent) to
``child_frame_id`` is the child's pose in the parent, p_parent = R p_child + t; quaternions
are (x, y, z, w).
"""

from dataclasses import dataclass
import threading
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ['RigidTransform', 'StaticTransforms']


def _rotation(qx: float, qy: float, qz: float, qw: float) -> np.ndarray:
    """Return the 3x3 rotation of a unit quaternion (x, y, z, w)."""
    x, y, z, w = qx, qy, qz, qw
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _quaternion(r: np.ndarray) -> Tuple[float, float, float, float]:
    """Return the unit quaternion (x, y, z, w), w >= 0, of a 3x3 rotation (Shepperd's method)."""
    m = np.asarray(r, dtype=np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
        q[i] = s / 4
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
    q = np.asarray(q) / np.linalg.norm(q)
    if q[3] < 0:
        q = -q
    return tuple(float(v) for v in q)


@dataclass(frozen=True)
class RigidTransform:
    """p_target = rotation @ p_source + translation (metres); see ``apply``."""

    rotation: np.ndarray        # (3, 3)
    translation: np.ndarray     # (3,)

    @classmethod
    def identity(cls) -> 'RigidTransform':
        """Return the transform that changes nothing."""
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def from_xyz_quaternion(cls, values: Sequence[float]) -> 'RigidTransform':
        """
        Build from [x, y, z, qx, qy, qz, qw] (static_transform_publisher's order).

        The quaternion is normalised; ValueError for a wrong length, non-finite values or a
        zero quaternion.
        """
        v = np.asarray([float(x) for x in values], dtype=np.float64)
        if v.shape != (7,):
            raise ValueError(f'a transform is [x, y, z, qx, qy, qz, qw]: 7 numbers, got '
                             f'{v.size}')
        if not np.isfinite(v).all():
            raise ValueError(f'a transform must be finite, got {v.tolist()}')
        norm = np.linalg.norm(v[3:])
        if norm < 1e-9:
            raise ValueError('a transform quaternion must not be zero (identity is 0 0 0 1)')
        return cls(_rotation(*(v[3:] / norm)), v[:3].copy())

    @classmethod
    def from_msg(cls, transform) -> 'RigidTransform':
        """Build from a geometry_msgs/Transform (translation, rotation)."""
        t, q = transform.translation, transform.rotation
        return cls.from_xyz_quaternion([t.x, t.y, t.z, q.x, q.y, q.z, q.w])

    @property
    def quaternion(self) -> Tuple[float, float, float, float]:
        """Return the rotation as a unit quaternion: x, y, z, w."""
        return _quaternion(self.rotation)

    def apply(self, points) -> np.ndarray:
        """Map (..., 3) points of the source frame into the target frame."""
        p = np.asarray(points, dtype=np.float64)
        return p @ self.rotation.T + self.translation

    def inverse(self) -> 'RigidTransform':
        """Return the transform from the target frame back to the source frame."""
        r = self.rotation.T
        return RigidTransform(r, -r @ self.translation)

    def __matmul__(self, other: 'RigidTransform') -> 'RigidTransform':
        """Compose: ``a @ b`` applies ``b`` first, then ``a``."""
        return RigidTransform(self.rotation @ other.rotation,
                              self.rotation @ other.translation + self.translation)


class StaticTransforms:
    """
    A static transform tree (the latest edge per child frame), thread-safe.

    ``add_message`` takes a tf2_msgs/TFMessage; ``lookup(target, source)`` returns the
    ``RigidTransform`` mapping points of ``source`` into ``target`` (tf2's
    ``lookup_transform(target, source)``), or None while the frames are not connected.
    """

    MAX_DEPTH = 64          # longest chain followed (a loop in bad data ends here)

    def __init__(self):
        self._lock = threading.Lock()
        self._parents: Dict[str, Tuple[str, RigidTransform]] = {}

    def add(self, parent: str, child: str, transform: RigidTransform) -> None:
        """Set the pose of ``child`` in ``parent`` (replaces the child's earlier edge)."""
        parent, child = parent.lstrip('/'), child.lstrip('/')
        if not parent or not child or parent == child:
            raise ValueError(f'a transform needs two different frames, got {parent!r} -> '
                             f'{child!r}')
        with self._lock:
            self._parents[child] = (parent, transform)

    def add_message(self, msg) -> int:
        """Add every transform of a TFMessage; return how many were refused (bad values)."""
        refused = 0
        for item in msg.transforms:
            try:
                self.add(item.header.frame_id, item.child_frame_id,
                         RigidTransform.from_msg(item.transform))
            except ValueError:
                refused += 1
        return refused

    def frames(self) -> set:
        """Return every frame named by an edge."""
        with self._lock:
            return set(self._parents) | {p for p, _ in self._parents.values()}

    def _to_root(self, frame: str):
        """Return {frame on the way up: pose of ``frame`` in it} and the root reached."""
        chain = {frame: RigidTransform.identity()}
        pose, current = RigidTransform.identity(), frame
        for _ in range(self.MAX_DEPTH):
            edge = self._parents.get(current)
            if edge is None:
                break
            parent, transform = edge
            if parent in chain:         # a loop: stop where it closes
                break
            pose = transform @ pose     # pose of ``frame`` in ``parent``
            chain[parent], current = pose, parent
        return chain

    def lookup(self, target: str, source: str) -> Optional[RigidTransform]:
        """Return the transform of points in ``source`` into ``target``, None: not connected."""
        target, source = target.lstrip('/'), source.lstrip('/')
        if target == source:
            return RigidTransform.identity()
        with self._lock:
            up_source = self._to_root(source)
            up_target = self._to_root(target)
        # the lowest frame common to both chains (the chains are dicts in upward order)
        common = next((f for f in up_source if f in up_target), None)
        if common is None:
            return None
        return up_target[common].inverse() @ up_source[common]
