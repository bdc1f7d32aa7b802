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
3D from depth in the task nodes (``use_depth``) and metric markers, over the real rclpy.

The scene has a known 3D truth (depth_scenes: a 0.5 x 0.4 m board 1.7 m in front of a
RealSense-like registered RGB-D camera, rendered by ray casting written in the tests): the
colour image shows the board as a white rectangle at its projection, which the generated
bright-rectangle detector (models.write_dense_model) finds; the depth image is the rendered
depth in millimetres (16UC1). The published 3D centre must be the board's centre.
Unregistered depth: the depth camera 5 cm beside the colour camera and turned by 2 degrees
(depth_scenes.DEPTH_POSE), its extrinsics on /tf_static as realsense2_camera publishes them
(a test node publishes the latched TFMessage) or in the ``depth_to_colour`` parameter.
"""

from diagnostic_msgs.msg import DiagnosticArray
from edge_perception.ros.detector_node import DetectorNode, StartupError
from edge_perception.ros.image_conversions import bgr_to_image
from edge_perception.ros.pose_node import PoseNode
from geometry_msgs.msg import TransformStamped
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage
from vision_msgs.msg import Detection2DArray, Detection3DArray
from visualization_msgs.msg import Marker, MarkerArray

from . import depth_scenes as scene
from .helpers import diagnostic_values, raw_image, stamped, wait_for
from .models import _names_metadata, bright_rectangle, expected_keypoints, write_dense_model
from .test_detector_node import RELIABLE, same_header, send_and_receive
from .test_task_nodes import predict, SCENE, task_models  # noqa: F401  (a fixture)
from .test_tracking_node import start

pytestmark = pytest.mark.ros

CENTRE, WIDTH, HEIGHT = (0.2, 0.1, 1.7), 0.5, 0.4


def info_msg(k, header):
    msg = CameraInfo()
    msg.header = header
    msg.width, msg.height = k['width'], k['height']
    msg.k = [float(v) for v in (k['fx'], 0, k['cx'], 0, k['fy'], k['cy'], 0, 0, 1)]
    return msg


@pytest.fixture(scope='module')
def board_model(tmp_path_factory):
    path = tmp_path_factory.mktemp('depth_models') / 'bright.onnx'
    return write_dense_model(str(path), num_classes=1,
                             metadata=_names_metadata(['board'], 320, 'detect'))


def board_frames():
    """Return the colour image (the board white at its projection) and the 16UC1 depth."""
    x1, y1, x2, y2 = scene.project_corners(scene.COLOUR_K,
                                           scene.board_corners(CENTRE, WIDTH, HEIGHT))
    colour = bright_rectangle(scene.COLOUR_K['height'], scene.COLOUR_K['width'],
                              (int(round(x1)), int(round(y1)), int(round(x2)), int(round(y2))))
    depth = scene.compose(scene.render_board(scene.DEPTH_K, CENTRE, WIDTH, HEIGHT),
                          scene.render_plane(scene.DEPTH_K, [0, 0, 1.0], 3.0))
    millimetres = np.where(np.isfinite(depth), np.round(depth * 1000.0), 0).astype(np.uint16)
    return colour, millimetres


def test_detector_publishes_the_board_in_3d_and_counts_frames_without_depth(
        nodes, probe, namespace, board_model):
    node = start(nodes, DetectorNode, namespace, board_model, use_depth=True)
    fqn = node.get_fully_qualified_name()
    detections = probe.collect(Detection2DArray, 'detections')
    boxes_3d = probe.collect(Detection3DArray, 'detections_3d')
    markers = probe.collect(MarkerArray, 'markers')
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    pub_depth = probe.publisher_for(Image, 'depth', RELIABLE)
    pub_info = probe.publisher_for(CameraInfo, 'camera_info', RELIABLE)
    pub_depth_info = probe.publisher_for(CameraInfo, 'depth/camera_info', RELIABLE)
    colour, depth = board_frames()
    for sec in (1, 2):      # a driver publishes both camera_infos with every frame
        header = stamped(scene.FRAME, sec)
        pub_info.publish(info_msg(scene.COLOUR_K, header))
        pub_depth_info.publish(info_msg(scene.DEPTH_K, header))
        wait_for(lambda: False, timeout=0.05)
        pub_depth.publish(raw_image(depth, '16UC1', header))
        got = send_and_receive(pub, detections, bgr_to_image(colour), header)
        assert got is not None and len(got.detections) == 1
        found = boxes_3d.wait(lambda m: same_header(m, header), timeout=5)
        if found is not None and found.detections:
            break
    assert found is not None and len(found.detections) == 1, found
    det = found.detections[0]
    assert same_header(det, header)
    position = det.bbox.center.position
    # the board's centre to 1 cm (the detector sees the image at a quarter of its size)
    assert np.linalg.norm(np.array([position.x, position.y, position.z]) - CENTRE) < 0.01
    assert (det.bbox.size.x, det.bbox.size.y) == pytest.approx((WIDTH, HEIGHT), abs=0.03)
    assert det.id == got.detections[0].id                 # the track id, as in 2D
    assert det.results[0].hypothesis.class_id == '0'      # class_id_format index, as in 2D
    array = markers.wait(lambda m: len(m.markers) > 1 and same_header(m.markers[1], header))
    assert array is not None and array.markers[0].action == Marker.DELETEALL
    box = array.markers[1]
    # the board is flat (no depth spread): its box is one rectangle, 4 edges
    assert box.ns == 'boxes' and box.type == Marker.LINE_LIST and len(box.points) == 8
    corners = np.array([[p.x, p.y, p.z] for p in box.points])
    assert np.allclose(corners.mean(axis=0), CENTRE, atol=0.01)          # metres

    # a colour frame whose depth never comes: published in 2D at once, counted, no 3D
    before = node._depth.diagnostics()['depth_unmatched']
    header = stamped(scene.FRAME, 50)
    got = send_and_receive(pub, detections, bgr_to_image(colour), header)
    assert got is not None and len(got.detections) == 1
    assert wait_for(lambda: node._depth.diagnostics()['depth_unmatched'] == before + 1, 2.0)
    assert boxes_3d.wait(lambda m: same_header(m, header), timeout=0.5) is None
    report = diagnostics.wait(
        lambda m: int((diagnostic_values(m, fqn) or {}).get('depth_unmatched', 0)) > before)
    assert report is not None
    values = diagnostic_values(report, fqn)
    assert int(values['depth_matched']) >= 1


def test_pose_markers_lie_on_the_camera_rays_or_are_not_published(nodes, probe, namespace,
                                                                  task_models):  # noqa: F811
    node = start(nodes, PoseNode, namespace, task_models['pose'], marker_distance=3.0,
                 tracker='none')
    people = probe.collect(Detection2DArray, 'detections')
    markers = probe.collect(MarkerArray, 'markers')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    pub_info = probe.publisher_for(CameraInfo, 'camera_info', RELIABLE)
    header = stamped('camera_optical', 1)
    assert send_and_receive(pub, people, bgr_to_image(SCENE), header) is not None
    # no camera_info yet: no markers (said once), never pixels in a metric frame
    assert markers.wait(timeout=1.0) is None
    assert node._depth.diagnostics()['depth_no_markers'] == 1
    k = {'fx': 150.0, 'fy': 140.0, 'cx': 99.5, 'cy': 59.5, 'width': 200, 'height': 120}
    header = stamped('camera_optical', 2)
    pub_info.publish(info_msg(k, header))
    wait_for(lambda: node._depth._cameras[''].fusion.colour_camera is not None, 5.0)
    assert send_and_receive(pub, people, bgr_to_image(SCENE), header) is not None
    array = markers.wait(lambda m: same_header(m.markers[0], header))
    assert array is not None
    by_ns = {m.ns: m for m in array.markers[1:]}
    assert set(by_ns) == {'boxes', 'skeleton', 'keypoints'}
    truth = expected_keypoints(predict(task_models['pose'], SCENE).xyxy[0])
    visible = truth[truth[:, 2] >= 0.5]
    # pinhole by hand: edge coordinates (u - 0.5 = CameraInfo pixel), on the ray at 3 m
    expected = np.stack([(visible[:, 0] - 0.5 - k['cx']) / k['fx'] * 3.0,
                         (visible[:, 1] - 0.5 - k['cy']) / k['fy'] * 3.0,
                         np.full(len(visible), 3.0)], axis=1)
    got = np.array([[p.x, p.y, p.z] for p in by_ns['keypoints'].points])
    assert np.allclose(got, expected, atol=0.5 / k['fx'] * 3.0)
    assert all(m.header.frame_id == 'camera_optical' for m in array.markers)


LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)   # static_transform_publisher


def unregistered_frames():
    """Return the colour image and the 16UC1 depth seen by the depth camera at DEPTH_POSE."""
    colour, _ = board_frames()
    depth = scene.compose(
        scene.render_board(scene.DEPTH_K, CENTRE, WIDTH, HEIGHT, pose=scene.DEPTH_POSE),
        scene.render_plane(scene.DEPTH_K, [0, 0, 1.0], 3.0, pose=scene.DEPTH_POSE))
    millimetres = np.where(np.isfinite(depth), np.round(depth * 1000.0), 0).astype(np.uint16)
    return colour, millimetres


def tf_static(tree, prefix):
    """Build the TFMessage of ``{child: (parent, [x, y, z, qx, qy, qz, qw])}``, frames prefixed."""
    msg = TFMessage()
    for child, (parent, v) in tree.items():
        item = TransformStamped()
        item.header.frame_id, item.child_frame_id = prefix + parent, prefix + child
        t, q = item.transform.translation, item.transform.rotation
        t.x, t.y, t.z = (float(c) for c in v[:3])
        q.x, q.y, q.z, q.w = (float(c) for c in v[3:])
        msg.transforms.append(item)
    return msg


def send_unregistered(probe, detections, boxes_3d, colour, depth, colour_frame, depth_frame,
                      sec):
    """Publish both camera_infos, the depth and the colour frame; return (2D, 3D or None)."""
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    pub_depth = probe.publisher_for(Image, 'depth', RELIABLE)
    pub_info = probe.publisher_for(CameraInfo, 'camera_info', RELIABLE)
    pub_depth_info = probe.publisher_for(CameraInfo, 'depth/camera_info', RELIABLE)
    header, depth_header = stamped(colour_frame, sec), stamped(depth_frame, sec)
    pub_info.publish(info_msg(scene.COLOUR_K, header))
    pub_depth_info.publish(info_msg(scene.DEPTH_K, depth_header))
    wait_for(lambda: False, timeout=0.05)
    pub_depth.publish(raw_image(depth, '16UC1', depth_header))
    got = send_and_receive(pub, detections, bgr_to_image(colour), header)
    return got, boxes_3d.wait(lambda m: same_header(m, depth_header), timeout=2)


def check_board_in_the_depth_frame(found, got, depth_frame):
    assert found is not None and len(found.detections) == 1, found
    det = found.detections[0]
    assert det.header.frame_id == depth_frame           # the depth camera's optical frame
    p = det.bbox.center.position
    truth = scene.to_depth_frame(CENTRE)
    # the board's centre to 1 cm, as with registered depth (the detector sees 1/4 size)
    assert np.linalg.norm(np.array([p.x, p.y, p.z]) - truth) < 0.01, (p, truth)
    assert (det.bbox.size.x, det.bbox.size.y) == pytest.approx((WIDTH, HEIGHT), abs=0.03)
    # the box lies along the colour camera's axes: their orientation in the depth frame
    q = det.bbox.center.orientation
    np.testing.assert_allclose(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(),
                               scene.DEPTH_ROTATION.T, atol=1e-9)
    assert det.id == got.detections[0].id


def test_unregistered_depth_is_2d_only_until_tf_static_then_lifted(nodes, probe, namespace,
                                                                   board_model):
    prefix = namespace.strip('/') + '_'         # /tf_static is global: frames of this test
    colour_frame, depth_frame = prefix + scene.FRAME, prefix + scene.DEPTH_FRAME
    node = start(nodes, DetectorNode, namespace, board_model, use_depth=True)
    detections = probe.collect(Detection2DArray, 'detections')
    boxes_3d = probe.collect(Detection3DArray, 'detections_3d')
    colour, depth = unregistered_frames()
    # no transform yet: the 2D detections are published, no 3D, and the reason counted
    got, found = send_unregistered(probe, detections, boxes_3d, colour, depth, colour_frame,
                                   depth_frame, 1)
    assert got is not None and len(got.detections) == 1
    assert found is None
    assert wait_for(lambda: node._depth.diagnostics().get('depth_no_extrinsics', 0) >= 1, 2.0)
    # the driver's static transforms arrive on /tf_static (latched, as the drivers send them)
    # (with one broken transform, a zero quaternion: refused and counted, the rest kept)
    tf_pub = probe.publisher_for(TFMessage, '/tf_static', LATCHED)
    broken = dict(scene.realsense_tree(), junk=('camera_link', [0.0] * 7))
    tf_pub.publish(tf_static(broken, prefix))
    assert wait_for(lambda: node._depth._transforms.lookup(colour_frame, depth_frame), 5.0)
    assert node._depth.diagnostics()['depth_bad_tf_static'] == 1
    for sec in (2, 3):
        got, found = send_unregistered(probe, detections, boxes_3d, colour, depth,
                                       colour_frame, depth_frame, sec)
        if found is not None and found.detections:
            break
    check_board_in_the_depth_frame(found, got, depth_frame)


def test_depth_to_colour_parameter_replaces_tf_static(nodes, probe, namespace, board_model):
    prefix = namespace.strip('/') + '_'
    colour_frame, depth_frame = prefix + scene.FRAME, prefix + scene.DEPTH_FRAME
    pose = list(scene.DEPTH_TRANSLATION) + list(scene.DEPTH_QUATERNION)
    node = start(nodes, DetectorNode, namespace, board_model, use_depth=True,
                 depth_to_colour=[float(v) for v in pose])
    assert node._depth._tf_subscription is None         # nothing to wait for
    detections = probe.collect(Detection2DArray, 'detections')
    boxes_3d = probe.collect(Detection3DArray, 'detections_3d')
    colour, depth = unregistered_frames()
    for sec in (1, 2):
        got, found = send_unregistered(probe, detections, boxes_3d, colour, depth,
                                       colour_frame, depth_frame, sec)
        if found is not None and found.detections:
            break
    check_board_in_the_depth_frame(found, got, depth_frame)
    assert 'depth_no_extrinsics' not in node._depth.diagnostics()
    with pytest.raises(StartupError, match='depth_to_colour: a transform is .* 7 numbers'):
        start(nodes, DetectorNode, namespace + '/bad', board_model, use_depth=True,
              depth_to_colour=[0.05, 0.0, 0.0])
