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
The fast Detection2D builders against rclpy's own generated constructors and field checks.

The oracle is rclpy: each message is also built here with the generated constructors and
checked setters (``ROS_PYTHON_CHECK_FIELDS=1``, as Humble always checks), must be equal to
the fast one, must survive rclpy's serializer unchanged, and every field of the fast one is
written back through rclpy's checked setters (a value of a wrong type fails there).
"""

from edge_perception.decoders.oriented import OrientedDetections
from edge_perception.results import Detections
from edge_perception.ros import message_builders
from edge_perception.ros.messages import detections_to_msg, keypoints_to_msg
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header
from vision_msgs.msg import (Detection2D, Detection2DArray, ObjectHypothesisWithPose)


def header(frame_id='camera_optical_frame'):
    h = Header(frame_id=frame_id)
    h.stamp.sec, h.stamp.nanosec = 1700000123, 987654321
    return h


def plain_detection(h, ident, cx, cy, w, hh, class_id, score, theta=0.0):
    """One Detection2D the way rclpy's generated code builds it (checked setters)."""
    det = Detection2D()
    det.header = h
    det.id = ident
    det.bbox.center.position.x = cx
    det.bbox.center.position.y = cy
    det.bbox.center.theta = theta
    det.bbox.size_x = w
    det.bbox.size_y = hh
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = class_id
    hypothesis.hypothesis.score = score
    det.results = [hypothesis]
    return det


def plain_array(h, items):
    out = Detection2DArray()
    out.header = h
    out.detections = items
    return out


def plain_detections_msg(dets, h, class_id_format):
    boxes = dets.centers_sizes.astype(float).tolist()
    scores = dets.confidence.astype(float).tolist()
    angle = getattr(dets, 'angle', None)
    thetas = angle.astype(float).tolist() if angle is not None else [0.0] * len(dets)
    ids = ([str(int(t)) for t in dets.tracker_id] if dets.tracker_id is not None
           else [str(i) for i in range(len(dets))])
    labels = ([str(int(c)) for c in dets.class_id] if class_id_format == 'index'
              else dets.names)
    return plain_array(h, [plain_detection(h, i, *box, label, score, theta)
                           for i, box, label, score, theta
                           in zip(ids, boxes, labels, scores, thetas)])


def recheck(msg):
    """Write every field back through rclpy's checked setter, recursively."""
    assert getattr(msg, '_check_fields', True), 'field checks are off: run via scripts/env.sh'
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        setattr(msg, name, value)
        for sub in (value if isinstance(value, list) else [value]):
            if hasattr(sub, 'get_fields_and_field_types'):
                recheck(sub)


def random_detections(rng, n, tracked, oriented):
    xy = rng.uniform(-50, 1900, (n, 2))
    wh = rng.uniform(0, 400, (n, 2))
    tracks = rng.integers(1, 10**6, n) if tracked else None
    cls = OrientedDetections if oriented else Detections
    extra = {'angle': rng.uniform(-np.pi, np.pi, n)} if oriented else {}
    return cls(np.hstack([xy, xy + wh]), rng.uniform(0, 1, n), rng.integers(0, 5, n),
               ('person', 'bicycle', 'car', '', 'Fall'), tracker_id=tracks, **extra)


def test_the_fast_builders_match_the_installed_messages():
    assert message_builders.available(), (
        'message_builders does not match these vision_msgs/geometry_msgs: the nodes fall back '
        'to the slow constructors (~75 us a detection)')


@pytest.mark.parametrize('n', [0, 1, 7, 60])
@pytest.mark.parametrize('tracked,oriented,class_id_format',
                         [(False, False, 'index'), (True, False, 'name'),
                          (False, True, 'name'), (True, True, 'index')])
def test_detections_to_msg_equals_what_rclpys_constructors_build(n, tracked, oriented,
                                                                 class_id_format):
    rng = np.random.default_rng(n * 10 + tracked * 2 + oriented)
    dets = random_detections(rng, n, tracked, oriented)
    h = header()
    fast = detections_to_msg(dets, h, class_id_format)
    plain = plain_detections_msg(dets, h, class_id_format)
    assert type(fast) is Detection2DArray and fast == plain
    assert deserialize_message(serialize_message(fast), Detection2DArray) == plain
    recheck(fast)
    assert fast == plain
    if n > 1:   # separate objects per detection, as the constructors make them
        a, b = fast.detections[:2]
        assert a.results[0].pose is not b.results[0].pose
        assert a.results[0].pose.covariance is not b.results[0].pose.covariance
        assert a.header is h      # the image's header, shared as before


def test_keypoints_to_msg_equals_what_rclpys_constructors_build():
    rng = np.random.default_rng(3)
    n, k = 4, 17
    kp = np.concatenate([rng.uniform(0, 640, (n, k, 2)), rng.uniform(0, 1, (n, k, 1))], axis=2)
    names = tuple(f'kp{i}' for i in range(k))
    dets = Detections(rng.uniform(0, 100, (n, 4)), rng.uniform(0, 1, n), np.zeros(n),
                      ('person',), keypoints=kp, keypoint_names=names,
                      tracker_id=[5, 9, 11, 40])
    h = header()
    fast = keypoints_to_msg(dets, h, threshold=0.5)
    expected = []
    for person, points in zip(['5', '9', '11', '40'], np.asarray(dets.keypoints, float)):
        for name, (x, y, score) in zip(names, points.tolist()):
            if score >= 0.5:
                expected.append(plain_detection(h, f'{person}/{name}', x, y, 0.0, 0.0, name,
                                                score))
    assert len(expected) > 10
    assert fast == plain_array(h, expected)
    recheck(fast)


def test_another_message_layout_falls_back_to_the_constructors(monkeypatch):
    monkeypatch.setattr(message_builders, '_state', {})
    monkeypatch.setitem(message_builders._FIELDS, 'Point2D', ('x', 'y', 'z'))
    assert not message_builders.available()
    assert message_builders.detection(header(), '0', 1.0, 2.0, 3.0, 4.0, 0.0, 'a', 0.5) is None
    dets = random_detections(np.random.default_rng(1), 5, True, False)
    h = header()
    assert detections_to_msg(dets, h, 'name') == plain_detections_msg(dets, h, 'name')
