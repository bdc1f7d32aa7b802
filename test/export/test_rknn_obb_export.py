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
``export --layout rknn`` of YOLOv8/YOLO11-OBB: rknn_model_zoo's yolov8_obb form, decoded right.

The zoo's form (examples/yolov8_obb: its python/yolov8_obb.py reads it; airockchip's
ultralytics_yolov8 fork writes it): per stride one (1, 64+nc, H, W) tensor, the raw DFL box
logits and the raw class logits (the zoo applies the sigmoid), then the angle (1, 1, anchors),
the OBB head's sigmoid (the zoo computes (value - 0.25) x pi), anchors in stride blocks 8, 16,
32, each row-major. Seeded random-weight models from ultralytics' ``yolov8n-obb.yaml`` and
``yolo11n-obb.yaml`` (no download; heads rescaled as in test_layouts_ultralytics.py) are
exported; the oracle is ultralytics' own ``predict`` of the same checkpoint on the same pictures
(``rect=False``, as test_parity.py), ours ``load_model`` of the written card on ONNX Runtime:
same classes, scores within 1e-3, corners within 0.5 px. YOLO26 heads (OBB26 too) are refused
for the rknn layout: rknn_model_zoo has no yolo26 example.
"""

import os

from edge_perception import cli
from edge_perception.decoders import OrientedDetections
from edge_perception.errors import ModelLoadError
from edge_perception.model import load_model
from edge_perception.tools.export import export
import numpy as np
import pytest

from .random_models import gap_threshold
from .test_layouts_ultralytics import _pairs, _same_corners, PICTURES, write_checkpoints

IMGSZ = 320
IOU = 0.45
BOX_TOL = 0.5
NC = 3
OBB_CONFIGS = ('yolov8n-obb.yaml', 'yolo11n-obb.yaml')
# seeds whose scores stay below float32's sigmoid saturation on the pictures: two boxes scored
# exactly 1.0 make NMS order a tie that ultralytics and we may break differently
SEEDS = {'yolo11n-obb.yaml': 4}
pytestmark = pytest.mark.filterwarnings('ignore:Converting a tensor to a Python boolean')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    return write_checkpoints(tmp_path_factory.mktemp('rknn_obb'),
                             OBB_CONFIGS + ('yolo26n.yaml', 'yolo26n-obb.yaml'), IMGSZ,
                             {None: 5, **SEEDS}, NC)


@pytest.fixture(scope='module')
def exported(checkpoints, tmp_path_factory):
    folder = tmp_path_factory.mktemp('rknn_obb_exports')
    return {cfg: export(checkpoints[cfg], 'rknn', str(folder / cfg.replace('.yaml', '.onnx')),
                        IMGSZ) for cfg in OBB_CONFIGS}


def _predict(weights, image, conf):
    """Return ultralytics' own OBB result for the checkpoint: corners, scores, classes."""
    from ultralytics import YOLO
    result = YOLO(weights).predict(image, imgsz=IMGSZ, conf=conf, iou=IOU, device='cpu',
                                   rect=False, verbose=False)[0]
    return (result.obb.xyxyxyxy.numpy(), result.obb.conf.numpy(),
            result.obb.cls.numpy().astype(int))


def _matched_corners(det, theirs, what):
    """
    Pair ours with ultralytics' detections one to one; return each pair's corner distance.

    Same class and score within 1e-3; among those, the closest corners first (random weights
    give runs of equal scores, where pairing by score alone is ambiguous).
    """
    boxes, score, cls = theirs
    _pairs(det.confidence, det.class_id, score, cls, what)      # same count, classes, scores
    options = sorted((_same_corners(det.corners[i], boxes[t]), i, t)
                     for i in range(len(det)) for t in range(len(score))
                     if det.class_id[i] == cls[t] and abs(det.confidence[i] - score[t]) < 1e-3)
    used_ours, used_theirs, errors = set(), set(), []
    for err, i, t in options:
        if i not in used_ours and t not in used_theirs:
            used_ours.add(i)
            used_theirs.add(t)
            errors.append(err)
    assert len(errors) == len(score), (what, len(errors), len(score))
    return errors


@pytest.mark.parametrize('cfg', OBB_CONFIGS)
def test_the_export_has_the_zoos_yolov8_obb_form(exported, cfg, capsys):
    import onnx
    result = exported[cfg]
    assert result.layout == 'rknn_obb'
    cells = [(IMGSZ // s) ** 2 for s in (8, 16, 32)]
    expected = [(1, 64 + NC, IMGSZ // s, IMGSZ // s) for s in (8, 16, 32)] + [(1, 1, sum(cells))]
    assert list(result.output_shapes) == expected
    graph = onnx.load(result.onnx).graph
    assert [o.name for o in graph.output] == ['boxcls_s8', 'boxcls_s16', 'boxcls_s32', 'angle']
    # the angle is the head's sigmoid (the zoo subtracts 0.25 and scales by pi itself)
    producers = {out: node.op_type for node in graph.node for out in node.output}
    assert producers['angle'] == 'Sigmoid'
    with load_model(result.card, backend='onnxruntime') as model:
        assert model.binding.layout.name == 'rknn_obb', model.describe()
    assert cli.main(['info', result.onnx]) == 0
    assert 'rknn_obb' in capsys.readouterr().out


@pytest.mark.parametrize('cfg', OBB_CONFIGS)
def test_decoded_like_ultralytics_predict(checkpoints, exported, cfg):
    model = load_model(exported[cfg].card, backend='onnxruntime', nms_threshold=IOU,
                       confidence_threshold=0.01)
    try:
        found = 0
        for name, image in PICTURES.items():
            raw = model(image)
            conf = gap_threshold(raw.confidence, lowest=4, highest=min(25, len(raw) - 1))
            model.options = model.options.__class__(confidence_threshold=conf,
                                                    nms_threshold=IOU)
            det = model(image)
            model.options = model.options.__class__(confidence_threshold=0.01,
                                                    nms_threshold=IOU)
            boxes, score, cls = _predict(checkpoints[cfg], image, conf)
            assert len(score) >= 3, (name, 'ultralytics finds too little: the case is weak')
            assert isinstance(det, OrientedDetections)
            assert np.sum(det.confidence > 1 - 1e-5) <= 1, (name, 'saturated scores tie')
            assert np.ptp(det.angle) > 0.1, (name, 'the angles do not vary: the case is weak')
            for err in _matched_corners(det, (boxes, score, cls), f'{cfg} {name}'):
                assert err < BOX_TOL, f'{cfg} {name}: corners {err:.3f} px from ultralytics'
                found += 1
        assert found >= 9
    finally:
        model.close()


@pytest.mark.parametrize('cfg', ('yolo26n.yaml', 'yolo26n-obb.yaml'))
def test_yolo26_heads_are_refused_for_rknn_with_what_to_use(checkpoints, tmp_path, cfg):
    with pytest.raises(ModelLoadError, match='rknn_model_zoo .* has no yolo26') as info:
        export(checkpoints[cfg], 'rknn', str(tmp_path / 'm.onnx'), IMGSZ)
    assert '--layout ultralytics' in str(info.value) and '--dtype fp16' in str(info.value)
    assert not os.path.exists(tmp_path / 'm.onnx')
