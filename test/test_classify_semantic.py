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

import textwrap
import warnings

from edge_perception import decode, letterbox, load_model
from edge_perception.backends.onnxruntime_backend import OnnxRuntimeBackend
from edge_perception.decoders import DecodeOptions
from edge_perception.decoders.classify import ClassScores, looks_like_probabilities
from edge_perception.drawing import annotate_classes, colorize, palette
from edge_perception.errors import LayoutError, ModelLoadError
from edge_perception.layouts import match_layout, TASK_LAYOUTS
from edge_perception.preprocess import center_crop, InputSpec, preprocess
from edge_perception.results import Classifications, SemanticMap
from edge_perception.synthetic import (make_class_outputs, make_semantic_outputs,
                                       random_class_map)
import numpy as np
from onnx import helper, TensorProto
import onnxruntime as ort
import pytest

from .models import (_names_metadata, _save, CLASSIFIER_CLASSES, CLASSIFIER_GAIN, CLASSIFIER_SIZE,
                     expected_class_probabilities, write_classifier_model)

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


# -- probabilities or logits: decided from the model, checked on the first frame -----------
def write_logit_classifier(path, softmax_then_reshape=False) -> str:
    """
    Write the colour classifier of models.py without its Softmax: it outputs the logits.

    softmax_then_reshape: keep the Softmax and reshape its output to (1, nc, 1, 1) after it (a
    shape-only operator between the Softmax and the output, as some exports have).
    """
    nc = len(CLASSIFIER_CLASSES)
    last = 'logits' if softmax_then_reshape else 'output0'
    nodes = [helper.make_node('ReduceMean', ['images'], ['means'], axes=[2, 3], keepdims=0),
             helper.make_node('Mul', ['means', 'gain'], [last])]
    inits = [helper.make_tensor('gain', TensorProto.FLOAT, [], [CLASSIFIER_GAIN])]
    shape = [1, nc]
    if softmax_then_reshape:
        nodes += [helper.make_node('Softmax', ['logits'], ['probs'], axis=1),
                  helper.make_node('Reshape', ['probs', 'shape'], ['output0'])]
        inits.append(helper.make_tensor('shape', TensorProto.INT64, [4], [1, nc, 1, 1]))
        shape = [1, nc, 1, 1]
    output = helper.make_tensor_value_info('output0', TensorProto.FLOAT, shape)
    return _save(nodes, inits, 'colour_logits', CLASSIFIER_SIZE, [output], path,
                 _names_metadata(CLASSIFIER_CLASSES, CLASSIFIER_SIZE, 'classify'))


@pytest.fixture(scope='module')
def classifiers(tmp_path_factory):
    folder = tmp_path_factory.mktemp('classifiers')
    return {'softmax': write_classifier_model(folder / 'softmax.onnx'),
            'logit': write_logit_classifier(folder / 'logit.onnx'),
            'softmax_nc11': write_logit_classifier(folder / 'softmax_nc11.onnx', True)}


GREENISH = np.full((48, 80, 3), (40, 200, 90), np.uint8)       # BGR


def onnxruntime_output(path, model, image):
    """Return the model's input tensor and ONNX Runtime's own raw output for it (the oracle)."""
    tensor, _ = preprocess(image, model.input_spec)
    raw = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(
        None, {'images': tensor})[0].reshape(-1).astype(np.float64)
    return tensor, raw


def assert_reports(result, probabilities):
    order = np.argsort(-probabilities)
    assert result.class_id.tolist() == order[:len(result)].tolist()
    np.testing.assert_allclose(result.confidence, probabilities[order[:len(result)]],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name', ['softmax', 'logit', 'softmax_nc11'])
def test_onnx_classifier_scores_follow_the_graph(classifiers, name):
    """Plain logits are softmax-ed once; a Softmax in the graph (even behind a Reshape) is not."""
    model = load_model(classifiers[name])
    with warnings.catch_warnings():
        warnings.simplefilter('error')          # graph and values agree: no warning
        result = model(GREENISH)
    tensor, raw = onnxruntime_output(classifiers[name], model, GREENISH)
    if name == 'logit':
        assert not looks_like_probabilities(raw)
        exp = np.exp(raw - raw.max())
        expected = exp / exp.sum()
    else:
        expected = raw
    assert_reports(result, expected)
    # the independent oracle: models.py's formula for the classifier's probabilities
    np.testing.assert_allclose(expected, expected_class_probabilities(tensor), atol=1e-5)
    assert result.names[0] == 'green' and model.decoder.scores.finding == ''


class GraphlessBackend(OnnxRuntimeBackend):
    """An NPU-like backend: the runtime gives outputs but no graph (as RKNNLite, pyeasy_dnn)."""

    vendor = 'rknn'

    def __init__(self, path, **kwargs):
        super().__init__(path, **kwargs)
        del self.output_operators


@pytest.fixture
def graphless(monkeypatch):
    from edge_perception import backends
    monkeypatch.setitem(backends.BACKENDS, 'onnxruntime', (
        'test.test_classify_semantic:GraphlessBackend', ('onnxruntime',), ''))


@pytest.mark.parametrize('name', ['softmax', 'logit'])
def test_without_a_graph_the_first_frame_decides_and_says_so(classifiers, graphless, name):
    """An RKNN (1, nc) model keeping ultralytics' softmax is not softmax-ed a second time."""
    model = load_model(classifiers[name])
    assert model.binding.layout.name == 'rknn_cls'       # the vendor's layout: logits
    with pytest.warns(RuntimeWarning, match=f'nothing says.*taken as .*`scores: {name}`'):
        result = model(GREENISH)
    tensor, raw = onnxruntime_output(classifiers[name], model, GREENISH)
    assert_reports(result, expected_class_probabilities(tensor))
    assert model.decoder.scores.kind == name
    with warnings.catch_warnings():
        warnings.simplefilter('error')          # decided once: later frames are quiet
        model(GREENISH)


def card(tmp_path, model, scores):
    path = tmp_path / 'card.yaml'
    path.write_text(textwrap.dedent(f"""
        task: classify
        model: {model}
        scores: {scores}
        """))
    return str(path)


def test_the_card_decides_when_it_says(classifiers, graphless, tmp_path):
    model = load_model(card(tmp_path, classifiers['softmax'], 'softmax'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        result = model(GREENISH)
    tensor, _ = onnxruntime_output(classifiers['softmax'], model, GREENISH)
    assert_reports(result, expected_class_probabilities(tensor))


def test_a_card_that_contradicts_the_values_is_obeyed_with_a_warning(classifiers, tmp_path):
    """The card wins over the graph; the first frame shows the mismatch and names the fix."""
    model = load_model(card(tmp_path, classifiers['softmax'], 'logit'))
    with pytest.warns(RuntimeWarning, match=r'model card .* logits .* look like probabilities'
                                            r'.*`scores: softmax`'):
        result = model(GREENISH)
    tensor, raw = onnxruntime_output(classifiers['softmax'], model, GREENISH)
    exp = np.exp(raw - raw.max())
    assert_reports(result, exp / exp.sum())            # softmax applied, as the card says


@pytest.mark.parametrize('text,match', [
    ('task: classify\nmodel: m.onnx\nscores: probabilities\n', 'scores must be softmax or logit'),
    ('model: m.onnx\nscores: softmax\n', "for a classify model; got 'softmax' for task 'detect'"),
])
def test_bad_scores_key_is_rejected(tmp_path, text, match):
    from edge_perception.spec import load_card
    path = tmp_path / 'card.yaml'
    path.write_text(text)
    with pytest.raises(ModelLoadError, match=match):
        load_card(str(path))


@pytest.mark.parametrize('kind,values,warns', [
    ('softmax', [0.9, 0.05, 0.05], False),
    ('softmax', [2.0, -1.0, 0.5], True),            # logits where probabilities were promised
    ('logit', [2.0, -1.0, 0.5], False),
    ('logit', [0.9, 0.05, 0.05], True),             # probabilities where logits were promised
])
def test_first_frame_check_of_a_stated_convention(kind, values, warns):
    scores = ClassScores(kind, 'the layout x')
    values = np.asarray(values, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        first = scores(values)
        second = scores(values)
    assert len(caught) == int(warns) and bool(scores.finding) == warns
    np.testing.assert_array_equal(first, second)
    if kind == 'softmax':
        np.testing.assert_array_equal(first, values)
    else:
        exp = np.exp(values.astype(np.float64) - values.max())
        np.testing.assert_allclose(first, exp / exp.sum(), rtol=1e-6)


def test_quantised_probabilities_still_look_like_probabilities():
    """uint8 softmax outputs (step 1/255) of a peaked 1000-class distribution: probabilities."""
    rng = np.random.default_rng(5)
    for _ in range(50):
        p = rng.dirichlet(np.ones(1000) * 0.05)
        assert looks_like_probabilities(np.round(p * 255) / 255)
        logits = np.log(p + 1e-9)
        assert not looks_like_probabilities(logits)
