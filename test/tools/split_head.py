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
ONNX models with the RKNN split detection head, generated for the rknn_sim tests.

``write_square_model`` builds a 320x320 detector with the rknn_model_zoo YOLOv8 output layout
(per stride 8/16/32: box (1,64,H,W) DFL logits, cls (1,2,H,W) sigmoid, score_sum (1,1,H,W))
whose weights are set by hand so it genuinely detects things: average pooling turns the RGB
input into per-cell colour means, a 3x3 centre-surround convolution scores a cell whose colour
differs from its 8 neighbours (class ``red``: red cells; class ``white``: bright cells), and a
1x1 convolution turns the cell's brightness into DFL bin logits (brighter: bigger box). A
square that exactly fills one cell of stride s gives one detection at that stride; cells at
finer strides see a same-coloured neighbourhood and stay below 0.25.

``write_red_channel_model`` outputs the input's red channel (1, 1, 64, 64): calibrating it on
one colour and running another shows which channel the toolkit read as red.

``split_ultralytics_head`` cuts a standard ultralytics YOLOv8 ONNX export (one (1, 4+nc, A)
output) at its per-stride head convolutions and emits the same split layout, as the RKNN
export of airockchip/ultralytics_yolov8 does.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

SQUARE_INPUT_SIZE = 320
SQUARE_CLASSES = ('red', 'white')
STRIDES = (8, 16, 32)
REG_MAX = 16
# DFL: the box side distance (in strides) is about 0.5 + brightness; bins past MAX_BIN are off.
MAX_BIN = 5
OFF_LOGIT = -12.0
CENTRE_GAIN, BIAS = 8.0, -6.5


def _const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def _cls_weights() -> np.ndarray:
    """3x3 centre-surround weights (2 classes, RGB in): centre colour minus neighbours."""
    w = np.zeros((2, 3, 3, 3), np.float32)
    colour = np.array([[1.0, -0.5, -0.5],            # red: R - (G + B) / 2
                       [1 / 3, 1 / 3, 1 / 3]])       # white: mean brightness
    for k in range(2):
        for c in range(3):
            w[k, c] = -max(colour[k, c], 0.0) * CENTRE_GAIN / 8     # each neighbour
            w[k, c, 1, 1] = colour[k, c] * CENTRE_GAIN
    return w


def _box_weights():
    """1x1 weights and bias: bin j logit = -(j - 0.5 - m)^2 / 2 (m brightness), + const."""
    w = np.zeros((4 * REG_MAX, 3, 1, 1), np.float32)
    b = np.full(4 * REG_MAX, OFF_LOGIT, np.float32)
    for side in range(4):
        for j in range(MAX_BIN + 1):
            w[side * REG_MAX + j, :, 0, 0] = (j - 0.5) / 3
            b[side * REG_MAX + j] = -(j - 0.5) ** 2 / 2
    return w, b


def write_square_model(path) -> str:
    """Write the coloured-square detector to ``path``; return the path as a string."""
    size = SQUARE_INPUT_SIZE
    box_w, box_b = _box_weights()
    nodes, outputs = [], []
    previous = 'images'
    for level, stride in enumerate(STRIDES):
        pooled = f'pool{stride}'
        kernel = stride if level == 0 else 2
        nodes.append(helper.make_node('AveragePool', [previous], [pooled],
                                      kernel_shape=[kernel] * 2, strides=[kernel] * 2))
        previous = pooled
        grid = size // stride
        box, logits, cls, total, score_sum = (f'box{stride}', f'logit{stride}',
                                              f'cls{stride}', f'total{stride}', f'sum{stride}')
        nodes += [
            helper.make_node('Conv', [pooled, 'box_w', 'box_b'], [box], kernel_shape=[1, 1]),
            helper.make_node('Conv', [pooled, 'cls_w', 'cls_b'], [logits], kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1]),
            helper.make_node('Sigmoid', [logits], [cls]),
            helper.make_node('ReduceSum', [cls, 'sum_axes'], [total], keepdims=1),
            helper.make_node('Clip', [total, 'zero', 'one'], [score_sum]),
        ]
        outputs += [
            helper.make_tensor_value_info(box, TensorProto.FLOAT, [1, 4 * REG_MAX, grid, grid]),
            helper.make_tensor_value_info(cls, TensorProto.FLOAT,
                                          [1, len(SQUARE_CLASSES), grid, grid]),
            helper.make_tensor_value_info(score_sum, TensorProto.FLOAT, [1, 1, grid, grid]),
        ]
    inits = [_const('box_w', box_w), _const('box_b', box_b), _const('cls_w', _cls_weights()),
             _const('cls_b', [BIAS] * len(SQUARE_CLASSES)), _const('zero', 0.0),
             _const('one', 1.0), _const('sum_axes', [1], np.int64)]
    graph = helper.make_graph(
        nodes, 'square_detector',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, size, size])],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    names = '{' + ', '.join(f"{i}: '{n}'" for i, n in enumerate(SQUARE_CLASSES)) + '}'
    for key, value in {'names': names, 'imgsz': f'[{size}, {size}]'}.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def write_red_channel_model(path) -> str:
    """Write a 64x64 model whose one output is the (normalised) red channel of its RGB input."""
    weights = np.zeros((1, 3, 1, 1), np.float32)
    weights[0, 0] = 1.0
    graph = helper.make_graph(
        [helper.make_node('Conv', ['images', 'w'], ['red'], kernel_shape=[1, 1])], 'red_channel',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info('red', TensorProto.FLOAT, [1, 1, 64, 64])],
        [_const('w', weights)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    onnx.save(model, str(path))
    return str(path)


def square_scene(squares, size: int = 2 * SQUARE_INPUT_SIZE, seed: int = 0) -> np.ndarray:
    """
    Draw a dark, slightly noisy BGR scene with squares: (class name, x, y, side) in pixels.

    The default size is twice the input, so a square of side 2*s at multiples of 2*s fills
    exactly one stride-s cell after the letterbox.
    """
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 24, (size, size, 3), dtype=np.uint8)
    colours = {'red': (0, 0, 255), 'white': (255, 255, 255)}
    for name, x, y, side in squares:
        image[y:y + side, x:x + side] = colours[name]
    return image


def random_scenes(count: int, seed: int = 1):
    """Scenes with squares of both classes at every stride, for int8 calibration."""
    rng = np.random.default_rng(seed)
    scenes = []
    for i in range(count):
        squares = []
        for stride in STRIDES:
            side = 2 * stride
            cells = 2 * SQUARE_INPUT_SIZE // side
            for name in SQUARE_CLASSES:
                x, y = rng.integers(1, cells - 1, 2) * side
                squares.append((name, int(x), int(y), side))
        scenes.append(square_scene(squares, seed=seed + i))
    return scenes


def split_ultralytics_head(source: str, target: str) -> str:
    """Rewrite a standard ultralytics YOLOv8 detect ONNX with the RKNN split head outputs."""
    model = onnx.load(source)
    graph = model.graph
    convs = {n.name: n.output[0] for n in graph.node if n.op_type == 'Conv'}
    head = sorted(name for name in convs if name.endswith(('.2/Conv',)) and '/cv2.' in name)
    if len(head) != 3:
        raise ValueError(f'{source}: expected 3 box head convolutions, found {head}')
    outputs, nodes = [], []
    for level, box_conv in enumerate(head):
        box = convs[box_conv]
        cls_logits = convs[box_conv.replace('/cv2.', '/cv3.').replace('cv2.', 'cv3.')]
        cls, total, score_sum = f'cls_{level}', f'total_{level}', f'score_sum_{level}'
        nodes += [helper.make_node('Sigmoid', [cls_logits], [cls]),
                  helper.make_node('ReduceSum', [cls, 'split_sum_axes'], [total], keepdims=1),
                  helper.make_node('Clip', [total, 'split_zero', 'split_one'], [score_sum])]
        outputs += [box, cls, score_sum]
    graph.node.extend(nodes)
    graph.initializer.extend([_const('split_sum_axes', [1], np.int64),
                              _const('split_zero', 0.0), _const('split_one', 1.0)])
    del graph.output[:]
    graph.output.extend(helper.make_empty_tensor_value_info(name) for name in outputs)
    # Drop the old head (Concat, Reshape, DFL...) that fed output0.
    needed, keep = set(outputs), []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(keep))
    names = {t.name for t in graph.initializer}
    used = needed & names
    kept_inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept_inits)
    del graph.value_info[:]
    model = onnx.shape_inference.infer_shapes(model)
    inferred = {v.name: v for v in model.graph.value_info}
    typed = [inferred[name] if name in inferred else o for name, o in
             zip(outputs, model.graph.output)]
    del model.graph.output[:]
    model.graph.output.extend(typed)
    onnx.checker.check_model(model)
    onnx.save(model, target)
    return target
