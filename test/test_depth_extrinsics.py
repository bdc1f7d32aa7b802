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
RigidTransform and StaticTransforms (the /tf_static tree) against scipy's rotations.

The oracle for quaternions is ``scipy.spatial.transform.Rotation`` (scalar-last x, y, z, w,
as geometry_msgs); chains are checked against 4x4 matrices multiplied here. The tree is the
one realsense2_camera publishes: camera_link -> camera_depth_frame ->
camera_depth_optical_frame and camera_link -> camera_color_frame -> camera_color_optical_frame,
the optical frames turned by (-0.5, 0.5, -0.5, 0.5) from the body frames.
"""

from types import SimpleNamespace

from edge_perception.depth import RigidTransform, StaticTransforms
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

OPTICAL = [-0.5, 0.5, -0.5, 0.5]        # body (x forward) -> optical (z forward), REP-103
#: child: (parent, [x, y, z, qx, qy, qz, qw]) as a D435 publishes them (values of that order)
REALSENSE = {
    'camera_depth_frame': ('camera_link', [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    'camera_depth_optical_frame': ('camera_depth_frame', [0.0, 0.0, 0.0] + OPTICAL),
    'camera_color_frame': ('camera_link', [-0.00026, 0.01485, 0.00011,
                                           0.00145, -0.00034, 0.00386, 0.99999]),
    'camera_color_optical_frame': ('camera_color_frame', [0.0, 0.0, 0.0] + OPTICAL),
}


def matrix(values):
    """Return the 4x4 pose matrix of [x, y, z, qx, qy, qz, qw], by scipy."""
    m = np.eye(4)
    m[:3, :3] = Rotation.from_quat(np.asarray(values[3:], float)).as_matrix()
    m[:3, 3] = values[:3]
    return m


def tf_message(edges):
    """Build a TFMessage-like object (the fields StaticTransforms reads)."""
    items = []
    for child, (parent, v) in edges.items():
        items.append(SimpleNamespace(
            header=SimpleNamespace(frame_id=parent), child_frame_id=child,
            transform=SimpleNamespace(
                translation=SimpleNamespace(x=v[0], y=v[1], z=v[2]),
                rotation=SimpleNamespace(x=v[3], y=v[4], z=v[5], w=v[6]))))
    return SimpleNamespace(transforms=items)


@pytest.mark.parametrize('seed', range(5))
def test_quaternions_follow_scipy(seed):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=4) * 3.0                # not normalised: the class normalises
    t = rng.normal(size=3)
    transform = RigidTransform.from_xyz_quaternion(list(t) + list(q))
    truth = Rotation.from_quat(q / np.linalg.norm(q))
    np.testing.assert_allclose(transform.rotation, truth.as_matrix(), atol=1e-12)
    # back to a quaternion: the same rotation (q and -q are one rotation; ours has w >= 0)
    back = np.array(transform.quaternion)
    expected = truth.as_quat() * np.sign(truth.as_quat()[3])
    np.testing.assert_allclose(back, expected, atol=1e-12)
    points = rng.normal(size=(10, 3))
    np.testing.assert_allclose(transform.apply(points), truth.apply(points) + t, atol=1e-12)
    np.testing.assert_allclose(transform.inverse().apply(transform.apply(points)), points,
                               atol=1e-12)


def test_composition_applies_the_right_one_first():
    a = RigidTransform.from_xyz_quaternion([0.1, 0.2, 0.3] + list(
        Rotation.from_euler('z', 30, degrees=True).as_quat()))
    b = RigidTransform.from_xyz_quaternion([-0.5, 0.0, 1.0] + list(
        Rotation.from_euler('x', 50, degrees=True).as_quat()))
    p = np.array([0.3, -0.7, 2.0])
    np.testing.assert_allclose((a @ b).apply(p), a.apply(b.apply(p)), atol=1e-12)
    expected = matrix([0.1, 0.2, 0.3] + list(Rotation.from_euler('z', 30, degrees=True)
                                             .as_quat())) @ \
        matrix([-0.5, 0.0, 1.0] + list(Rotation.from_euler('x', 50, degrees=True).as_quat()))
    np.testing.assert_allclose((a @ b).apply(p), (expected @ np.append(p, 1.0))[:3], atol=1e-12)


@pytest.mark.parametrize('values, says', [([0.0] * 6, '7 numbers'),
                                          ([0.0] * 7, 'must not be zero'),
                                          ([0.0, 0.0, float('nan'), 0, 0, 0, 1], 'finite')])
def test_bad_transforms_are_refused(values, says):
    with pytest.raises(ValueError, match=says):
        RigidTransform.from_xyz_quaternion(values)


def test_realsense_tree_depth_optical_to_colour_optical():
    tree = StaticTransforms()
    assert tree.add_message(tf_message(REALSENSE)) == 0
    got = tree.lookup('camera_color_optical_frame', 'camera_depth_optical_frame')
    m = {child: matrix(v) for child, (_, v) in REALSENSE.items()}
    link_from_depth = m['camera_depth_frame'] @ m['camera_depth_optical_frame']
    link_from_colour = m['camera_color_frame'] @ m['camera_color_optical_frame']
    expected = np.linalg.inv(link_from_colour) @ link_from_depth
    points = np.array([[0.1, -0.2, 1.5], [0.0, 0.0, 0.3], [-1.0, 0.4, 4.0]])
    truth = (expected @ np.c_[points, np.ones(3)].T).T[:, :3]
    np.testing.assert_allclose(got.apply(points), truth, atol=1e-12)
    # the other way round is the inverse; one frame to itself is the identity
    back = tree.lookup('camera_depth_optical_frame', 'camera_color_optical_frame')
    np.testing.assert_allclose(back.apply(truth), points, atol=1e-12)
    same = tree.lookup('camera_link', '/camera_link')
    np.testing.assert_allclose(same.apply(points), points)
    # the optical frames differ from the body frames by the REP-103 turn: z forward = x body
    body = tree.lookup('camera_depth_frame', 'camera_depth_optical_frame')
    np.testing.assert_allclose(body.apply([0.0, 0.0, 1.0]), [1.0, 0.0, 0.0], atol=1e-12)


def test_unconnected_frames_replaced_edges_loops_and_bad_values():
    tree = StaticTransforms()
    assert tree.lookup('camera_color_optical_frame', 'camera_depth_optical_frame') is None
    half = dict(list(REALSENSE.items())[:2])            # the depth chain only
    tree.add_message(tf_message(half))
    assert tree.lookup('camera_color_optical_frame', 'camera_depth_optical_frame') is None
    tree.add_message(tf_message(dict(list(REALSENSE.items())[2:])))
    assert tree.lookup('camera_color_optical_frame', 'camera_depth_optical_frame') is not None
    # a later message moves the colour camera: the latest edge per child counts (as tf2)
    moved = {'camera_color_frame': ('camera_link', [0.0, 0.05, 0.0, 0.0, 0.0, 0.0, 1.0])}
    tree.add_message(tf_message(moved))
    got = tree.lookup('camera_color_frame', 'camera_depth_frame')
    np.testing.assert_allclose(got.apply([0.0, 0.0, 0.0]), [0.0, -0.05, 0.0], atol=1e-12)
    # bad values are refused and counted, the rest is kept; a loop ends without an answer
    bad = {'x': ('camera_link', [0.0] * 7), 'a': ('b', [0.0] * 6 + [1.0]),
           'b': ('a', [0.0] * 6 + [1.0])}
    assert tree.add_message(tf_message(bad)) == 1
    assert tree.lookup('camera_link', 'a') is None
    assert {'camera_link', 'a', 'b'} <= tree.frames()
    with pytest.raises(ValueError):
        tree.add('camera_link', 'camera_link', RigidTransform.identity())
