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
``export --layout rdk`` of YOLO26 and OBB heads against ultralytics' own ``predict``.

Seeded random-weight YOLO26n, YOLO26n-OBB and YOLOv8n-OBB checkpoints (the yamls ultralytics
ships, heads rescaled as in test_layouts_ultralytics.py; YOLO26's saved with its end-to-end
branch active, as a trained one is) are exported in rdk_model_zoo's BPU forms: YOLO26 the
one-to-one branch's cls / box (1,H,W,4) [/ angle] per stride (export_yolo26_*_bpu.py), YOLOv8-OBB
cls / box (1,H,W,64) / angle per stride (the zoo's yolov8n/yolo11n-obb .bin models). The oracle
is ultralytics' ``YOLO(checkpoint.pt).predict`` on the same pictures (rect=False: the full
letterbox an exported model takes) with the same thresholds: top-k without NMS for YOLO26,
ProbIoU NMS for YOLOv8-OBB. YOLO26 is predicted with ``nms=False``: ultralytics 8.4.190
selects the one-to-one (NMS-free) head of a ``.pt`` only then, and otherwise predicts with its
one-to-many head and NMS. Ours is ``load_model`` on the exported card. Same detections:
classes, scores within 1e-3,
boxes within 0.5 px in source pixels (OBB: the four corners, within 0.5 px + 0.2 % of the box's
longer side: the random OBB heads' angle outputs reach +/-17 rad, and ONNX Runtime's float32
convolutions give them ~1e-3 rad from torch's, which turns a 900 px box's corners by ~0.8 px).
"""

import os

from edge_perception import cli
from edge_perception.decoders import OrientedDetections
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
# model yaml -> (our layout, output channels per stride after cls)
HEADS = {'yolo26n.yaml': ('rdk_yolo26', (4,)), 'yolo26n-obb.yaml': ('rdk_yolo26_obb', (4, 1)),
         'yolov8n-obb.yaml': ('rdk_obb', (64, 1))}
pytestmark = pytest.mark.filterwarnings('ignore:Converting a tensor to a Python boolean')


def _one2one_heads(torch, model):
    head = model.model[-1]
    if getattr(head, 'one2one_cv2', None) is not None:
        head.end2end = True         # predict with the one-to-one branch, as trained YOLO26
        with torch.no_grad():       # the one-to-many branch differs (it is a copy at init)
            for name in ('cv2', 'cv3', 'cv4'):
                for branch in getattr(head, name, None) or ():
                    branch[-1].bias.add_(torch.randn_like(branch[-1].bias) * 0.5)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    return write_checkpoints(tmp_path_factory.mktemp('rdk_heads'), tuple(HEADS), IMGSZ,
                             {None: 11}, NC, adjust=_one2one_heads)


@pytest.fixture(scope='module')
def exported(checkpoints, tmp_path_factory):
    folder = tmp_path_factory.mktemp('rdk_exports')
    return {cfg: export(path, 'rdk', str(folder / os.path.basename(path).replace('.pt', '.onnx')),
                        IMGSZ) for cfg, path in checkpoints.items()}


def _predict(checkpoint, image, conf, obb, one2one):
    from ultralytics import YOLO
    kwargs = {'nms': False} if one2one else {}      # ultralytics: the NMS-free head
    result = YOLO(checkpoint).predict(image, imgsz=IMGSZ, conf=conf, iou=IOU, device='cpu',
                                      rect=False, verbose=False, **kwargs)[0]
    if obb:
        return (result.obb.xyxyxyxy.numpy(), result.obb.conf.numpy(),
                result.obb.cls.numpy().astype(int))
    boxes = result.boxes
    return boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy().astype(int)


@pytest.mark.parametrize('cfg', sorted(HEADS))
def test_the_export_has_the_zoos_form_and_a_card(exported, cfg, capsys):
    layout, channels = HEADS[cfg]
    result = exported[cfg]
    assert result.layout == layout
    shapes = list(result.output_shapes)
    per_stride = 1 + len(channels)
    assert len(shapes) == 3 * per_stride
    for i, stride in enumerate((8, 16, 32)):
        cell = (1, IMGSZ // stride, IMGSZ // stride)
        group = shapes[i * per_stride:(i + 1) * per_stride]
        assert group == [cell + (NC,)] + [cell + (c,) for c in channels], group
    with load_model(result.card, backend='onnxruntime') as model:
        assert model.binding.layout.name == layout, model.describe()
    assert cli.main(['info', result.onnx]) == 0
    assert layout in capsys.readouterr().out


@pytest.mark.parametrize('cfg', sorted(HEADS))
def test_decoded_like_ultralytics_predict(checkpoints, exported, cfg):
    layout, _ = HEADS[cfg]
    obb = 'obb' in cfg
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
            boxes, score, cls = _predict(checkpoints[cfg], image, conf, obb,
                                         layout != 'rdk_obb')
            assert len(score) >= 3, (name, 'ultralytics finds too little: the case is weak')
            assert isinstance(det, OrientedDetections) == obb
            for cands, t in _pairs(det.confidence, det.class_id, score, cls, f'{layout} {name}'):
                tol = BOX_TOL
                if obb:
                    err = min(_same_corners(det.corners[i], boxes[t]) for i in cands)
                    side = np.linalg.norm(boxes[t] - np.roll(boxes[t], 1, axis=0), axis=1).max()
                    tol += 0.002 * side
                else:
                    err = min(np.abs(det.xyxy[i] - boxes[t]).max() for i in cands)
                assert err < tol, f'{layout} {name}: box {err:.3f} px from ultralytics'
                found += 1
        assert found >= 9
    finally:
        model.close()


def test_end2end_is_refused_for_the_rdk_layout(checkpoints, tmp_path):
    from edge_perception.errors import ConfigError
    with pytest.raises(ConfigError, match='--layout rdk'):
        export(checkpoints['yolo26n.yaml'], 'rdk', str(tmp_path / 'm.onnx'), IMGSZ, end2end=True)
