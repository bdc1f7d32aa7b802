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
Oriented boxes through ``detector_node`` over real rclpy and Fast DDS.

A small ONNX model (onnx.helper) stands for an ultralytics OBB export: its (1, 4+3+1, 2100)
output holds two rotated boxes at known places (cx, cy, w, h in input pixels, class scores,
angle in radians; every other anchor scores 0). Loaded from a card with ``task: obb``, the
node must publish each as a ``Detection2D`` whose ``bbox`` is the box in source pixels (centre
and size through the letterbox: scale 0.5, 40 px pad for a 640x480 frame) with
``center.theta`` = the angle, an ai_msgs Target whose roi bounds the rotated rectangle and whose
``angle`` attribute carries the angle, and a debug image with the rotated outline drawn.
"""

from ai_msgs.msg import PerceptionTargets
import cv2
from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.image_conversions import bgr_to_image
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from .helpers import stamped
from .test_detector_node import RELIABLE

pytestmark = pytest.mark.ros

SIZE = 320
ANCHORS = sum((SIZE // s) ** 2 for s in (8, 16, 32))
# (anchor, class, score, cx, cy, w, h, angle) in network-input pixels
PLANTED = [(50, 1, 0.9, 100.0, 120.0, 80.0, 30.0, 0.5),
           (700, 2, 0.8, 220.0, 180.0, 60.0, 40.0, 2.0)]
SCALE, PAD_Y = 0.5, 40          # a 640x480 frame letterboxed into 320x320


def _write_model(folder):
    dense = np.zeros((1, 4 + 3 + 1, ANCHORS), np.float32)
    for anchor, cls, score, cx, cy, w, h, angle in PLANTED:
        dense[0, :4, anchor] = [cx, cy, w, h]
        dense[0, 4 + cls, anchor] = score
        dense[0, 7, anchor] = angle
    nodes = [helper.make_node('ReduceMean', ['images'], ['mean'], keepdims=0),
             helper.make_node('Mul', ['mean', 'zero'], ['nothing']),
             helper.make_node('Add', ['heads', 'nothing'], ['output0'])]
    inits = [numpy_helper.from_array(dense, 'heads'),
             numpy_helper.from_array(np.zeros(1, np.float32), 'zero')]
    graph = helper.make_graph(
        nodes, 'obb', [helper.make_tensor_value_info('images', TensorProto.FLOAT,
                                                     (1, 3, SIZE, SIZE))],
        [helper.make_tensor_value_info('output0', TensorProto.FLOAT, dense.shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / 'obb.onnx'))
    card = folder / 'obb.yaml'
    card.write_text('name: obb_test\ntask: obb\nlayout: auto\nmodel: obb.onnx\n'
                    f'classes: [plane, ship, car]\ninput:\n  size: [{SIZE}, {SIZE}]\n')
    return str(card)


def _expected():
    """(class name, score, cx, cy, w, h, angle) in source pixels, from the letterbox alone."""
    names = ('plane', 'ship', 'car')
    return sorted(((names[c], s, cx / SCALE, (cy - PAD_Y) / SCALE, w / SCALE, h / SCALE, a)
                   for _, c, s, cx, cy, w, h, a in PLANTED), key=lambda t: -t[1])


def test_rotated_boxes_are_published_with_theta(nodes, probe, namespace, tmp_path):
    card = _write_model(tmp_path)
    overrides = [Parameter('model', value=card), Parameter('publish_debug_image', value=True),
                 Parameter('image_qos', value='reliable')]
    nodes(DetectorNode, namespace=namespace, parameter_overrides=overrides)
    detections = probe.collect(Detection2DArray, 'detections')
    targets = probe.collect(PerceptionTargets, 'perception_targets')
    debug = probe.collect(Image, 'detections/image')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    frame = np.full((480, 640, 3), 255, np.uint8)
    pub.publish(bgr_to_image(frame, stamped('cam', 5)))
    msg = detections.wait(lambda m: m.header.stamp.sec == 5, timeout=30.0)
    assert msg is not None, 'no detections'
    got = sorted(((d.results[0].hypothesis.class_id, d.results[0].hypothesis.score,
                   d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x,
                   d.bbox.size_y, d.bbox.center.theta) for d in msg.detections),
                 key=lambda t: -t[1])
    names = ('plane', 'ship', 'car')                # the model's classes: ids 0, 1, 2
    assert [names[int(g[0])] for g in got] == [e[0] for e in _expected()]
    for g, e in zip(got, _expected()):
        np.testing.assert_allclose(g[1:], e[1:], atol=1e-3)

    perception = targets.wait(lambda m: m.header.stamp.sec == 5, timeout=30.0)
    assert perception is not None, 'no perception_targets'
    by_type = {t.type: t for t in perception.targets}
    for name, _, cx, cy, w, h, angle in _expected():
        target = by_type[name]
        corners = cv2.boxPoints(((cx, cy), (w, h), float(np.degrees(angle))))
        rect = target.rois[0].rect
        lo, hi = np.clip(corners.min(axis=0), 0, None), np.minimum(corners.max(axis=0),
                                                                   (640, 480))
        assert abs(rect.x_offset - lo[0]) <= 1 and abs(rect.y_offset - lo[1]) <= 1
        assert abs(rect.x_offset + rect.width - hi[0]) <= 1
        assert abs(rect.y_offset + rect.height - hi[1]) <= 1
        assert [(a.type, round(a.value, 4)) for a in target.attributes] == [
            ('angle', round(angle, 4))]

    image = debug.wait(lambda m: m.header.stamp.sec == 5, timeout=30.0)
    assert image is not None, 'no debug image'
    drawn = np.frombuffer(bytes(image.data), np.uint8).reshape(480, 640, 3)
    for _, _, cx, cy, w, h, angle in _expected():
        for x, y in cv2.boxPoints(((cx, cy), (w, h), float(np.degrees(angle)))):
            x, y = int(round(x)), int(round(y))
            patch = drawn[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3]
            assert (patch != 255).any(), f'the rotated corner ({x}, {y}) is not drawn'
