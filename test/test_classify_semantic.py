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
"""Classification and semantic segmentation outputs of every layout; centre-crop input."""

from edge_perception import decode, letterbox
from edge_perception.decoders import DecodeOptions
from edge_perception.drawing import annotate_classes, colorize, palette
from edge_perception.errors import LayoutError
from edge_perception.layouts import match_layout, TASK_LAYOUTS
from edge_perception.preprocess import center_crop, InputSpec, preprocess
from edge_perception.results import Classifications, SemanticMap
from edge_perception.synthetic import (make_class_outputs, make_semantic_outputs,
                                       random_class_map)
import numpy as np
import pytest

CLS = list(TASK_LAYOUTS['classify'])
SEM = list(TASK_LAYOUTS['semantic'])


def probabilities(n, seed=0):
    p = np.random.default_rng(seed).dirichlet(np.ones(n) * 0.3)
    return p / p.sum()


@pytest.mark.parametrize('layout', CLS)
def test_top_k_classes_with_probabilities(layout):
    probs = probabilities(1000)
    outs = make_class_outputs(layout, probs)
    result = decode(outs, task='classify', layout=layout, top_k=5)
    assert isinstance(result, Classifications) and len(result) == 5
    order = np.argsort(-probs)[:5]
    assert result.class_id.tolist() == order.tolist()
    np.testing.assert_allclose(result.confidence, probs[order], rtol=1e-4, atol=1e-6)
    assert result.class_id.dtype == np.int32 and result.confidence.dtype == np.float32


def test_quantised_logits():
    probs = probabilities(100, seed=3)
    outs = make_class_outputs('rknn_cls', probs, quantized=True)
    result = decode(outs, task='classify', vendor='rknn', top_k=3)
    order = np.argsort(-probs)[:3]
    assert result.class_id.tolist() == order.tolist()
    np.testing.assert_allclose(result.confidence, probs[order], atol=0.02)


def test_softmax_inside_or_not_is_layout_data():
    """(1, nc): plain ONNX is the ultralytics export; an RKNN model gives logits."""
    shapes = [(1, 1000)]
    assert match_layout(shapes, (224, 224), task='classify').layout.name == 'ultralytics_cls'
    assert match_layout(shapes, (224, 224), task='classify', vendor='rknn') \
        .layout.name == 'rknn_cls'
    assert match_layout([(1, 1000, 1, 1)], (224, 224), task='classify').layout.name == 'rdk_cls'
    assert match_layout([(1, 1000, 1, 1)], (224, 224), task='classify').layout.scores == 'logit'
    with pytest.raises(LayoutError, match='classify layout'):
        match_layout([(1, 84, 8400)], (640, 640), task='classify')


def test_names_top_k_larger_than_classes_and_repr():
    outs = make_class_outputs('ultralytics_cls', [0.1, 0.7, 0.2])
    result = decode(outs, task='classify', class_names=('a', 'b', 'c'), top_k=10)
    assert result.names == ['b', 'c', 'a'] and 'b 0.70' in repr(result)
    with pytest.raises(ValueError, match='top_k'):
        DecodeOptions(top_k=0)


def expected_at_source(class_map_in, info):
    """Class of the input pixel under each source pixel's centre (nearest neighbour)."""
    v, u = np.mgrid[0:info.src_height, 0:info.src_width]
    x = np.floor((u + 0.5) * info.scale_x + info.pad_x).astype(int)
    y = np.floor((v + 0.5) * info.scale_y + info.pad_y).astype(int)
    return class_map_in[np.clip(y, 0, class_map_in.shape[0] - 1),
                        np.clip(x, 0, class_map_in.shape[1] - 1)]


@pytest.mark.parametrize('layout', SEM)
@pytest.mark.parametrize('quantized', [False, True])
@pytest.mark.parametrize('src_hw', [(480, 640), (720, 1280), (512, 512)])
def test_full_resolution_map_to_source_is_nearest_neighbour(layout, quantized, src_hw):
    class_map = random_class_map(512, 512, 19, seed=4)
    outs = make_semantic_outputs(layout, class_map, 19, quantized=quantized)
    info = letterbox(np.zeros(src_hw + (3,), np.uint8), 512, 512)[1]
    result = decode(outs, input_size=(512, 512), task='semantic', letterbox=info)
    assert isinstance(result, SemanticMap) and result.class_map.dtype == np.uint16
    assert result.shape == src_hw
    np.testing.assert_array_equal(result.class_map, expected_at_source(class_map, info))
    without = decode(outs, input_size=(512, 512), task='semantic')
    np.testing.assert_array_equal(without.class_map, class_map)


@pytest.mark.parametrize('layout', SEM)
def test_coarse_logits_are_upsampled_bilinearly(layout):
    """An 8x coarser map: regions come back where the cells are, up to a cell's edge."""
    coarse = random_class_map(64, 64, 21, seed=2)
    outs = make_semantic_outputs(layout, coarse, 21)
    result = decode(outs, input_size=(512, 512), task='semantic')
    nearest = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)
    agree = (result.class_map == nearest).mean()
    assert agree > 0.97
    # away from region edges (a cell's distance) the classes are exact
    edges = np.zeros_like(coarse, bool)
    edges[:-1] |= coarse[:-1] != coarse[1:]
    edges[1:] |= coarse[1:] != coarse[:-1]
    edges[:, :-1] |= coarse[:, :-1] != coarse[:, 1:]
    edges[:, 1:] |= coarse[:, 1:] != coarse[:, :-1]
    interior = ~np.repeat(np.repeat(edges, 8, axis=0), 8, axis=1)
    np.testing.assert_array_equal(result.class_map[interior], nearest[interior])
    assert set(result.classes_present) == set(np.unique(coarse))


def test_deeplab_style_513_input_with_65x65_map():
    coarse = random_class_map(65, 65, 21, seed=9)
    outs = make_semantic_outputs('semantic_nhwc', coarse, 21)
    assert outs[0].shape == (1, 65, 65, 21)
    binding = match_layout([outs[0].shape], (513, 513), task='semantic')
    assert binding.layout.name == 'semantic_nhwc' and binding.num_classes == 21
    result = decode(outs, input_size=(513, 513), task='semantic')
    assert result.shape == (513, 513)


def test_semantic_layout_follows_the_channel_axis():
    assert match_layout([(1, 19, 512, 1024)], (512, 1024), task='semantic') \
        .layout.name == 'semantic'
    assert match_layout([(1, 65, 65, 21)], (513, 513), task='semantic') \
        .layout.name == 'semantic_nhwc'
    with pytest.raises(LayoutError, match='several layouts'):
        match_layout([(1, 64, 64, 64)], (256, 256), task='semantic')


def test_semantic_map_names_and_colours():
    result = SemanticMap(np.array([[0, 2], [2, 2]]), ('bg', 'road', 'car'))
    assert result.classes_present.tolist() == [0, 2] and result.names_present == ['bg', 'car']
    image = colorize(result)
    assert image.shape == (2, 2, 3) and image.dtype == np.uint8
    assert (image[0, 0] == 0).all() and (image[1, 1] == palette(3)[2]).all()
    assert 'car' in repr(result)


def test_center_crop_round_trip():
    image = np.zeros((480, 640, 3), np.uint8)
    cropped, info = center_crop(image, 224, 224)
    assert cropped.shape == (224, 224, 3)
    assert info.pad_x < 0 and info.pad_y == 0
    # the centre of the source is the centre of the input; points map back exactly
    src = np.array([[320.0, 240.0], [100.0, 50.0]])
    np.testing.assert_allclose(info.points_to_source(info.points_to_input(src)), src, atol=1e-4)
    np.testing.assert_allclose(info.points_to_input(src[:1]), [[112, 112]], atol=0.5)
    tensor, info2 = preprocess(image, InputSpec(224, 224, resize='center_crop'))
    assert tensor.shape == (1, 3, 224, 224) and info2 == info


def test_annotate_classes_writes_on_a_copy():
    image = np.zeros((100, 200, 3), np.uint8)
    result = Classifications([2, 0], [0.9, 0.05], ('a', 'b', 'c'))
    out = annotate_classes(image, result)
    assert out.any() and not image.any()
