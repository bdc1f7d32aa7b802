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
"""Detection3DArray and metric MarkerArrays from 3D boxes, published over the real rclpy."""

from edge_perception.depth import (lift_detections, lift_unregistered, objects_on_rays,
                                   PinholeCamera, RigidTransform)
from edge_perception.results import Detections
from edge_perception.ros.depth_messages import detections_3d_msg, markers_3d
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import Marker, MarkerArray

from .depth_scenes import (board_corners, camera_info, COLOUR_K, compose, DEPTH_FRAME,
                           DEPTH_K, DEPTH_POSE, DEPTH_QUATERNION, DEPTH_ROTATION,
                           DEPTH_TRANSLATION, FRAME, project_corners, project_point,
                           render_board, render_plane, to_depth_frame)
from .helpers import stamped

COLOUR = PinholeCamera.from_camera_info(camera_info(COLOUR_K))
DEPTH = PinholeCamera.from_camera_info(camera_info(DEPTH_K))
BOARDS = [((0.3, -0.1, 1.2), 0.4, 0.5), ((-0.5, 0.2, 2.5), 0.6, 0.3)]


@pytest.fixture
def lifted():
    depth = compose(*[render_board(DEPTH_K, c, w, h) for c, w, h in BOARDS],
                    render_plane(DEPTH_K, [0, 0, 1.0], 4.0))
    boxes = [project_corners(COLOUR_K, board_corners(c, w, h)) for c, w, h in BOARDS]
    boxes.append([10, 10, 12, 12])                  # a sliver: too few depth pixels
    dets = Detections(boxes, [0.9, 0.6, 0.3], [1, 0, 1], ('Normal', 'Fall'))
    return lift_detections(dets, depth, DEPTH, COLOUR)


def test_detection_3d_array_fields(lifted):
    header = stamped(FRAME, 12, 345)
    msg = detections_3d_msg(lifted, header)
    assert msg.header.frame_id == FRAME and msg.header.stamp.nanosec == 345
    assert [d.id for d in msg.detections] == ['0', '1']       # the sliver has no 3D
    for det, (centre, w, h), name, score in zip(msg.detections, BOARDS, ['Fall', 'Normal'],
                                                [0.9, 0.6]):
        p = det.bbox.center.position
        assert (p.x, p.y, p.z) == pytest.approx(centre, abs=1e-5)
        assert det.bbox.center.orientation.w == 1.0
        assert (det.bbox.size.x, det.bbox.size.y) == pytest.approx((w, h), abs=1e-5)
        assert det.results[0].hypothesis.class_id == name
        assert det.results[0].hypothesis.score == pytest.approx(score)
        assert det.results[0].pose.pose.position.z == pytest.approx(centre[2], abs=1e-5)
        assert det.header.frame_id == FRAME


def test_track_ids_are_copied(lifted):
    lifted.detections.tracker_id = np.array([17, 4, 99], np.int64)
    assert [d.id for d in detections_3d_msg(lifted, stamped(FRAME, 1)).detections] == \
        ['17', '4']


def test_box_markers_are_the_boards_corners_in_metres(lifted):
    markers = markers_3d(lifted, stamped(FRAME, 1)).markers
    assert markers[0].action == Marker.DELETEALL
    boxes = [m for m in markers if m.ns == 'boxes']
    assert [m.id for m in boxes] == [0, 1] and all(m.type == Marker.LINE_LIST for m in boxes)
    for marker, (centre, w, h) in zip(boxes, BOARDS):
        # a flat board (no depth spread): a rectangle of 4 edges through its true corners
        points = np.array([[p.x, p.y, p.z] for p in marker.points])
        assert len(points) == 8
        truth = board_corners(centre, w, h)
        for corner in truth:
            assert np.abs(points - corner).max(axis=1).min() < 1e-4
        assert set(map(tuple, np.round(points, 4))) == set(map(tuple, np.round(truth, 4)))


def test_skeleton_markers_on_rays_at_a_distance():
    truth = np.array([[0.0, -0.5, 3.0], [0.1, 0.0, 3.0], [-0.1, 0.4, 3.0]])
    kps = np.array([[[*project_point(COLOUR_K, p), 0.9] for p in truth]])
    dets = Detections([[500, 100, 800, 600]], [0.9], [0], ('person',), keypoints=kps)
    objects = objects_on_rays(dets, COLOUR, 3.0)
    markers = markers_3d(objects, stamped(FRAME, 1), skeleton=[(0, 1), (1, 2), (2, 5)])
    limbs = next(m for m in markers.markers if m.ns == 'skeleton')
    joints = next(m for m in markers.markers if m.ns == 'keypoints')
    np.testing.assert_allclose([[p.x, p.y, p.z] for p in joints.points], truth, atol=1e-9)
    assert len(limbs.points) == 4                  # (2, 5): no keypoint 5, no limb
    assert markers_3d(None, stamped(FRAME, 1)).markers[0].action == Marker.DELETEALL
    assert len(markers_3d(None, stamped(FRAME, 1)).markers) == 1


def test_published_and_received_over_rclpy(probe, lifted):
    header = stamped(FRAME, 77, 5)
    got = probe.collect(Detection3DArray, 'detections_3d')
    got_markers = probe.collect(MarkerArray, 'markers_3d')
    pub = probe.publisher_for(Detection3DArray, 'detections_3d', 10)
    marker_pub = probe.publisher_for(MarkerArray, 'markers_3d', 10)
    pub.publish(detections_3d_msg(lifted, header))
    marker_pub.publish(markers_3d(lifted, header))
    msg = got.wait()
    assert msg is not None and msg.header.stamp.sec == 77
    centres = [(d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z)
               for d in msg.detections]
    np.testing.assert_allclose(centres, [c for c, _, _ in BOARDS], atol=1e-5)
    markers = got_markers.wait()
    assert markers is not None and [m.ns for m in markers.markers] == ['', 'boxes', 'boxes']


def test_a_real_camera_info_message():
    from sensor_msgs.msg import CameraInfo
    info = CameraInfo(width=848, height=480)
    info.header.frame_id = FRAME
    info.k = [606.1, 0.0, 421.7, 0.0, 605.4, 242.3, 0.0, 0.0, 1.0]
    assert PinholeCamera.from_camera_info(info) == DEPTH
    with pytest.raises(ValueError, match='not calibrated'):
        PinholeCamera.from_camera_info(CameraInfo(width=848, height=480))   # K = 0


def test_unregistered_boxes_carry_the_colour_axes_orientation():
    (centre, w, h), = BOARDS[:1]
    depth = compose(render_board(DEPTH_K, centre, w, h, pose=DEPTH_POSE),
                    render_plane(DEPTH_K, [0, 0, 1.0], 4.0, pose=DEPTH_POSE))
    dets = Detections([project_corners(COLOUR_K, board_corners(centre, w, h))], [0.9], [0],
                      ('board',))
    objects = lift_unregistered(
        dets, depth, PinholeCamera.from_camera_info(camera_info(DEPTH_K, DEPTH_FRAME)), COLOUR,
        RigidTransform.from_xyz_quaternion(list(DEPTH_TRANSLATION) + DEPTH_QUATERNION))
    header = stamped(DEPTH_FRAME, 3)
    det = detections_3d_msg(objects, header).detections[0]
    q = det.bbox.center.orientation
    np.testing.assert_allclose(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(),
                               DEPTH_ROTATION.T, atol=1e-9)
    assert det.results[0].pose.pose.orientation == q
    # the marker's corners are the board's true corners, seen in the depth frame
    box = markers_3d(objects, header).markers[1]
    corners = np.array([[p.x, p.y, p.z] for p in box.points])
    truth = to_depth_frame(board_corners(centre, w, h))
    gaps = np.linalg.norm(corners[:, None] - truth[None], axis=-1)     # (8 ends, 4 corners)
    assert gaps.min(axis=1).max() < 2e-5 and (gaps.min(axis=0) < 2e-5).all()
