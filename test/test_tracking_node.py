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
Tracking in the task nodes (``tracker``), over the real rclpy and Fast DDS.

The truth is where each picture was pasted or drawn (tracking_scenes: people cut out of
scikit-image's pictures walking over grass; models.bright_rectangle for the generated pose
and segment models), never the tracker's own state: an output box is a person when its IoU
with that person's pasted box is at least 0.5, and each person must keep one id.
"""

from ai_msgs.msg import PerceptionTargets
from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.image_conversions import bgr_to_image
from edge_perception.ros.node_base import ResultStage, StartupError
from edge_perception.ros.pose_node import PoseNode
from edge_perception.ros.segmenter_node import SegmenterNode
import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_srvs.srv import SetBool
from vision_msgs.msg import Detection2DArray

from . import tracking_scenes as scenes
from .helpers import stamped, wait_for
from .models import bright_rectangle
from .test_detector_node import RED, RELIABLE, same_header, send_and_receive
from .test_lifecycle_node import call
from .test_task_nodes import pixels, predict, task_models  # noqa: F401  (a fixture)

pytestmark = pytest.mark.ros


def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def xyxy(det):
    c, w, h = det.bbox.center.position, det.bbox.size_x, det.bbox.size_y
    return (c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2)


def roi_box(roi):
    r = roi.rect
    return (r.x_offset, r.y_offset, r.x_offset + r.width, r.y_offset + r.height)


def start(nodes, cls, namespace, model, stages=(), **params):
    overrides = [Parameter('model', value=str(model)), Parameter('image_qos', value='reliable')]
    overrides += [Parameter(name, value=value) for name, value in params.items()]
    return nodes(cls, namespace=namespace, parameter_overrides=overrides, stages=list(stages))


def test_detector_keeps_one_id_per_walking_person(nodes, probe, namespace, fall_model_card):
    # two people walking toward each other (never overlapping); the default tracker
    frames = scenes.render({'cameraman': scenes.walk(0, 20, 8),
                            'astronaut': scenes.walk(660, -15, 8)}, ('cameraman', 'astronaut'))
    node = start(nodes, DetectorNode, namespace, fall_model_card, workers=2)
    assert node.get_parameter('tracker').value == 'bytetrack'
    detections = probe.collect(Detection2DArray, 'detections')
    targets = probe.collect(PerceptionTargets, 'perception_targets')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    ids = {'cameraman': set(), 'astronaut': set()}
    for frame in frames:
        header = stamped('camera', 100 + frame.index)
        got = send_and_receive(pub, detections, bgr_to_image(frame.image), header, timeout=20)
        assert got is not None, f'frame {frame.index}: no detections message'
        found = {}
        for det in got.detections:
            person = [n for n, box in frame.truth.items() if iou(xyxy(det), box) >= 0.5]
            assert len(person) == 1, (frame.index, xyxy(det), frame.truth)
            found[person[0]] = det.id
        assert set(found) == set(frame.truth), (frame.index, found)     # both, every frame
        for name, ident in found.items():
            ids[name].add(ident)
        # ai_msgs carries the same track ids on the same boxes
        msg = targets.wait(lambda m: same_header(m, header))
        assert msg is not None
        by_track = {str(t.track_id): roi_box(t.rois[0]) for t in msg.targets}
        assert set(by_track) == set(found.values())
        for det in got.detections:
            assert iou(by_track[det.id], xyxy(det)) > 0.95
    assert all(len(v) == 1 for v in ids.values()), ids          # one id per person
    assert ids['cameraman'] != ids['astronaut']
    assert all(int(i) > 0 for v in ids.values() for i in v)     # ai_msgs: 0 = not tracked


class Indices(ResultStage):
    """Writes down the frame_index each frame reaches the stages with."""

    def __init__(self):
        self.seen = []

    def process(self, camera, frame_index, header, result):
        self.seen.append((header.stamp.sec, frame_index, list(result.output.tracker_id)))


def test_frames_not_inferred_are_a_gap_not_a_reset(nodes, probe, namespace, tiny_model):
    stage = Indices()
    node = start(nodes, DetectorNode, namespace, tiny_model, stages=[stage])
    name = f'{namespace}/detector'
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    for sec in (1, 2):
        assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', sec))
    assert call(probe, SetBool, f'{name}/enable', SetBool.Request(data=False)).success
    for sec in (3, 4, 5):
        pub.publish(bgr_to_image(RED, stamped('cam', sec)))
    assert wait_for(lambda: node.counters()['frames_paused'] == 3)
    assert call(probe, SetBool, f'{name}/enable', SetBool.Request(data=True)).success
    got = send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 6))
    assert got is not None
    # three frames received while paused: indices 2..4 are a gap the tracker predicts over
    assert [(s, i) for s, i, _ in stage.seen] == [(1, 0), (2, 1), (6, 5)]
    tracks = [t for _, _, t in stage.seen]
    assert tracks[0] == tracks[1] == tracks[2] and len(tracks[0]) == 1    # one id throughout
    assert [d.id for d in got.detections] == [str(tracks[0][0])]


def test_tracker_parameters_are_checked_with_the_reasons(nodes, namespace, tiny_model):
    with pytest.raises(StartupError, match='tracker must be one of none, bytetrack'):
        start(nodes, DetectorNode, namespace + '/a', tiny_model, tracker='sort')
    with pytest.raises(StartupError, match='new_track_threshold .* must not be below '
                                           r'track_threshold \(0.5\)'):
        start(nodes, DetectorNode, namespace + '/b', tiny_model, new_track_threshold=0.3)
    node = start(nodes, DetectorNode, namespace + '/c', tiny_model)
    result = node.set_parameters([Parameter('track_low_threshold', value=0.7)])[0]
    assert not result.successful
    assert 'track_low_threshold (0.7) must not exceed track_threshold (0.5)' in result.reason
    assert node.get_parameter('track_low_threshold').value == pytest.approx(0.1)
    # checked together: set atomically (one by one, 0.8 alone is above new_track_threshold)
    result = node.set_parameters_atomically([Parameter('track_threshold', value=0.8),
                                             Parameter('new_track_threshold', value=0.9)])
    assert result.successful, result.reason
    assert (node._tracking.settings.track_threshold,
            node._tracking.settings.new_track_threshold) == (0.8, 0.9)
    assert not node.set_parameters([Parameter('tracker', value='none')])[0].successful


def test_pose_keypoints_and_masks_carry_the_track_ids(nodes, probe, namespace, task_models):  # noqa: F811,E501
    # a bright rectangle moving right: one object, one track id in every output
    boxes = [(30 + 6 * i, 20, 90 + 6 * i, 60) for i in range(4)]
    pose = start(nodes, PoseNode, namespace + '/pose', task_models['pose'])
    seg = start(nodes, SegmenterNode, namespace + '/seg', task_models['segment'])
    assert pose.get_parameter('tracker').value == seg.get_parameter('tracker').value == \
        'bytetrack'
    people = probe.collect(Detection2DArray, 'pose/detections')
    keypoints = probe.collect(Detection2DArray, 'pose/keypoints')
    instances = probe.collect(Detection2DArray, 'seg/detections')
    masks = probe.collect(Image, 'seg/masks')
    pub_pose = probe.publisher_for(Image, 'pose/image', RELIABLE)
    pub_seg = probe.publisher_for(Image, 'seg/image', RELIABLE)
    person_ids, instance_ids = set(), set()
    for i, box in enumerate(boxes):
        scene = bright_rectangle(120, 200, box)
        header = stamped('camera', 10 + i)
        got = send_and_receive(pub_pose, people, bgr_to_image(scene), header)
        assert got is not None and len(got.detections) == 1
        person = got.detections[0].id
        person_ids.add(person)
        kps = keypoints.wait(lambda m: same_header(m, header))
        assert kps is not None and kps.detections
        assert {d.id.split('/')[0] for d in kps.detections} == {person}
        got = send_and_receive(pub_seg, instances, bgr_to_image(scene), header)
        assert got is not None and len(got.detections) == 1
        instance_ids.add(got.detections[0].id)
        mask = masks.wait(lambda m: same_header(m, header))
        assert mask is not None
        values = pixels(mask)
        # value 1 = the first Detection2D of the frame (its id: the track id), 0 elsewhere;
        # the mask itself is the model's (run here without ROS)
        assert set(np.unique(values)) == {0, 1}
        assert np.array_equal(values == 1, predict(task_models['segment'], scene).masks[0])
    assert len(person_ids) == 1 and len(instance_ids) == 1
    assert person_ids != {'0'} and instance_ids != {'0'}    # track ids (from 1), not indices
