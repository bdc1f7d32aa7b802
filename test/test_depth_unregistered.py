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
3D boxes from depth NOT registered to the colour image, on synthetic scenes of known truth.

The depth camera (848x480, its own intrinsics) sits 5 cm beside the colour camera (1280x720)
and is turned by 2 degrees (depth_scenes.DEPTH_POSE); test/depth_scenes.py renders its depth
by casting its own rays into the scene (given in the colour frame), and the 2D boxes are
the true corners projected into the colour camera. The truth in the depth frame is
``to_depth_frame`` of the colour-frame truth (Rodrigues' rotation, written in the tests).
"""

from edge_perception.depth import (DepthFusion, lift_detections, lift_unregistered,
                                   PinholeCamera, ReasonLog, RigidTransform, StaticTransforms)
from edge_perception.results import Detections
import numpy as np
import pytest

from .depth_scenes import (board_corners, camera_info, camera_noise, COLOUR_K, compose,
                           DEPTH_FRAME, DEPTH_K, DEPTH_POSE, DEPTH_QUATERNION, DEPTH_ROTATION,
                           DEPTH_TRANSLATION, FRAME, project_box, project_corners,
                           project_point, realsense_tree, render_board, render_box,
                           render_plane, to_depth_frame)
from .test_depth_extrinsics import tf_message

COLOUR = PinholeCamera.from_camera_info(camera_info(COLOUR_K))
DEPTH = PinholeCamera.from_camera_info(camera_info(DEPTH_K, DEPTH_FRAME))
#: what /tf_static or depth_to_colour gives: depth-frame points into the colour frame
EXTRINSICS = RigidTransform.from_xyz_quaternion(list(DEPTH_TRANSLATION) + DEPTH_QUATERNION)
COLOUR_SIZE = (COLOUR_K['width'], COLOUR_K['height'])


def board_scene(centre, width, height, yaw=0.0, wall=None):
    """Depth (seen by the unregistered depth camera) of a board in front of a wall."""
    wall = centre[2] + 1.5 if wall is None else wall
    return compose(render_board(DEPTH_K, centre, width, height, yaw, pose=DEPTH_POSE),
                   render_plane(DEPTH_K, [0.0, 0.0, 1.0], wall, pose=DEPTH_POSE))


def one(box, **kwargs):
    return Detections([box], [0.9], [0], ('board',), **kwargs)


@pytest.mark.parametrize('centre', [(0.3, -0.1, 0.8), (-0.4, 0.2, 2.0), (1.1, 0.5, 4.5)])
def test_board_facing_the_colour_camera_is_exact_without_noise(centre):
    width, height = 0.5, 0.7
    box = project_corners(COLOUR_K, board_corners(centre, width, height))
    objects = lift_unregistered(one(box), board_scene(centre, width, height), DEPTH, COLOUR,
                                EXTRINSICS)
    assert objects.valid.tolist() == [True] and objects.reasons == [None]
    # published in the depth camera's optical frame; float32 arithmetic is the only error
    np.testing.assert_allclose(objects.center[0], to_depth_frame(centre), atol=2e-5)
    np.testing.assert_allclose(objects.size[0], [width, height, 0.0], atol=2e-5)
    # the box is measured along the colour camera's axes: their orientation in the depth frame
    np.testing.assert_allclose(objects.rotation, DEPTH_ROTATION.T, atol=1e-12)
    # taking the depth for registered is centimetres off: why the extrinsics are needed
    wrong = lift_detections(one(box), board_scene(centre, width, height), DEPTH, COLOUR)
    assert np.linalg.norm(wrong.center[0] - to_depth_frame(centre)) > 0.015


@pytest.mark.parametrize('distance,centre_mm,size_mm', [(0.8, 0.5, 0.5), (2.0, 1, 0.5),
                                                        (4.5, 6, 2)])
def test_board_with_camera_noise_zero_and_nan_holes(distance, centre_mm, size_mm):
    centre, width, height = (0.2, -0.15, distance), 0.45, 0.6
    box = project_corners(COLOUR_K, board_corners(centre, width, height))
    clean = board_scene(centre, width, height)
    for seed in range(5):
        depth = camera_noise(clean, np.random.default_rng(seed))   # 5 % zero or NaN pixels
        objects = lift_unregistered(one(box), depth, DEPTH, COLOUR, EXTRINSICS)
        assert objects.valid[0]
        # measured over 20 seeds: mean / max 0.008 / 0.02, 0.11 / 0.34, 1.3 / 3.6 mm
        assert np.linalg.norm(objects.center[0] - to_depth_frame(centre)) * 1000 < centre_mm
        assert np.abs(objects.size[0][:2] - [width, height]).max() * 1000 < size_mm
        # the spread of a flat board is the noise's p10..p90, 2 x 1.28 sigma (sigma 2 mm z^2)
        assert objects.size[0][2] == pytest.approx(2 * 1.2816 * 0.002 * distance ** 2,
                                                   rel=0.1)


def test_tilted_board_and_thick_box():
    centre, width, height, yaw = (0.1, 0.0, 2.0), 0.6, 0.5, np.radians(35)
    corners = board_corners(centre, width, height, yaw)
    objects = lift_unregistered(one(project_corners(COLOUR_K, corners)),
                                board_scene(centre, width, height, yaw), DEPTH, COLOUR,
                                EXTRINSICS)
    # the same perspective limit as registered depth (test_depth_geometry): 26 mm
    assert 0.02 < np.linalg.norm(objects.center[0] - to_depth_frame(centre)) < 0.03
    assert objects.size[0][2] == pytest.approx(0.4 * width * np.sin(yaw), rel=0.1)
    lo, hi = (-0.2, -0.2, 1.8), (0.2, 0.2, 2.2)
    depth = compose(render_box(DEPTH_K, lo, hi, pose=DEPTH_POSE),
                    render_plane(DEPTH_K, [0, 0, 1.0], 4.0, pose=DEPTH_POSE))
    objects = lift_unregistered(one(project_box(COLOUR_K, lo, hi)), depth, DEPTH, COLOUR,
                                EXTRINSICS)
    # the visible front face (z = 1.8 in the colour frame)
    np.testing.assert_allclose(objects.center[0], to_depth_frame((0.0, 0.0, 1.8)), atol=2e-3)


def test_mask_keeps_the_background_seen_through_an_object_out():
    centre, outer, inner = (0.15, -0.05, 1.2), 0.6, 0.45

    def ring(k, pose):
        board = render_board(k, centre, outer, outer, pose=pose)
        board[np.isfinite(render_board(k, centre, inner, inner, pose=pose))] = np.inf
        return board

    depth = compose(ring(DEPTH_K, DEPTH_POSE),
                    render_plane(DEPTH_K, [0, 0, 1.0], centre[2] + 2.0, pose=DEPTH_POSE))
    mask = np.isfinite(ring(COLOUR_K, None))                # in colour pixels
    box = project_corners(COLOUR_K, board_corners(centre, outer, outer))
    by_box = lift_unregistered(one(box), depth, DEPTH, COLOUR, EXTRINSICS)
    by_mask = lift_unregistered(one(box, masks=mask[None]), depth, DEPTH, COLOUR, EXTRINSICS)
    # the box's inner region is the hole: the wall 2 m behind (colour-frame depth)
    wall = to_depth_frame(np.array(centre) * (centre[2] + 2.0) / centre[2])
    np.testing.assert_allclose(by_box.center[0], wall, atol=2e-3)
    np.testing.assert_allclose(by_mask.center[0], to_depth_frame(centre), atol=1e-4)
    assert by_mask.size[0][2] == pytest.approx(0.0, abs=1e-4)


def test_keypoints_get_their_3d_points_in_the_depth_frame():
    centre, width, height = (0.0, 0.1, 2.2), 0.8, 1.0
    truth = np.array([[0.1, 0.0, 2.2], [-0.25, 0.4, 2.2], [0.3, -0.3, 2.2]])
    kps = np.array([[[*project_point(COLOUR_K, p), 0.9] for p in truth]
                    + [[5.0, 5.0, 0.1]]])                    # below the threshold
    box = project_corners(COLOUR_K, board_corners(centre, width, height))
    objects = lift_unregistered(one(box, keypoints=kps), board_scene(centre, width, height),
                                DEPTH, COLOUR, EXTRINSICS)
    np.testing.assert_allclose(objects.keypoints[0][:3], to_depth_frame(truth), atol=2e-5)
    assert np.isnan(objects.keypoints[0][3]).all()


def test_no_depth_in_the_region_or_outside_the_depth_view_gives_the_reason():
    centre = (0.0, 0.0, 1.5)
    box = project_corners(COLOUR_K, board_corners(centre, 0.5, 0.5))
    holes = board_scene(centre, 0.5, 0.5)
    holes[:, : DEPTH_K['width'] // 2] = 0.0
    holes[:, DEPTH_K['width'] // 2:] = np.nan
    objects = lift_unregistered(one(box), holes, DEPTH, COLOUR, EXTRINSICS)
    assert objects.valid.tolist() == [False] and np.isnan(objects.center).all()
    assert '0 depth samples in the box inner region' in objects.reasons[0]
    # a depth camera looking elsewhere (turned 90 degrees): nothing lands in the colour box
    away = RigidTransform.from_xyz_quaternion([0, 0, 0, 0, np.sin(np.pi / 4), 0,
                                               np.cos(np.pi / 4)])
    objects = lift_unregistered(one(box), board_scene(centre, 0.5, 0.5), DEPTH, COLOUR, away)
    assert not objects.valid[0] and "outside the depth camera's view" in objects.reasons[0]
    empty = lift_unregistered(Detections(np.zeros((0, 4)), [], [], ('board',)), holes, DEPTH,
                              COLOUR, EXTRINSICS)
    assert len(empty) == 0


def fusion(**kwargs):
    f = DepthFusion(reasons=ReasonLog(5.0, lambda: 0.0), **kwargs)
    f.set_colour_info(camera_info(COLOUR_K))
    f.set_depth_info(camera_info(DEPTH_K, DEPTH_FRAME))
    return f


def test_fusion_takes_the_extrinsics_from_the_static_tree_or_the_parameter():
    centre, width, height = (0.2, 0.1, 1.7), 0.5, 0.4
    depth = board_scene(centre, width, height)
    dets = one(project_corners(COLOUR_K, board_corners(centre, width, height)))
    tree = StaticTransforms()
    f = fusion(transforms=tree)
    # no transform yet: 2D only, counted and said (throttled)
    for _ in range(3):
        assert f.lift(dets, COLOUR_SIZE, FRAME, depth, DEPTH_FRAME) is None
    assert f.reasons.counts == {'no_extrinsics': 3}
    assert [code for code, _ in f.reasons.due()] == ['no_extrinsics']
    # the realsense tree arrives (camera_link, body and optical frames): lifted, exact
    tree.add_message(tf_message(realsense_tree()))
    objects = f.lift(dets, COLOUR_SIZE, FRAME, depth, DEPTH_FRAME)
    np.testing.assert_allclose(objects.center[0], to_depth_frame(centre), atol=2e-5)
    # a fixed depth_to_colour wins over the tree (here a wrong one, to see it used)
    fixed = fusion(transforms=tree, depth_to_colour=RigidTransform.identity())
    other = fixed.lift(dets, COLOUR_SIZE, FRAME, depth, DEPTH_FRAME)
    assert np.linalg.norm(other.center[0] - to_depth_frame(centre)) > 0.01
    # without the colour camera_info another camera's depth cannot be projected: 2D only
    blind = DepthFusion(reasons=ReasonLog(5.0, lambda: 0.0), transforms=tree)
    blind.set_depth_info(camera_info(DEPTH_K, DEPTH_FRAME))
    assert blind.lift(dets, COLOUR_SIZE, FRAME, depth, DEPTH_FRAME) is None
    assert [code for code, _ in blind.reasons.due()] == ['no_colour_camera_info']
