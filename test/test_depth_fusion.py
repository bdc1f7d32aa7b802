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
"""DepthFusion: camera_info state, registration, missing/bad inputs, throttled reasons."""

from edge_perception.depth import DepthFusion, ReasonLog
from edge_perception.results import Detections
import numpy as np
import pytest

from .depth_scenes import (board_corners, camera_info, COLOUR_K, compose, DEPTH_K, FRAME,
                           project_corners, render_board, render_plane)

CENTRE, WIDTH, HEIGHT = (0.2, 0.1, 1.7), 0.5, 0.4
COLOUR_SIZE = (COLOUR_K['width'], COLOUR_K['height'])


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def scene():
    depth = compose(render_board(DEPTH_K, CENTRE, WIDTH, HEIGHT),
                    render_plane(DEPTH_K, [0, 0, 1.0], 3.0))
    box = project_corners(COLOUR_K, board_corners(CENTRE, WIDTH, HEIGHT))
    return depth, Detections([box], [0.8], [0], ('board',))


def fusion(clock=None, **kwargs):
    return DepthFusion(reasons=ReasonLog(5.0, clock or Clock()), **kwargs)


def test_registered_depth_with_both_camera_infos(scene):
    depth, dets = scene
    f = fusion()
    f.set_colour_info(camera_info(COLOUR_K))
    f.set_depth_info(camera_info(DEPTH_K))
    objects = f.lift(dets, COLOUR_SIZE, FRAME, depth, FRAME)
    np.testing.assert_allclose(objects.center[0], CENTRE, atol=1e-5)
    assert f.reasons.due() == [] and f.reasons.counts == {}


def test_no_depth_camera_info_is_2d_only_and_throttled(scene):
    depth, dets = scene
    clock = Clock()
    f = fusion(clock)
    for _ in range(3):
        assert f.lift(dets, COLOUR_SIZE, FRAME, depth, FRAME) is None
    assert [code for code, _ in f.reasons.due()] == ['no_depth_camera_info']
    assert f.reasons.counts == {'no_depth_camera_info': 3}
    clock.now += 5.0
    f.lift(dets, COLOUR_SIZE, FRAME, depth, FRAME)
    assert [code for code, _ in f.reasons.due()] == ['no_depth_camera_info']


def test_depth_of_another_frame_without_extrinsics_is_2d_only_unless_assumed(scene):
    depth, dets = scene
    other = 'camera_depth_optical_frame'
    for assume in (False, True):
        f = fusion(assume_registered=assume)
        f.set_colour_info(camera_info(COLOUR_K))
        f.set_depth_info(camera_info(DEPTH_K, other))
        objects = f.lift(dets, COLOUR_SIZE, FRAME, depth, other)
        due = f.reasons.due()
        if assume:
            assert objects.valid[0] and due == []
        else:
            assert objects is None and [code for code, _ in due] == ['no_extrinsics']
            assert repr(other) in due[0][1] and '/tf_static' in due[0][1]


def test_missing_colour_camera_info_maps_by_the_size_ratio(scene):
    depth, dets = scene
    f = fusion()
    f.set_depth_info(camera_info(DEPTH_K))
    objects = f.lift(dets, COLOUR_SIZE, FRAME, depth, FRAME)
    assert objects.valid[0]
    assert [code for code, _ in f.reasons.due()] == ['no_colour_camera_info']
    # the depth intrinsics stretched to 1280x720 are not the colour camera's: an
    # approximation (here 2 cm off at 1.7 m), the reason says so
    assert np.linalg.norm(objects.center[0] - CENTRE) < 0.05


def test_depth_image_not_matching_its_camera_info(scene):
    depth, dets = scene
    f = fusion()
    f.set_depth_info(camera_info(DEPTH_K))
    assert f.lift(dets, COLOUR_SIZE, FRAME, depth[:, :-8], FRAME) is None
    assert [code for code, _ in f.reasons.due()] == ['depth_info_size']


def test_uncalibrated_camera_info_is_explained_and_ignored():
    f = fusion()
    f.set_depth_info(camera_info(
        {'fx': 0.0, 'fy': 0.0, 'cx': 0.0, 'cy': 0.0, 'width': 848, 'height': 480}))
    assert f.depth_camera is None
    assert [code for code, _ in f.reasons.due()] == ['bad_depth_camera_info']


def test_marker_geometry_with_depth_on_rays_or_none(scene):
    depth, dets = scene
    f = fusion(marker_distance=2.5)
    assert f.marker_objects(dets, COLOUR_SIZE) is None
    assert f.marker_objects(dets, COLOUR_SIZE) is None
    assert f.reasons.due() == [('no_markers', 'no depth and no camera_info: metric markers '
                                              'are not published')]      # said once
    assert f.reasons.counts['no_markers'] == 2
    f.set_colour_info(camera_info(COLOUR_K))
    on_rays = f.marker_objects(dets, COLOUR_SIZE)
    assert not on_rays.from_depth and on_rays.center[0][2] == 2.5
    # the ray through the box centre: the board centre scaled to 2.5 m, to perspective error
    np.testing.assert_allclose(on_rays.center[0], np.array(CENTRE) * 2.5 / CENTRE[2],
                               atol=1e-3)
    f.set_depth_info(camera_info(DEPTH_K))
    lifted = f.lift(dets, COLOUR_SIZE, FRAME, depth, FRAME)
    assert f.marker_objects(dets, COLOUR_SIZE, lifted) is lifted


def test_colour_camera_info_of_another_size_is_scaled(scene):
    depth, dets = scene
    f = fusion()
    half = dict(COLOUR_K, fx=COLOUR_K['fx'] / 2, fy=COLOUR_K['fy'] / 2,
                cx=(COLOUR_K['cx'] + 0.5) / 2 - 0.5, cy=(COLOUR_K['cy'] + 0.5) / 2 - 0.5,
                width=640, height=360)
    f.set_colour_info(camera_info(half))
    f.set_depth_info(camera_info(DEPTH_K))
    objects = f.lift(dets, COLOUR_SIZE, FRAME, depth, FRAME)
    np.testing.assert_allclose(objects.center[0], CENTRE, atol=1e-5)
    assert [code for code, _ in f.reasons.due()] == ['colour_info_size']
