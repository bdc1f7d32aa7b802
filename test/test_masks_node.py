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
The segmenter node's ``masks`` image with hundreds of overlapping instances, real rclpy.

The model is an ONNX graph whose outputs are constants (ultralytics seg layout: ~300 boxes
of many classes, random coefficients, smooth random prototypes) whatever the image, so the
masks overlap a lot. The published image must be the dense rule applied to the dense masks
of the same model run in the test process: argmax over instances (lowest index wins), + 1,
0 where no mask is set; mono16 above 255 instances.
"""

import cv2
from edge_perception.ros.image_conversions import bgr_to_image
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import pytest
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from .helpers import stamped
from .test_detector_node import RELIABLE, same_header, send_and_receive
from .test_task_nodes import pixels, predict, start

pytestmark = pytest.mark.ros

SIZE = 640
CLASSES = 80


def write_constant_segmenter(path, candidates: int) -> str:
    """Write an ultralytics-seg-layout ONNX model whose outputs ignore the image."""
    rng = np.random.default_rng(21)
    anchors = sum((SIZE // s) ** 2 for s in (8, 16, 32))
    dense = np.zeros((1, 4 + CLASSES + 32, anchors), np.float32)
    cells = rng.choice(anchors, candidates, replace=False)
    w, h = rng.uniform(16, 220, candidates), rng.uniform(16, 220, candidates)
    dense[0, 0, cells] = rng.uniform(w / 2, SIZE - w / 2)
    dense[0, 1, cells] = rng.uniform(80 + h / 2, 560 - h / 2)     # inside 640x480 content
    dense[0, 2, cells], dense[0, 3, cells] = w, h
    dense[0, 4 + np.arange(candidates) % CLASSES, cells] = rng.uniform(0.3, 0.95, candidates)
    dense[0][4 + CLASSES:, cells] = rng.normal(size=(32, candidates))
    noise = rng.normal(size=(32, SIZE // 4, SIZE // 4)).astype(np.float32)
    protos = (np.stack([cv2.GaussianBlur(p, (0, 0), 2.0) for p in noise]) * 4)[None]
    nodes = [helper.make_node('ReduceMean', ['images'], ['level'], keepdims=0),
             helper.make_node('Mul', ['level', 'zero'], ['nothing'])]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), 'zero')]
    outputs = []
    for name, value in (('output0', dense), ('output1', protos)):
        nodes.append(helper.make_node('Add', [f'{name}_c', 'nothing'], [name]))
        inits.append(numpy_helper.from_array(value.astype(np.float32), f'{name}_c'))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(
        nodes, 'constant_segmenter',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    names = '{' + ', '.join(f"{i}: 'c{i}'" for i in range(CLASSES)) + '}'
    for key, value in (('names', names), ('imgsz', f'[{SIZE}, {SIZE}]'), ('task', 'segment')):
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def dense_rule(dense: np.ndarray) -> np.ndarray:
    """Apply the former dense rule (the test's oracle): argmax, + 1, 0 where none is set."""
    dtype = np.uint8 if len(dense) <= 255 else np.uint16
    ids = dense.argmax(axis=0).astype(dtype) + 1
    ids[~dense.any(axis=0)] = 0
    return ids.astype(dtype)


@pytest.mark.parametrize('candidates, encoding', [
    (240, 'mono8'), (320, 'mono16')])
def test_segmenter_publishes_the_dense_rule_for_hundreds_of_overlapping_masks(
        nodes, probe, namespace, tmp_path, candidates, encoding):
    model = write_constant_segmenter(tmp_path / 'constant_seg.onnx', candidates)
    scene = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    expected = predict(model, scene)
    assert (len(expected) > 255) == (encoding == 'mono16') and len(expected) > 200
    dense = expected.masks.dense()
    assert (dense.sum(axis=0) >= 2).sum() > 10000          # the masks overlap a lot
    want = dense_rule(dense)
    start(nodes, _segmenter(), namespace, model, tracker='none')    # every mask, first frame
    detections = probe.collect(Detection2DArray, 'detections')
    masks = probe.collect(Image, 'masks')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    header = stamped('camera_optical', 21, 22)
    got = send_and_receive(pub, detections, bgr_to_image(scene), header, timeout=10.0)
    assert got is not None and len(got.detections) == len(expected)
    mask = masks.wait(lambda m: same_header(m, header), timeout=10.0)
    assert mask is not None
    wide = encoding == 'mono16'
    assert (mask.encoding, mask.height, mask.width, mask.step) == \
        (encoding, 480, 640, 640 * (2 if wide else 1))
    dtype = np.dtype('>u2' if mask.is_bigendian else '<u2') if wide else np.uint8
    ids = pixels(mask, dtype)
    np.testing.assert_array_equal(ids, want)
    assert len(np.unique(ids)) > 100               # many instances visible


def _segmenter():
    from edge_perception.ros.segmenter_node import SegmenterNode
    return SegmenterNode
