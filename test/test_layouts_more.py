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
The heads beyond YOLOv5/v8/v11 (issue 12): found from shapes, or named where shapes coincide.

Each is recognised from its shapes, or named by the card where its shapes equal another
head's, and ``edge-perception info`` names it.

Each case is a small ONNX model (onnx.helper) whose outputs have exactly the head's shapes, with
a model card giving the classes (and ``layout:`` where the card must); ``info`` loads it through
ONNX Runtime the way the node does. What the layouts decode to is pinned elsewhere
(test_golden_more.py: rknn_model_zoo's own post-processing; test_layouts_dense.py; the
ultralytics parity tests in test/export/).
"""

from edge_perception import cli
from edge_perception.errors import LayoutError
from edge_perception.layouts import match_layout
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import pytest


def _split(box, nc, score_sum=True, hw=(640, 640)):
    out = []
    for s in (8, 16, 32):
        h, w = hw[0] // s, hw[1] // s
        out += [(1, box, h, w), (1, nc, h, w)] + ([(1, 1, h, w)] if score_sum else [])
    return out


# name -> (output shapes, input (h, w), classes, whether the card must name the layout)
CASES = {
    'rknn_yolov6': (_split(4, 80), (640, 640), 80, False),
    'rknn_ppyoloe': (_split(68, 80), (640, 640), 80, False),
    'rknn_yolox': ([(1, 85, 80, 80), (1, 85, 40, 40), (1, 85, 20, 20)], (640, 640), 80, False),
    'rknn_yolov7': ([(1, 255, 80, 80), (1, 255, 40, 40), (1, 255, 20, 20)], (640, 640), 80,
                    True),
    'rknn_yolov10': (_split(64, 80, False), (640, 640), 80, True),
    'onnx_yolov5': ([(1, 25200, 85)], (640, 640), 80, False),
    'onnx_yolox': ([(1, 8400, 85)], (640, 640), 80, True),
    'ultralytics_e2e': ([(1, 300, 6)], (640, 640), 80, False),
    'paddle_picodet': ([(1, 7600, 10), (1, 1900, 10), (1, 475, 10), (1, 130, 10),
                        (1, 7600, 32), (1, 1900, 32), (1, 475, 32), (1, 130, 32)],
                       (800, 608), 10, False),
    'rknn_obb': ([(1, 79, 80, 80), (1, 79, 40, 40), (1, 79, 20, 20), (1, 1, 8400)], (640, 640),
                 15, False),
    'ultralytics_obb': ([(1, 20, 8400)], (640, 640), 15, False),
    'ultralytics_e2e_obb': ([(1, 300, 7)], (640, 640), 15, False),
}
# ultralytics' task name for oriented boxes (metadata ``task: obb``, or the card)
TASK = {'ultralytics_obb': 'obb', 'ultralytics_e2e_obb': 'obb'}
SAME_AS = {'rknn_yolov7': 'rknn_yolov5', 'rknn_yolov10': 'rknn', 'onnx_yolox': 'onnx_yolov5'}


def _model(path, shapes, hw):
    """Write an ONNX model whose outputs have ``shapes`` (the image mean, broadcast)."""
    nodes = [helper.make_node('ReduceMean', ['images'], ['mean4'], keepdims=1),
             helper.make_node('Reshape', ['mean4', 'shape3'], ['mean3'])]
    inits = [numpy_helper.from_array(np.array([1, 1, 1], np.int64), 'shape3')]
    outputs = []
    for i, shape in enumerate(shapes):
        src = f'mean{len(shape)}'
        inits.append(numpy_helper.from_array(np.array(shape, np.int64), f'to{i}'))
        nodes.append(helper.make_node('Expand', [src, f'to{i}'], [f'out{i}']))
        outputs.append(helper.make_tensor_value_info(f'out{i}', TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes, 'heads', [helper.make_tensor_value_info('images', TensorProto.FLOAT,
                                                       (1, 3) + tuple(hw))], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.save(model, path)


def _card(tmp_path, name, shapes, hw, nc, named):
    _model(str(tmp_path / f'{name}.onnx'), shapes, hw)
    card = tmp_path / f'{name}.yaml'
    lines = [f'name: {name}_test', f'task: {TASK.get(name, "detect")}',
             f'layout: {name if named else "auto"}',
             f'model: {name}.onnx', f'classes: [{", ".join(f"c{i}" for i in range(nc))}]',
             'input:', f'  size: [{hw[0]}, {hw[1]}]']
    card.write_text('\n'.join(lines) + '\n')
    return str(card)


@pytest.mark.parametrize('name', list(CASES))
def test_info_names_the_layout(name, tmp_path, capsys):
    shapes, hw, nc, named = CASES[name]
    assert cli.main(['info', _card(tmp_path, name, shapes, hw, nc, named)]) == 0
    out = capsys.readouterr().out
    assert f'layout {name} (' in out, out
    assert f'{nc} classes' in out


@pytest.mark.parametrize('name', list(CASES))
def test_recognised_from_shapes_or_only_by_name(name):
    shapes, hw, nc, named = CASES[name]
    if named:
        # the shapes are the other head's; never this one unless named
        assert match_layout(shapes, hw, nc).layout.name == SAME_AS[name]
        assert match_layout(shapes, hw).layout.name != name
        assert match_layout(shapes, hw, nc, layout=name).layout.name == name
    else:
        binding = match_layout(shapes, hw, nc, task=TASK.get(name, 'detect'))
        assert binding.layout.name == name
        assert binding.task == 'detect'         # detections, served by the detector node


def test_unknown_shapes_list_every_head_and_the_named_only_ones():
    with pytest.raises(LayoutError) as err:
        match_layout([(1, 7, 3)], (640, 640), 80)
    text = str(err.value)
    for name in CASES:
        if name not in SAME_AS and name != 'ultralytics_obb':
            assert f'  - {name}: ' in text, name
    assert 'rknn_yolov7 (shapes of rknn_yolov5)' in text
    assert 'rknn_yolov10 (shapes of rknn)' in text


def test_task_obb_separates_the_obb_export_from_the_plain_head():
    # (1, 20, 8400): 16 classes of the plain head, or 15 + an angle: the task tells them apart
    assert match_layout([(1, 20, 8400)], (640, 640)).layout.name == 'ultralytics'
    assert match_layout([(1, 20, 8400)], (640, 640), 16).layout.name == 'ultralytics'
    with pytest.raises(LayoutError, match=r'ultralytics_obb \(shapes of ultralytics\)'):
        match_layout([(1, 20, 8400)], (640, 640), 15)
    assert match_layout([(1, 20, 8400)], (640, 640), 15, layout='ultralytics_obb').layout.name \
        == 'ultralytics_obb'
    assert match_layout([(1, 20, 8400)], (640, 640), 15, task='obb').layout.name == \
        'ultralytics_obb'


def test_yolox_channels_a_yolov5_head_also_has_need_the_class_count():
    shapes = [(1, 255, 80, 80), (1, 255, 40, 40), (1, 255, 20, 20)]
    assert match_layout(shapes, (640, 640)).layout.name == 'rknn_yolov5'
    assert match_layout(shapes, (640, 640), 250).layout.name == 'rknn_yolox'
