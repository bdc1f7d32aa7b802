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
Small real ONNX models generated for the tests with onnx.helper (no downloads, none committed).

``write_color_model`` builds a 64x64 ultralytics-layout detector, output (1, 4 + 2, 84), whose
anchor 0 holds the fixed box BOX_CXCYWH (network-input pixels) scored by the mean of the
input's red channel (class ``red``) and of its blue channel (class ``blue``); every other
anchor scores 0. A red image gives one ``red`` box, a blue one a ``blue`` box, and the box in
source pixels follows from the letterbox geometry alone, so colour-order mistakes show. It
carries ultralytics metadata (names, imgsz), so a bare path is a complete model.

``write_dense_model`` builds an ultralytics-layout detector (1, 4+nc, A) that really looks at
the image: it finds the bounding box of the bright pixels (mean of the channels > 0.5) and
reports it at anchor 0 with score 0.9 for class 0 when there are any, so tests can predict the
exact detection for an image they draw.

``write_segment_model`` and ``write_pose_model`` are that detector with an ultralytics
segmentation head (output0 (1, 4+nc+32, A) + protos (1, 32, S/4, S/4): the mask is the bright
area, prototype channel 0 = its 4x4 average minus 0.5, coefficients one-hot) or pose head
((1, 4+nc+51, A): keypoint k at box corner + POSE_FRACTIONS[k] x box size, visibility
POSE_VISIBILITY[k]). ``write_classifier_model`` is a (1, 3) softmax classifier (red, green,
blue) whose logits are CLASSIFIER_GAIN x the mean of each RGB channel.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto


def _const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def _bright_box_nodes(h: int, w: int):
    """Nodes and constants computing 'box' (1, 4, 1) cx, cy, w, h and 'any' (1, 1, 1)."""
    nodes = [
        helper.make_node('ReduceMean', ['images'], ['gray'], axes=[1], keepdims=1),
        helper.make_node('Greater', ['gray', 'half'], ['on_b']),
        helper.make_node('Cast', ['on_b'], ['on'], to=TensorProto.FLOAT),        # (1,1,H,W)
        helper.make_node('ReduceMax', ['on'], ['cols'], axes=[2], keepdims=0),   # (1,1,W)
        helper.make_node('ReduceMax', ['on'], ['rows'], axes=[3], keepdims=0),   # (1,1,H)
        helper.make_node('ReduceMax', ['cols'], ['any'], axes=[2], keepdims=1),  # (1,1,1)
        # first index set: argmax of (mask * (N - index)); last: argmax of (mask * index)
        helper.make_node('Mul', ['cols', 'desc_w'], ['cols_first']),
        helper.make_node('Mul', ['cols', 'asc_w'], ['cols_last']),
        helper.make_node('Mul', ['rows', 'desc_h'], ['rows_first']),
        helper.make_node('Mul', ['rows', 'asc_h'], ['rows_last']),
        helper.make_node('ArgMax', ['cols_first'], ['x1_i'], axis=2, keepdims=1),
        helper.make_node('ArgMax', ['cols_last'], ['x2_i'], axis=2, keepdims=1),
        helper.make_node('ArgMax', ['rows_first'], ['y1_i'], axis=2, keepdims=1),
        helper.make_node('ArgMax', ['rows_last'], ['y2_i'], axis=2, keepdims=1),
    ]
    for n in ('x1', 'x2', 'y1', 'y2'):
        nodes.append(helper.make_node('Cast', [f'{n}_i'], [n], to=TensorProto.FLOAT))
    nodes += [
        helper.make_node('Add', ['x2', 'one'], ['x2e']),          # last pixel -> right edge
        helper.make_node('Add', ['y2', 'one'], ['y2e']),
        helper.make_node('Add', ['x1', 'x2e'], ['sx']),
        helper.make_node('Add', ['y1', 'y2e'], ['sy']),
        helper.make_node('Mul', ['sx', 'half'], ['cx']),
        helper.make_node('Mul', ['sy', 'half'], ['cy']),
        helper.make_node('Sub', ['x2e', 'x1'], ['bw']),
        helper.make_node('Sub', ['y2e', 'y1'], ['bh']),
        helper.make_node('Concat', ['cx', 'cy', 'bw', 'bh'], ['box'], axis=1),   # (1,4,1)
    ]
    inits = [
        _const('half', 0.5), _const('one', 1.0),
        _const('desc_w', w - np.arange(w)), _const('asc_w', np.arange(w)),
        _const('desc_h', h - np.arange(h)), _const('asc_h', np.arange(h)),
    ]
    return nodes, inits


def _anchor0_head(num_classes: int, anchors: int, extra: str = None, extra_channels: int = 0):
    """Nodes putting 'box', scores (and an (1, C, 1) ``extra``) at anchor 0 of 'output0'."""
    onehot = np.zeros((1, 1, anchors), np.float32)
    onehot[0, 0, 0] = 1
    template = np.zeros((1, num_classes, anchors), np.float32)
    template[0, 0, 0] = 0.9
    nodes = [
        helper.make_node('Mul', ['box', 'onehot'], ['boxes']),                    # (1,4,A)
        helper.make_node('Mul', ['any', 'score_template'], ['scores']),          # (1,nc,A)
    ]
    parts = ['boxes', 'scores']
    if extra:
        nodes.append(helper.make_node('Mul', [extra, 'onehot'], ['extras']))     # (1,C,A)
        parts.append('extras')
    nodes.append(helper.make_node('Concat', parts, ['output0'], axis=1))
    output = helper.make_tensor_value_info(
        'output0', TensorProto.FLOAT, [1, 4 + num_classes + extra_channels, anchors])
    return nodes, [_const('onehot', onehot), _const('score_template', template)], output


def _save(nodes, inits, name, size, outputs, path, metadata=None) -> str:
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, size, size])],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    for key, value in (metadata or {}).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def write_dense_model(path: str, num_classes: int = 2, size: int = 320,
                      metadata: dict = None) -> str:
    """Write the bright-rectangle detector to ``path`` and return it."""
    anchors = sum((size // s) ** 2 for s in (8, 16, 32))
    h = w = size
    nodes, inits = _bright_box_nodes(h, w)
    head, head_inits, output = _anchor0_head(num_classes, anchors)
    nodes, inits = nodes + head, inits + head_inits
    graph = helper.make_graph(
        nodes, 'bright_rectangle_detector',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, h, w])],
        [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    for key, value in (metadata or {}).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def bright_rectangle(height: int, width: int, box, value: int = 255) -> np.ndarray:
    """Draw a black BGR image with a white rectangle at box = (x1, y1, x2, y2) (exclusive end)."""
    image = np.zeros((height, width, 3), np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = value
    return image


COLOR_INPUT_SIZE = 64
COLOR_CLASSES = ('red', 'blue')
BOX_CXCYWH = (32.0, 28.0, 32.0, 24.0)


def write_color_model(path) -> str:
    """Write the red/blue detector to ``path``; return the path as a string."""
    size = COLOR_INPUT_SIZE
    anchors = sum((size // s) ** 2 for s in (8, 16, 32))
    box = np.zeros((1, 4, anchors), np.float32)
    box[0, :, 0] = BOX_CXCYWH
    mask = np.zeros((1, len(COLOR_CLASSES), anchors), np.float32)
    mask[0, :, 0] = 1.0
    nodes = [
        helper.make_node('ReduceMean', ['images'], ['means'], axes=[2, 3], keepdims=1),
        helper.make_node('Reshape', ['means', 'shape'], ['means3']),
        helper.make_node('Gather', ['means3', 'channels'], ['scores1'], axis=1),
        helper.make_node('Mul', ['scores1', 'mask'], ['scores']),
        helper.make_node('Concat', ['box', 'scores'], ['output0'], axis=1),
    ]
    inits = [_const('box', box), _const('mask', mask),
             _const('shape', [1, 3, 1], np.int64),
             _const('channels', [0, 2], np.int64)]      # R and B of the RGB input
    graph = helper.make_graph(
        nodes, 'color_detector',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info('output0', TensorProto.FLOAT,
                                       [1, 4 + len(COLOR_CLASSES), anchors])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    names = '{' + ', '.join(f"{i}: '{n}'" for i, n in enumerate(COLOR_CLASSES)) + '}'
    for key, value in {'names': names, 'imgsz': f'[{size}, {size}]', 'task': 'detect'}.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def expected_scores(image_bgr: np.ndarray):
    """Return the (red, blue) class scores the colour model gives for ``image_bgr``."""
    from edge_perception.preprocess import InputSpec, preprocess
    tensor, _ = preprocess(image_bgr, InputSpec(COLOR_INPUT_SIZE, COLOR_INPUT_SIZE))
    means = tensor[0].mean(axis=(1, 2))
    return float(means[0]), float(means[2])


def _names_metadata(names, size: int, task: str, **extra) -> dict:
    text = '{' + ', '.join(f"{i}: '{n}'" for i, n in enumerate(names)) + '}'
    return dict({'names': text, 'imgsz': f'[{size}, {size}]', 'task': task}, **extra)


SEGMENT_SIZE = 160
MASK_DIM = 32


def write_segment_model(path, num_classes: int = 2, size: int = SEGMENT_SIZE) -> str:
    """Write the bright-rectangle segmenter (ultralytics seg layout) to ``path``."""
    anchors = sum((size // s) ** 2 for s in (8, 16, 32))
    nodes, inits = _bright_box_nodes(size, size)
    coef = np.zeros((1, MASK_DIM, 1), np.float32)
    coef[0, 0, 0] = 1.0
    head, head_inits, output0 = _anchor0_head(num_classes, anchors, 'coef', MASK_DIM)
    nodes += head + [
        helper.make_node('AveragePool', ['gray'], ['pooled'], kernel_shape=[4, 4],
                         strides=[4, 4]),                                       # (1,1,S/4,S/4)
        helper.make_node('Sub', ['pooled', 'half'], ['proto0']),
        helper.make_node('Concat', ['proto0', 'proto_rest'], ['output1'], axis=1),
    ]
    rest = np.zeros((1, MASK_DIM - 1, size // 4, size // 4), np.float32)
    inits += head_inits + [_const('coef', coef), _const('proto_rest', rest)]
    output1 = helper.make_tensor_value_info('output1', TensorProto.FLOAT,
                                            [1, MASK_DIM, size // 4, size // 4])
    names = [f'class{i}' for i in range(num_classes)]
    return _save(nodes, inits, 'bright_rectangle_segmenter', size, [output0, output1], path,
                 _names_metadata(names, size, 'segment'))


POSE_SIZE = 160
POSE_KEYPOINTS = 17
# keypoint k sits at (x1 + fx * w, y1 + fy * h) of the detected box
POSE_FRACTIONS = np.stack([np.linspace(0.1, 0.9, POSE_KEYPOINTS),
                           np.linspace(0.9, 0.2, POSE_KEYPOINTS)], axis=1).astype(np.float32)
POSE_VISIBILITY = np.linspace(0.2, 0.95, POSE_KEYPOINTS).astype(np.float32)


def write_pose_model(path, size: int = POSE_SIZE) -> str:
    """Write the bright-rectangle pose model (ultralytics pose layout, 1 class) to ``path``."""
    anchors = sum((size // s) ** 2 for s in (8, 16, 32))
    k = POSE_KEYPOINTS
    nodes, inits = _bright_box_nodes(size, size)
    head, head_inits, output0 = _anchor0_head(1, anchors, 'kpts', 3 * k)
    nodes += [
        helper.make_node('Mul', ['bw', 'frac_x'], ['off_x']),           # (1,K,1)
        helper.make_node('Mul', ['bh', 'frac_y'], ['off_y']),
        helper.make_node('Add', ['x1', 'off_x'], ['kx']),
        helper.make_node('Add', ['y1', 'off_y'], ['ky']),
        helper.make_node('Concat', ['kx', 'ky', 'visibility'], ['kxyv'], axis=2),   # (1,K,3)
        helper.make_node('Reshape', ['kxyv', 'kpt_shape'], ['kpts']),               # (1,3K,1)
    ] + head
    inits += head_inits + [
        _const('frac_x', POSE_FRACTIONS[:, 0].reshape(1, k, 1)),
        _const('frac_y', POSE_FRACTIONS[:, 1].reshape(1, k, 1)),
        _const('visibility', POSE_VISIBILITY.reshape(1, k, 1)),
        _const('kpt_shape', [1, 3 * k, 1], np.int64),
    ]
    return _save(nodes, inits, 'bright_rectangle_pose', size, [output0], path,
                 _names_metadata(['person'], size, 'pose', kpt_shape=f'[{k}, 3]'))


def expected_keypoints(box_xyxy) -> np.ndarray:
    """Return the (K, 3) keypoints the pose model gives for a detection box (any pixels)."""
    x1, y1, x2, y2 = np.asarray(box_xyxy, np.float32)
    xy = np.array([x1, y1], np.float32) + POSE_FRACTIONS * np.array([x2 - x1, y2 - y1])
    return np.concatenate([xy, POSE_VISIBILITY[:, None]], axis=1)


CLASSIFIER_SIZE = 64
CLASSIFIER_CLASSES = ('red', 'green', 'blue')
CLASSIFIER_GAIN = 8.0


def write_classifier_model(path, size: int = CLASSIFIER_SIZE) -> str:
    """Write the colour classifier (ultralytics classify layout: softmax inside) to ``path``."""
    nodes = [
        helper.make_node('ReduceMean', ['images'], ['means'], axes=[2, 3], keepdims=0),  # (1,3)
        helper.make_node('Mul', ['means', 'gain'], ['logits']),
        helper.make_node('Softmax', ['logits'], ['output0'], axis=1),
    ]
    output = helper.make_tensor_value_info('output0', TensorProto.FLOAT,
                                           [1, len(CLASSIFIER_CLASSES)])
    return _save(nodes, [_const('gain', CLASSIFIER_GAIN)], 'colour_classifier', size, [output],
                 path, _names_metadata(CLASSIFIER_CLASSES, size, 'classify'))


def expected_class_probabilities(input_tensor: np.ndarray) -> np.ndarray:
    """Return the classifier's (3,) probabilities for a preprocessed (1, 3, S, S) tensor."""
    logits = input_tensor[0].mean(axis=(1, 2)).astype(np.float64) * CLASSIFIER_GAIN
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()
