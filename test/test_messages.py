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
"""Detections -> vision_msgs (4.x layout), LabelInfo and diagnostics message building."""

from diagnostic_msgs.msg import DiagnosticStatus
from edge_perception.results import Detections
from edge_perception.ros.messages import (detections_to_msg, diagnostic_array,
                                          diagnostic_status, label_info_msg)
import numpy as np
import pytest
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray


def header(frame_id='camera', sec=1700000000, nanosec=123456789):
    h = Header(frame_id=frame_id)
    h.stamp.sec, h.stamp.nanosec = sec, nanosec
    return h


def test_detections_to_msg_fields():
    dets = Detections(xyxy=[[10, 20, 110, 70], [0.5, 1.5, 2.5, 5.5]], confidence=[0.9, 0.31],
                      class_id=[1, 0], class_names=('Normal', 'Fall'))
    msg = detections_to_msg(dets, header())
    assert isinstance(msg, Detection2DArray)
    assert msg.header.frame_id == 'camera'
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1700000000, 123456789)
    assert len(msg.detections) == 2
    first, second = msg.detections
    assert first.header.frame_id == 'camera' and first.header.stamp.nanosec == 123456789
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (60.0, 45.0)
    assert (first.bbox.size_x, first.bbox.size_y) == (100.0, 50.0)
    assert first.bbox.center.theta == 0.0
    assert len(first.results) == 1
    assert first.results[0].hypothesis.class_id == 'Fall'
    assert first.results[0].hypothesis.score == pytest.approx(0.9)
    assert (second.bbox.center.position.x, second.bbox.center.position.y) == (1.5, 3.5)
    assert (second.bbox.size_x, second.bbox.size_y) == (2.0, 4.0)
    assert second.results[0].hypothesis.class_id == 'Normal'
    assert second.results[0].hypothesis.score == pytest.approx(0.31)
    assert [d.id for d in msg.detections] == ['0', '1']


def test_class_without_a_name_uses_the_id():
    dets = Detections([[0, 0, 1, 1]], [0.5], [7], ('a', 'b'))
    assert detections_to_msg(dets, header()).detections[0].results[0].hypothesis.class_id == '7'


def test_no_detections_still_carries_the_header():
    msg = detections_to_msg(Detections.empty(('a',)), header('cam2'))
    assert msg.detections == [] and msg.header.frame_id == 'cam2'


def test_many_detections_have_unique_ids():
    n = 300
    xy = np.random.default_rng(0).uniform(0, 600, (n, 2))
    dets = Detections(np.hstack([xy, xy + 10]), np.full(n, 0.5), np.zeros(n), ('x',))
    ids = [d.id for d in detections_to_msg(dets, header()).detections]
    assert len(set(ids)) == n


def test_label_info():
    msg = label_info_msg(('Normal', 'Fall'), 0.25, header('', 5, 6))
    assert [(c.class_id, c.class_name) for c in msg.class_map] == [(0, 'Normal'), (1, 'Fall')]
    assert msg.threshold == pytest.approx(0.25)
    assert msg.header.stamp.sec == 5


def test_diagnostic_status_and_array():
    status = diagnostic_status('/ns/detector: object detection', 'WARN', '2 bad frames',
                               {'frames_in': 10, 'fps': 12.3456, 'model': 'm'}, 'cpu')
    assert status.level == DiagnosticStatus.WARN
    assert status.name == '/ns/detector: object detection'
    assert status.hardware_id == 'cpu' and status.message == '2 bad frames'
    assert [(v.key, v.value) for v in status.values] == [
        ('frames_in', '10'), ('fps', '12.346'), ('model', 'm')]
    stamp = header().stamp
    array = diagnostic_array([status], stamp)
    assert array.status[0].name == status.name and array.header.stamp.sec == stamp.sec


def test_diagnostic_status_rejects_unknown_level():
    with pytest.raises(ValueError, match="level 'FINE'"):
        diagnostic_status('x', 'FINE', '', {})
