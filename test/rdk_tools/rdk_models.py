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
A small ONNX detector in the RDK head layout (opset 11), generated for the rdk toolchain tests.

``write_rdk_square_model`` is test/tools/split_head.py's coloured-square detector with the
rdk_model_zoo YOLOv8 outputs instead of the RKNN ones: per stride 8/16/32 cls (1,H,W,2) raw
logits and box (1,H,W,64) raw DFL logits, NHWC (a Transpose after each head convolution).
Average pooling turns the RGB input into per-cell colour means, a 3x3 centre-surround
convolution scores a cell whose colour differs from its neighbours (``red``: red cells,
``white``: bright cells), and a 1x1 convolution turns the cell's brightness into DFL bin
logits. Opset 11, as hb_mapper's checker takes no newer one. A few kB of weights: it compiles
in seconds at O0.
"""

import onnx
from onnx import helper, TensorProto

from ..tools.split_head import (_box_weights, _cls_weights, _const, BIAS, random_scenes,
                                REG_MAX, SQUARE_CLASSES, SQUARE_INPUT_SIZE, square_scene,
                                STRIDES)

__all__ = ('random_scenes', 'square_scene', 'SQUARE_CLASSES', 'SQUARE_INPUT_SIZE',
           'write_rdk_square_model')


def write_rdk_square_model(path) -> str:
    """Write the coloured-square detector in the RDK layout to ``path``; return the path."""
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
        box, logits = f'box_nchw{stride}', f'cls_nchw{stride}'
        nodes += [
            helper.make_node('Conv', [pooled, 'box_w', 'box_b'], [box], kernel_shape=[1, 1]),
            helper.make_node('Conv', [pooled, 'cls_w', 'cls_b'], [logits], kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1]),
            helper.make_node('Transpose', [logits], [f'cls{stride}'], perm=[0, 2, 3, 1]),
            helper.make_node('Transpose', [box], [f'box{stride}'], perm=[0, 2, 3, 1]),
        ]
        outputs += [
            helper.make_tensor_value_info(f'cls{stride}', TensorProto.FLOAT,
                                          [1, grid, grid, len(SQUARE_CLASSES)]),
            helper.make_tensor_value_info(f'box{stride}', TensorProto.FLOAT,
                                          [1, grid, grid, 4 * REG_MAX]),
        ]
    inits = [_const('box_w', box_w), _const('box_b', box_b), _const('cls_w', _cls_weights()),
             _const('cls_b', [BIAS] * len(SQUARE_CLASSES))]
    graph = helper.make_graph(
        nodes, 'rdk_square_detector',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, size, size])],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 11)])
    model.ir_version = 6
    names = '{' + ', '.join(f"{i}: '{n}'" for i, n in enumerate(SQUARE_CLASSES)) + '}'
    for key, value in {'names': names, 'imgsz': f'[{size}, {size}]', 'task': 'detect'}.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)
