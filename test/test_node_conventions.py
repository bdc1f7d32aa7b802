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
"""Output conventions over the real rclpy: class_id_format, QoS overrides, cameras, stages."""

import threading
import time

from edge_perception.model import load_model
from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.image_conversions import bgr_to_image
from edge_perception.ros.stages import ResultStage
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray, LabelInfo

from .helpers import stamped, wait_for
from .test_detector_node import BLUE, LATCHED, RED, RELIABLE, send_and_receive

BEST_EFFORT = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.BEST_EFFORT)


def start(nodes, namespace, model, cli_args=None, **params):
    overrides = [Parameter('model', value=str(model))]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    return nodes(DetectorNode, namespace=namespace, parameter_overrides=overrides,
                 cli_args=cli_args)


def test_class_id_is_an_index_into_label_info_by_default(nodes, probe, namespace, tiny_model):
    start(nodes, namespace, tiny_model, image_qos='reliable', tracker='none')   # red, then blue
    detections = probe.collect(Detection2DArray, 'detections')
    labels = probe.collect(LabelInfo, 'label_info', LATCHED)
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    table = labels.wait()
    assert table is not None
    names = {c.class_id: c.class_name for c in table.class_map}
    with load_model(tiny_model) as model:          # the plain API's answer for each frame
        for sec, frame in enumerate((RED, BLUE), start=1):
            got = send_and_receive(pub, detections, bgr_to_image(frame), stamped('cam', sec))
            expected = model(frame)
            ids = [d.results[0].hypothesis.class_id for d in got.detections]
            assert all(i.isdigit() for i in ids)
            assert [names[int(i)] for i in ids] == list(expected.names)


def test_class_id_format_name_puts_the_class_name(nodes, probe, namespace, tiny_model):
    start(nodes, namespace, tiny_model, image_qos='reliable', class_id_format='name')
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    got = send_and_receive(pub, detections, bgr_to_image(BLUE), stamped('cam', 1))
    with load_model(tiny_model) as model:
        assert [d.results[0].hypothesis.class_id for d in got.detections] == \
            list(model(BLUE).names)


def test_class_id_format_is_checked(nodes, namespace, tiny_model):
    from edge_perception.ros.node_base import StartupError
    import pytest
    with pytest.raises(StartupError, match='class_id_format must be one of index, name'):
        start(nodes, namespace, tiny_model, class_id_format='label')


def test_qos_overrides_set_the_image_subscription_reliability(nodes, probe, namespace,
                                                              tiny_model):
    # image_qos reliable alone refuses a best-effort camera; the override makes it match
    topic = f'{namespace}/image'
    start(nodes, namespace, tiny_model, image_qos='reliable', cli_args=[
        '--ros-args', '-p', f'qos_overrides.{topic}.subscription.reliability:=best_effort'])
    infos = wait_for(lambda: probe.get_subscriptions_info_by_topic(topic))
    assert [i.qos_profile.reliability for i in infos] == [ReliabilityPolicy.BEST_EFFORT]
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', BEST_EFFORT)
    got = send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 1), resend=0.5)
    assert got is not None


def test_without_overrides_image_qos_reliable_is_reliable(nodes, probe, namespace, tiny_model):
    topic = f'{namespace}/image'
    start(nodes, namespace, tiny_model, image_qos='reliable')
    infos = wait_for(lambda: probe.get_subscriptions_info_by_topic(topic))
    assert [i.qos_profile.reliability for i in infos] == [ReliabilityPolicy.RELIABLE]


def test_image_topics_serve_several_cameras_with_one_model_instance(nodes, probe, namespace,
                                                                    tiny_model):
    node = start(nodes, namespace, tiny_model, image_qos='reliable',
                 image_topics=['front/image_raw', 'rear/image_raw'])
    assert len(node._models) == 1                   # one context set for both cameras
    front = probe.collect(Detection2DArray, 'front/detections')
    rear = probe.collect(Detection2DArray, 'rear/detections')
    assert probe.count_publishers(f'{namespace}/detections') == 0
    assert probe.count_subscribers(f'{namespace}/image') == 0
    front_pub = probe.publisher_for(Image, 'front/image_raw', RELIABLE)
    rear_pub = probe.publisher_for(Image, 'rear/image_raw', RELIABLE)
    with load_model(tiny_model) as model:
        got = send_and_receive(front_pub, front, bgr_to_image(RED), stamped('front', 1))
        assert [int(d.results[0].hypothesis.class_id) for d in got.detections] == \
            model(RED).class_id.tolist()
        got = send_and_receive(rear_pub, rear, bgr_to_image(BLUE), stamped('rear', 2))
        assert [int(d.results[0].hypothesis.class_id) for d in got.detections] == \
            model(BLUE).class_id.tolist()
    assert all(m.header.frame_id == 'front' for m in front.messages)
    assert all(m.header.frame_id == 'rear' for m in rear.messages)


def test_image_topics_need_distinct_namespaces(nodes, namespace, tiny_model):
    from edge_perception.ros.node_base import StartupError
    import pytest
    with pytest.raises(StartupError, match='same output namespace'):
        start(nodes, namespace, tiny_model, image_topics=['cam/a', 'cam/b'])


class Recorder(ResultStage):
    """A stage that writes down what it saw, and on which thread."""

    name = 'recorder'

    def __init__(self, fail_at=None):
        self.seen, self.threads, self.fail_at = [], set(), fail_at
        self.configured = self.resets = 0
        self.inside, self.overlaps = 0, 0

    def configure(self, node):
        self.configured += 1

    def process(self, camera, frame_index, header, result):
        self.inside += 1
        self.overlaps += self.inside > 1
        try:
            self.threads.add(threading.current_thread().name)
            self.seen.append((camera, frame_index, header.stamp.sec))
            time.sleep(0.005)           # a slow stage: a second call would overlap this one
            if header.stamp.sec == self.fail_at:
                raise RuntimeError('stage failure')
            result.extras['recorded'] = frame_index
        finally:
            self.inside -= 1

    def reset(self):
        self.resets += 1


def test_result_stages_run_in_frame_order_one_at_a_time(nodes, probe, namespace, tiny_model):
    stage = Recorder(fail_at=4)
    overrides = [Parameter('model', value=str(tiny_model)), Parameter('workers', value=2),
                 Parameter('image_qos', value='reliable')]
    node = nodes(DetectorNode, namespace=namespace, parameter_overrides=overrides,
                 stages=[stage])
    assert stage.configured == 1
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    for sec in range(1, 9):
        send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', sec), timeout=3.0)
    assert wait_for(lambda: node._worker.wait_idle(0.1))
    published = [m.header.stamp.sec for m in detections.messages]
    assert 4 not in published                               # its stage raised
    assert [s for _, _, s in stage.seen] == sorted(s for _, _, s in stage.seen)
    assert [i for _, i, _ in stage.seen] == list(range(len(stage.seen)))
    assert [s for _, _, s in stage.seen if s != 4] == published
    # on the pool's own threads (a worker publishes its own next result when nothing waits,
    # else the publisher thread does), never on an executor thread; one call at a time (here
    # frames go one by one; test_pool.py's emit test pins it with results finishing at once)
    assert stage.overlaps == 0
    assert stage.threads <= {'detector-inference-publish', 'detector-inference-0',
                             'detector-inference-1'}, stage.threads
    assert node.counters()['bad_publish'] == 1
    node.trigger_deactivate()
    assert stage.resets == 1
