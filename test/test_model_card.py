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
"""Model cards and load_model: file references, metadata, and start-up errors that say the fix."""

import os
import textwrap

from edge_perception import load_model
from edge_perception.errors import BackendUnavailableError, LayoutError, ModelLoadError
from edge_perception.spec import load_card, parse_names, resolve_path
import numpy as np
import pytest

from .models import bright_rectangle, write_dense_model


def write(tmp_path, text, name='card.yaml'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_card_with_relative_model_labels_file_and_thresholds(tmp_path):
    write_dense_model(str(tmp_path / 'net.onnx'), num_classes=3)
    (tmp_path / 'labels.txt').write_text('cat\ndog\n\nbird\n')
    card = write(tmp_path, """
        name: pets
        model: net.onnx
        labels_file: labels.txt
        input: {size: [320, 320], color: bgr}
        thresholds: {confidence: 0.4, nms: 0.5, max_detections: 7}
        """)
    model = load_model(card)
    assert model.class_names == ('cat', 'dog', 'bird')
    assert model.options.confidence_threshold == 0.4 and model.options.max_detections == 7
    assert model.input_spec.color == 'bgr' and model.input_spec.height == 320
    assert 'ultralytics' in model.describe()
    assert load_model(card, confidence_threshold=0.1).options.confidence_threshold == 0.1


def test_bare_onnx_reads_names_and_size_from_ultralytics_metadata(tmp_path):
    path = str(tmp_path / 'meta.onnx')
    write_dense_model(path, num_classes=2, metadata={'names': "{0: 'Normal', 1: 'Fall'}",
                                                     'imgsz': '[320, 320]', 'task': 'detect'})
    model = load_model(path)
    assert model.class_names == ('Normal', 'Fall')


def test_missing_model_file_names_the_path(tmp_path):
    card = write(tmp_path, 'model: nowhere/net.onnx\n')
    with pytest.raises(ModelLoadError) as info:
        load_model(card)
    assert os.path.join(str(tmp_path), 'nowhere', 'net.onnx') in str(info.value)
    with pytest.raises(ModelLoadError, match='not found'):
        load_model(str(tmp_path / 'absent.onnx'))
    with pytest.raises(ModelLoadError, match='card not found'):
        load_model(str(tmp_path / 'absent.yaml'))


def test_missing_python_package_gives_the_install_hint(tmp_path):
    card = write(tmp_path, """
        model: python-package://no_such_pkg_xyz/models/m.onnx
        install_hint: pip install no-such-pkg
        """)
    with pytest.raises(ModelLoadError, match='no_such_pkg_xyz.*pip install no-such-pkg'):
        load_model(card)


def test_python_package_reference_resolves_inside_the_package():
    path = resolve_path('python-package://edge_perception/layouts.py', '/')
    assert path.endswith(os.path.join('edge_perception', 'layouts.py'))


@pytest.mark.parametrize('text,match', [
    ('model: m.onnx\nflavour: x\n', 'unknown keys'),
    ('model: m.onnx\ntask: dance\n', 'task'),
    ('model: m.onnx\nlayout: yolo99\n', 'layout'),
    ('name: nothing\n', 'model'),
    ('model: m.onnx\ninput: {color: hsv}\n', 'color'),
    ('model: m.onnx\ninput: {zoom: 2}\n', 'unknown input key'),
    ('model: [unclosed\n', 'YAML'),
])
def test_invalid_cards_are_rejected_with_the_reason(tmp_path, text, match):
    with pytest.raises(ModelLoadError, match=match):
        load_card(write(tmp_path, text))


def test_unknown_threshold_key_is_rejected(tmp_path):
    write_dense_model(str(tmp_path / 'm.onnx'), num_classes=1)
    with pytest.raises(ModelLoadError, match='thresholds'):
        load_model(write(tmp_path, 'model: m.onnx\nthresholds: {conf: 0.3}\n'))


def test_unknown_backend_and_unsupported_file_type(tmp_path):
    write_dense_model(str(tmp_path / 'm.onnx'), num_classes=1)
    with pytest.raises(BackendUnavailableError, match='offers files only for onnxruntime'):
        load_model(str(tmp_path / 'm.onnx'), backend='rknn')
    (tmp_path / 'm.tflite').write_bytes(b'x')
    with pytest.raises(ModelLoadError, match='no backend runs .tflite'):
        load_model(str(tmp_path / 'm.tflite'))


def test_corrupt_onnx_file_is_a_load_error(tmp_path):
    (tmp_path / 'bad.onnx').write_bytes(b'not a protobuf')
    with pytest.raises(ModelLoadError, match='cannot load'):
        load_model(str(tmp_path / 'bad.onnx'))


def test_class_count_mismatch_between_card_and_model(tmp_path):
    write_dense_model(str(tmp_path / 'm.onnx'), num_classes=3)
    card = write(tmp_path, 'model: m.onnx\nclasses: [a, b]\n')
    with pytest.raises(LayoutError, match='2 classes'):
        load_model(card)


def test_parse_names_forms():
    assert parse_names("{0: 'a', 1: 'b'}") == ('a', 'b')
    assert parse_names({1: 'b', 0: 'a'}) == ('a', 'b')
    assert parse_names(['x', 'y']) == ('x', 'y')
    assert parse_names('x, y') == ('x', 'y')


def test_soc_placeholder_picks_the_board_file(tmp_path):
    write_dense_model(str(tmp_path / 'net_rk3588.onnx'), num_classes=1)
    card = write(tmp_path, 'files:\n  onnxruntime: net_{soc}.onnx\n')
    assert load_model(card, soc='rk3588').class_names == ('0',)
    with pytest.raises(ModelLoadError, match='net_rk3576.onnx'):
        load_model(card, soc='rk3576')
    with pytest.raises(ModelLoadError, match='depends on the SoC'):
        load_model(card)                      # this machine is no board


class RecordingBackend:
    """A backend that records the options load_model gives it, then refuses to load."""

    card_input_options = ('mean', 'std', 'pad_value')
    seen = {}

    def __init__(self, path, threads=0, cpu_affinity=None, **options):
        RecordingBackend.seen = options
        raise ModelLoadError('recorded')


def test_backends_that_build_the_model_get_the_cards_input_convention(tmp_path, monkeypatch):
    from edge_perception import backends
    monkeypatch.setitem(backends.BACKENDS, 'onnxruntime',
                        ('test.test_model_card:RecordingBackend', ('numpy',), ''))
    write_dense_model(str(tmp_path / 'm.onnx'), num_classes=1)
    card = write(tmp_path, 'model: m.onnx\ninput: {mean: [1, 2, 3], std: 57, pad_value: 127}\n')
    with pytest.raises(ModelLoadError, match='recorded'):
        load_model(card, backend_options={'std': (9, 9, 9)})
    assert RecordingBackend.seen == {'mean': (1.0, 2.0, 3.0), 'std': (9, 9, 9), 'pad_value': 127}


def test_count_thresholds_stay_integers_and_every_frame_decodes(tmp_path):
    """A YAML int in thresholds stays an int: NMS slices with it on every frame."""
    write_dense_model(str(tmp_path / 'm.onnx'), num_classes=1)
    card = write(tmp_path, """
        model: m.onnx
        thresholds: {confidence: 0.5, nms: 0.4, max_detections: 100, top_k: 3}
        """)
    spec = load_card(card)
    assert type(spec.thresholds['max_detections']) is int
    assert type(spec.thresholds['top_k']) is int
    assert type(spec.thresholds['confidence']) is float
    model = load_model(card)
    assert type(model.options.max_detections) is int and model.options.max_detections == 100
    detections = model(bright_rectangle(320, 320, (60, 40, 200, 120)))  # models.py: that box
    assert len(detections) == 1
    np.testing.assert_allclose(detections.xyxy[0], [60, 40, 200, 120], atol=1.0)


@pytest.mark.parametrize('text,match', [
    ('thresholds: {max_detections: 2.5}', r'thresholds.max_detections must be a whole number'),
    ('thresholds: {top_k: yes}', r'thresholds.top_k must be a whole number, got True'),
    ("thresholds: {max_detections: '50'}", r"must be a whole number, got '50'"),
    ('thresholds: {confidence: high}', r"thresholds.confidence must be a number, got 'high'"),
    ('thresholds: [0.5]', 'thresholds must be a mapping'),
])
def test_bad_threshold_values_are_rejected_with_the_reason(tmp_path, text, match):
    with pytest.raises(ModelLoadError, match=match):
        load_card(write(tmp_path, f'model: m.onnx\n{text}\n'))


def test_whole_float_count_is_taken_as_an_integer(tmp_path):
    spec = load_card(write(tmp_path, 'model: m.onnx\nthresholds: {max_detections: 50.0}\n'))
    assert spec.thresholds == {'max_detections': 50}
    assert type(spec.thresholds['max_detections']) is int
