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
YUV camera frames reach the model as they came (issue 9), over the real rclpy and Fast DDS.

A yuyv frame made from real pictures (scikit-image's astronaut over its cat, 1280x720) goes to
the detector node running the demo fall-detection model. The reference is the path that
converts the whole frame to BGR first: ``cv2.cvtColor(COLOR_YUV2BGR_YUYV)`` of the same bytes,
sent to the same node as bgr8. The yuyv frame must give exactly the reference's detections
(same boxes, scores, classes, ids), and with ``publish_debug_image`` the same annotated
picture; the node must hand the model a ``Yuv422Frame`` (no conversion in the node) and convert
the whole frame to BGR only for the debug image, once.
"""

import cv2
from edge_perception.preprocess import Yuv422Frame
from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.image_conversions import bgr_to_image
import numpy as np
import pytest
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from .helpers import DISCOVERY_TIMEOUT, raw_image, stamped, wait_for

pytestmark = pytest.mark.ros

RELIABLE = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
WIDTH, HEIGHT = 1280, 720
TO_BGR = (cv2.COLOR_YUV2BGR_YUYV, cv2.COLOR_YUV2BGR_UYVY)


def real_scene() -> np.ndarray:
    """Return a 1280x720 BGR picture: the astronaut over the cat (scikit-image samples)."""
    from skimage import data
    scene = cv2.resize(cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR), (WIDTH, HEIGHT))
    scene[:, 280:1000] = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR),
                                    (720, 720))
    return scene


def to_yuyv(bgr: np.ndarray) -> np.ndarray:
    """Encode BGR as a camera does: BT.601 YUV, U and V averaged over pixel pairs, Y0 U Y1 V."""
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV).astype(np.float32)
    height, width = bgr.shape[:2]
    pairs = yuv.reshape(height, width // 2, 2, 3).mean(axis=2)          # (h, w/2, 3)
    chroma = np.round(pairs[..., 1:]).astype(np.uint8).reshape(height, width)  # U V U V ...
    return np.ascontiguousarray(np.stack([yuv[..., 0].astype(np.uint8), chroma], axis=2))


def rows(msg):
    """Return a Detection2DArray's detections as comparable tuples (exact floats)."""
    return [(d.id, d.results[0].hypothesis.class_id, d.results[0].hypothesis.score,
             d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y)
            for d in msg.detections]


def pixels(msg):
    return np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, 3)


@pytest.mark.parametrize('debug', [False, True], ids=['no-debug', 'debug-image'])
def test_yuyv_frame_gives_the_detections_of_converting_it_first(
        nodes, probe, namespace, fall_model_card, monkeypatch, debug):
    yuyv = to_yuyv(real_scene())
    reference = cv2.cvtColor(yuyv, cv2.COLOR_YUV2BGR_YUYV)     # the whole frame, then bgr8
    node = nodes(DetectorNode, namespace=namespace, parameter_overrides=[
        Parameter('model', value=fall_model_card), Parameter('tracker', value='none'),
        Parameter('image_qos', value='reliable'), Parameter('publish_debug_image', value=debug)])
    seen = []
    for model in node._models:                  # what the model is given, per frame
        def spy(image, predict=model.predict):
            seen.append(type(image))
            return predict(image)
        monkeypatch.setattr(model, 'predict', spy)
    whole = []
    real_cvt = cv2.cvtColor

    def counting_cvt(src, code, *args, **kwargs):
        if code in TO_BGR and getattr(src, 'shape', None) == (HEIGHT, WIDTH, 2):
            whole.append(code)              # a whole-frame YUV -> BGR conversion
        return real_cvt(src, code, *args, **kwargs)
    monkeypatch.setattr(cv2, 'cvtColor', counting_cvt)

    detections = probe.collect(Detection2DArray, 'detections')
    annotated = probe.collect(Image, 'detections/image', RELIABLE) if debug else None
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    if debug:
        assert wait_for(lambda: node.count_subscribers(f'{namespace}/detections/image') > 0,
                        DISCOVERY_TIMEOUT)

    pub.publish(raw_image(yuyv, 'yuyv', stamped('cam', 1)))
    got = detections.wait(lambda m: m.header.stamp.sec == 1, timeout=60.0)
    assert got is not None, 'no detections for the yuyv frame'
    assert seen == [Yuv422Frame], 'the node converted the yuyv frame before the model'
    assert whole == ([cv2.COLOR_YUV2BGR_YUYV] if debug else [])   # only for the debug image
    whole.clear()
    pub.publish(bgr_to_image(reference, stamped('cam', 2)))
    expected = detections.wait(lambda m: m.header.stamp.sec == 2, timeout=60.0)
    assert expected is not None, 'no detections for the bgr8 reference frame'
    assert len(expected.detections) >= 2            # the astronaut and the cat: a real test
    assert rows(got) == rows(expected)
    assert node.counters()['frames_bad'] == 0
    if debug:
        drawn = annotated.wait(lambda m: m.header.stamp.sec == 1)
        reference_drawn = annotated.wait(lambda m: m.header.stamp.sec == 2)
        assert drawn is not None and reference_drawn is not None, 'no debug image'
        assert (drawn.encoding, drawn.width, drawn.height) == ('bgr8', WIDTH, HEIGHT)
        assert np.array_equal(pixels(drawn), pixels(reference_drawn))
        assert not np.array_equal(pixels(drawn), reference)     # the boxes were drawn


@pytest.fixture(scope='module')
def generated_models(tmp_path_factory):
    """Write the generated task models of test_task_nodes (models.py); return their paths."""
    from .models import write_classifier_model, write_pose_model, write_segment_model
    from .test_task_nodes import write_semantic_model
    folder = tmp_path_factory.mktemp('yuv_task_models')
    return {'segment': write_segment_model(folder / 'seg.onnx'),
            'pose': write_pose_model(folder / 'pose.onnx'),
            'classify': write_classifier_model(folder / 'cls.onnx'),
            'semantic': write_semantic_model(folder)}


TASK_OUTPUTS = {        # node, model, the topics compared (debug image included)
    'segment': ('SegmenterNode', ['detections', 'masks', 'masks/color']),
    'semantic': ('SegmenterNode', ['mask', 'mask/color']),
    'pose': ('PoseNode', ['detections', 'keypoints', 'keypoints/image']),
    'classify': ('ClassifierNode', ['classification', 'classification/image']),
}


def message_type(topic):
    from vision_msgs.msg import Classification
    return {'detections': Detection2DArray, 'keypoints': Detection2DArray,
            'classification': Classification}.get(topic, Image)


@pytest.mark.parametrize('task', sorted(TASK_OUTPUTS))
def test_every_task_node_takes_yuyv_as_the_bgr_of_the_same_bytes(nodes, probe, namespace,
                                                                 generated_models, task):
    """Masks, keypoints, classes, debug images and the pose markers' stage from a yuyv frame."""
    from ai_msgs.msg import PerceptionTargets
    from edge_perception.ros import classifier_node, pose_node, segmenter_node
    from .models import bright_rectangle
    classes = {'SegmenterNode': segmenter_node.SegmenterNode, 'PoseNode': pose_node.PoseNode,
               'ClassifierNode': classifier_node.ClassifierNode}
    name, topics = TASK_OUTPUTS[task]
    scene = bright_rectangle(120, 200, (30, 20, 90, 60))
    scene[..., 0] //= 2                                 # some colour for the classifier
    yuyv = to_yuyv(scene)
    reference = cv2.cvtColor(yuyv, cv2.COLOR_YUV2BGR_YUYV)
    params = [Parameter('model', value=str(generated_models[task])),
              Parameter('image_qos', value='reliable'),
              Parameter('publish_debug_image', value=True)]
    if name != 'ClassifierNode':
        params.append(Parameter('tracker', value='none'))
    node = nodes(classes[name], namespace=namespace, parameter_overrides=params)
    collectors = {t: probe.collect(message_type(t), t, RELIABLE) for t in topics}
    targets = probe.collect(PerceptionTargets, 'perception_targets')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    debug_topic = topics[-1]
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/{debug_topic}') == 1,
                    DISCOVERY_TIMEOUT)
    assert wait_for(lambda: all(c.subscription.get_publisher_count() for c in
                                collectors.values()), DISCOVERY_TIMEOUT)
    header = stamped('camera_optical', 3)

    def outputs(msg):
        for collector in list(collectors.values()) + [targets]:
            collector.clear()
        msg.header = header
        pub.publish(msg)
        got = {t: c.wait(lambda m: m.header == header, timeout=20.0)
               for t, c in collectors.items()}
        assert all(m is not None for m in got.values()), {t: m is None for t, m in got.items()}
        tros = targets.wait(lambda m: m.header == header)
        assert tros is not None
        return got, tros.targets

    from_yuyv, yuyv_targets = outputs(raw_image(yuyv, 'yuyv'))
    from_bgr, bgr_targets = outputs(bgr_to_image(reference))
    for topic in topics:
        assert from_yuyv[topic] == from_bgr[topic], topic
    assert yuyv_targets == bgr_targets
    if task in ('segment', 'pose'):
        assert len(from_bgr['detections'].detections) == 1       # something to compare
    assert node.counters()['frames_bad'] == 0 and node.counters()['errors'] == 0
