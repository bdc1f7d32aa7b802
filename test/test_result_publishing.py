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
The publisher thread's per-frame work: TROS ``perception_targets`` only while listened to.

Against the real rclpy: with nobody subscribed the targets message is never built (it costs
~0.4 ms of interpreter time a frame); once a subscription is matched every frame has one,
with the frame's header and the detection the model found.
"""

from edge_perception.ros import tros
from edge_perception.ros.image_conversions import bgr_to_image
from edge_perception.ros.result_publishing import ResultPublishing
import pytest
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from .helpers import DISCOVERY_TIMEOUT, stamped, wait_for
from .test_detector_node import RED, RELIABLE, same_header, send_and_receive, start_detector

pytestmark = pytest.mark.ros


def test_perception_targets_are_built_only_while_someone_listens(
        nodes, probe, namespace, tiny_model, monkeypatch):
    built = []
    real = ResultPublishing._perception_targets

    def counting(self, outputs, header, result):
        built.append(header.stamp.sec)
        return real(self, outputs, header, result)
    monkeypatch.setattr(ResultPublishing, '_perception_targets', counting)
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    camera = node._intake.cameras[0]
    if not tros.available():    # without ai_msgs there is no targets publisher at all
        assert camera.targets_pub is None
        return
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    for sec in (1, 2, 3):
        assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', sec))
    assert node.counters()['frames_published'] == 3 and built == []

    targets = probe.collect(tros.PerceptionTargets, 'perception_targets')
    assert wait_for(lambda: camera.targets_pub.get_subscription_count() == 1,
                    DISCOVERY_TIMEOUT)
    got = send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 4))
    assert got is not None and len(got.detections) == 1
    msg = targets.wait(lambda m: same_header(m, stamped('cam', 4)))
    assert msg is not None and built == [4]
    assert len(msg.targets) == 1 and msg.targets[0].rois[0].rect.width > 0
