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
Synthetic RGB-D scenes with known 3D truth, rendered through a pinhole model written here.

Independent of edge_perception.depth: rays through pixel centres (CameraInfo convention:
the centre of pixel (i, j) is at (i, j)), intersected with planes and boxes; the 2D box of
an object is the bounding rectangle of its projected 3D corners in the colour camera, in
edge coordinates (pixel i covers [i, i + 1)), as a detector reports it.

Scenes are given in the colour camera's optical frame. An unregistered depth camera is
rendered from its own pose in that frame (``DEPTH_POSE``: 5 cm to the side, turned by 2
degrees; rotation by Rodrigues' formula written here, not edge_perception's quaternions).
"""

from types import SimpleNamespace

import numpy as np

# Registered RGB-D: one optical frame, two sets of intrinsics (1280x720 colour, 848x480
# depth), numbers of the order of a RealSense D435's.
COLOUR_K = {'fx': 912.3, 'fy': 911.7, 'cx': 643.2, 'cy': 357.9, 'width': 1280, 'height': 720}
DEPTH_K = {'fx': 606.1, 'fy': 605.4, 'cx': 421.7, 'cy': 242.3, 'width': 848, 'height': 480}
FRAME = 'camera_color_optical_frame'
DEPTH_FRAME = 'camera_depth_optical_frame'


def axis_angle(axis, degrees):
    """Return (3x3 rotation, quaternion [x, y, z, w]) of a turn about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    theta = np.radians(degrees)
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    rotation = np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * (k @ k)
    quaternion = list(a * np.sin(theta / 2)) + [float(np.cos(theta / 2))]
    return rotation, quaternion


#: Pose of the unregistered depth camera in the colour optical frame: p_colour = R p_depth + t.
DEPTH_ROTATION, DEPTH_QUATERNION = axis_angle([0.3, 1.0, 0.2], 2.0)
DEPTH_TRANSLATION = np.array([-0.05, 0.004, -0.002])
DEPTH_POSE = (DEPTH_ROTATION, DEPTH_TRANSLATION)


def camera_info(k, frame_id=FRAME):
    """Build a CameraInfo-like object (the fields PinholeCamera reads) of the intrinsics ``k``."""
    return SimpleNamespace(
        k=[k['fx'], 0.0, k['cx'], 0.0, k['fy'], k['cy'], 0.0, 0.0, 1.0],
        width=k['width'], height=k['height'], header=SimpleNamespace(frame_id=frame_id))


def rays(k):
    """(H, W, 3) ray directions with z = 1 through the pixel centres of camera ``k``."""
    i, j = np.meshgrid(np.arange(k['width'], dtype=np.float64),
                       np.arange(k['height'], dtype=np.float64))
    return np.stack([(i - k['cx']) / k['fx'], (j - k['cy']) / k['fy'], np.ones_like(i)], -1)


def cast(k, pose=None):
    """
    Return the ray origin and (H, W, 3) directions of camera ``k`` in the scene frame.

    ``pose`` (rotation, translation): the camera's pose in the scene (colour) frame; None:
    the camera is the colour camera. A direction's parameter is the camera's own depth z.
    """
    if pose is None:
        return np.zeros(3), rays(k)
    rotation, translation = pose
    return np.asarray(translation, float), rays(k) @ np.asarray(rotation, float).T


def render_plane(k, normal, offset, pose=None):
    """Depth (z) of the plane normal . X = offset along every ray (inf where it misses)."""
    origin, d = cast(k, pose)
    normal = np.asarray(normal, dtype=np.float64)
    denom = d @ normal
    with np.errstate(divide='ignore', invalid='ignore'):
        t = (offset - normal @ origin) / denom
    t[~(t > 0)] = np.inf
    return t            # the ray has z = 1 in its camera, so its parameter is the depth


def render_box(k, lo, hi, pose=None):
    """Depth of an axis-aligned box [lo, hi] (slab method) along every ray, inf where none."""
    origin, d = cast(k, pose)
    lo, hi = np.asarray(lo, float) - origin, np.asarray(hi, float) - origin
    with np.errstate(divide='ignore', invalid='ignore'):
        t1, t2 = lo / d, hi / d
    near = np.nanmax(np.minimum(t1, t2), axis=-1)
    far = np.nanmin(np.maximum(t1, t2), axis=-1)
    hit = (near <= far) & (near > 0)
    return np.where(hit, near, np.inf)


def project_box(k, lo, hi):
    """Return the detector's 2D box: bounding rectangle of the 8 projected corners, edge coords."""
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])], dtype=np.float64)
    u = k['fx'] * corners[:, 0] / corners[:, 2] + k['cx'] + 0.5
    v = k['fy'] * corners[:, 1] / corners[:, 2] + k['cy'] + 0.5
    return [u.min(), v.min(), u.max(), v.max()]


def project_point(k, p):
    """Edge coordinates of a 3D point's projection in camera ``k``."""
    return (k['fx'] * p[0] / p[2] + k['cx'] + 0.5, k['fy'] * p[1] / p[2] + k['cy'] + 0.5)


def compose(*depths):
    """Return the nearest surface of several rendered depths, as float32 metres."""
    return np.minimum.reduce([np.asarray(d) for d in depths]).astype(np.float32)


def board_corners(centre, width, height, yaw=0.0):
    """Return the 4 corners of a width x height board at ``centre``, yawed about y (radians)."""
    c, s = np.cos(yaw), np.sin(yaw)
    out = []
    for a in (-width / 2, width / 2):
        for b in (-height / 2, height / 2):
            out.append(np.asarray(centre, float) + [a * c, b, a * s])
    return np.array(out)


def render_board(k, centre, width, height, yaw=0.0, pose=None):
    """Depth of the board (inf off it) along every ray of camera ``k``."""
    c, s = np.cos(yaw), np.sin(yaw)
    normal = np.array([-s, 0.0, c])             # the board's x axis is (c, 0, s)
    centre = np.asarray(centre, float)
    z = render_plane(k, normal, normal @ centre, pose)
    origin, d = cast(k, pose)
    with np.errstate(invalid='ignore'):
        points = origin + d * z[..., None]
    rel = points - centre
    a, b = rel @ np.array([c, 0.0, s]), rel[..., 1]
    on = np.isfinite(z) & (np.abs(a) <= width / 2) & (np.abs(b) <= height / 2)
    return np.where(on, z, np.inf)


def project_corners(k, corners):
    """Bounding rectangle (edge coordinates) of 3D points projected into camera ``k``."""
    u = k['fx'] * corners[:, 0] / corners[:, 2] + k['cx'] + 0.5
    v = k['fy'] * corners[:, 1] / corners[:, 2] + k['cy'] + 0.5
    return [u.min(), v.min(), u.max(), v.max()]


def camera_noise(depth, rng, sigma_at_1m=0.002, invalid=0.05):
    """Stereo-like noise (sigma grows with z squared), a fraction of zero pixels and NaNs."""
    depth = depth.astype(np.float64)
    noisy = depth + rng.normal(0.0, 1.0, depth.shape) * sigma_at_1m * depth ** 2
    holes = rng.random(depth.shape)
    noisy[holes < invalid / 2] = 0.0
    noisy[(holes >= invalid / 2) & (holes < invalid)] = np.nan
    return noisy.astype(np.float32)


def to_depth_frame(points):
    """Points of the colour (scene) frame in the unregistered depth camera's optical frame."""
    p = np.asarray(points, dtype=np.float64)
    return (p - DEPTH_TRANSLATION) @ DEPTH_ROTATION


def realsense_tree(link_to_colour=(0.0, 0.015, 0.0)):
    """
    Return static transforms as realsense2_camera publishes them, for the pose DEPTH_POSE.

    Returns {child: (parent, [x, y, z, qx, qy, qz, qw])}: camera_link -> camera_color_frame
    -> FRAME and camera_link -> camera_depth_frame -> DEPTH_FRAME, the optical frames turned
    by the REP-103 quaternion (-0.5, 0.5, -0.5, 0.5) from their body frames. Quaternions of
    composed rotations by scipy (an oracle outside edge_perception).
    """
    from scipy.spatial.transform import Rotation
    optical = Rotation.from_quat([-0.5, 0.5, -0.5, 0.5]).as_matrix()

    def pose(r, t):
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = r, t
        return m

    link_colour_body = pose(np.eye(3), link_to_colour)
    colour_optical = link_colour_body @ pose(optical, np.zeros(3))
    depth_optical = colour_optical @ pose(DEPTH_ROTATION, DEPTH_TRANSLATION)
    depth_body = depth_optical @ np.linalg.inv(pose(optical, np.zeros(3)))

    def values(m):
        return list(m[:3, 3]) + list(Rotation.from_matrix(m[:3, :3]).as_quat())

    return {'camera_color_frame': ('camera_link', values(link_colour_body)),
            FRAME: ('camera_color_frame', [0.0, 0.0, 0.0, -0.5, 0.5, -0.5, 0.5]),
            'camera_depth_frame': ('camera_link', values(depth_body)),
            DEPTH_FRAME: ('camera_depth_frame', [0.0, 0.0, 0.0, -0.5, 0.5, -0.5, 0.5])}
