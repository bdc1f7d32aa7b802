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
"""Layout recognition from output shapes, tie-breaks, and the error when nothing fits."""

from edge_perception.errors import LayoutError
from edge_perception.layouts import LAYOUTS, match_layout
from edge_perception.synthetic import make_outputs, random_objects
import pytest

GRID_LAYOUTS = [name for name, spec in LAYOUTS.items() if spec.family != 'dense']


def shapes(outputs):
    return [tuple(o.shape) for o in outputs]


@pytest.mark.parametrize('layout', list(LAYOUTS))
@pytest.mark.parametrize('nc', [80, 2, 1])
def test_every_layout_is_recognised_from_its_shapes(layout, nc):
    outs = make_outputs(layout, random_objects(3, nc), nc, score_sum=True)
    binding = match_layout(shapes(outs), (640, 640))
    assert binding.layout.name == layout
    assert binding.num_classes == nc


@pytest.mark.parametrize('layout', ['rknn', 'rknn_nhwc'])
def test_rknn_with_and_without_score_sum(layout):
    nine = make_outputs(layout, [], 80, score_sum=True)
    six = make_outputs(layout, [], 80, score_sum=False)
    assert len(nine) == 9 and len(six) == 6
    b9, b6 = match_layout(shapes(nine), (640, 640)), match_layout(shapes(six), (640, 640))
    assert b9.layout.name == b6.layout.name == layout
    assert 'score_sum' in b9.levels[0].outputs and 'score_sum' not in b6.levels[0].outputs
    assert [lv.stride for lv in b9.levels] == [8, 16, 32]


def test_roles_are_found_whatever_the_output_order():
    """Older RDK .bin models list outputs in any order: roles come from shapes, not indices."""
    outs = make_outputs('rdk', [], 80)
    order = [5, 2, 0, 3, 1, 4]
    binding = match_layout([tuple(outs[i].shape) for i in order], (640, 640), vendor='rdk')
    assert binding.layout.name == 'rdk'
    by_stride = {lv.stride: lv.outputs for lv in binding.levels}
    assert by_stride[8] == {'cls': order.index(0), 'box': order.index(1)}
    assert by_stride[32] == {'cls': order.index(4), 'box': order.index(5)}


def test_nhwc_six_output_tie_is_broken_by_vendor_hint_then_vendor_order():
    rdk_order = shapes(make_outputs('rdk', [], 80))               # cls, box per stride
    assert match_layout(rdk_order, (640, 640)).layout.name == 'rdk'
    assert match_layout(rdk_order, (640, 640), vendor='rknn').layout.name == 'rknn_nhwc'
    rknn_order = shapes(make_outputs('rknn_nhwc', [], 80, score_sum=False))   # box, cls
    assert match_layout(rknn_order, (640, 640)).layout.name == 'rknn_nhwc'


def test_ambiguous_shapes_ask_for_an_explicit_layout():
    # 64 classes: cls and box heads have the same shape, and neither order settles it
    outs = shapes(make_outputs('rdk', [], 64))
    mixed = [outs[0], outs[1], outs[3], outs[2], outs[4], outs[5]]
    with pytest.raises(LayoutError, match='several layouts'):
        match_layout(mixed, (640, 640))
    assert match_layout(mixed, (640, 640), layout='rdk').layout.name == 'rdk'


def test_dense_output_transposed_and_class_count_check():
    assert match_layout([(1, 8400, 84)], (640, 640)).dense_transposed
    assert not match_layout([(1, 84, 8400)], (640, 640)).dense_transposed
    with pytest.raises(LayoutError, match='2 classes'):
        match_layout([(1, 84, 8400)], (640, 640), num_classes=2)


def test_input_size_other_than_640():
    outs = make_outputs('rknn', [], 3, input_hw=(320, 480))
    binding = match_layout(shapes(outs), (320, 480))
    assert [(lv.grid_h, lv.grid_w) for lv in binding.levels] == [(40, 60), (20, 30), (10, 15)]


def test_no_match_lists_the_shapes_and_every_known_layout():
    weird = [(1, 100, 7), (1, 3, 80, 80)]
    with pytest.raises(LayoutError) as info:
        match_layout(weird, (640, 640))
    text = str(info.value)
    assert '(1, 100, 7)' in text and '(1, 3, 80, 80)' in text
    for name in LAYOUTS:
        assert f'- {name}:' in text
    assert 'layout:' in text


def test_explicit_layout_that_does_not_fit_says_why():
    outs = shapes(make_outputs('rknn', [], 80))
    with pytest.raises(LayoutError, match='rdk'):
        match_layout(outs, (640, 640), layout='rdk')
    with pytest.raises(LayoutError, match='unknown layout'):
        match_layout(outs, (640, 640), layout='yolo99')


def test_yolov5_needs_one_anchor_set_per_stride():
    outs = shapes(make_outputs('rknn_yolov5', [], 80))
    with pytest.raises(LayoutError, match='anchor sets'):
        match_layout(outs, (640, 640), anchors=(((10, 13), (16, 30), (33, 23)),))
