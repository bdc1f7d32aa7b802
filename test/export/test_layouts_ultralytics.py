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
YOLO26, YOLOv10 and OBB heads: our decoders against ultralytics' own decoded results.

Seeded random-weight models are built from the yamls ultralytics ships (``yolo26n.yaml``,
``yolov10n.yaml``, ``yolov8n-obb.yaml``, ``yolo26n-obb.yaml``; no download), with each head
branch's last convolution rescaled on a calibration picture so that scores and boxes spread
(test/export/random_models.py explains why). Each is exported to ONNX by ultralytics itself in
the forms users get: the end-to-end one-to-one head (``nms=False``: (1, 300, 6), YOLO26-OBB
(1, 300, 7)) and the default one-to-many head ((1, 4+nc, A), OBB (1, 4+nc+1, A)). The oracle
is ultralytics' ``YOLO(model.onnx).predict`` on the same file and pictures (its letterbox, its
top-k or NMS, ProbIoU Fast NMS for OBB); ours is ``load_model`` on the same ONNX with the same
thresholds. Same detections: classes, scores within 1e-3, boxes within 0.5 px in source
pixels (OBB: the four corners).
"""

import os

import cv2
from edge_perception.decoders import OrientedDetections
from edge_perception.model import load_model
from edge_perception.tools.export import offline_ultralytics
import numpy as np
import pytest

from .random_models import gap_threshold

IMGSZ = 320
IOU = 0.45
BOX_TOL = 0.5
SCORE_TOL = 1e-3
NC = 3
# model yaml, export kwargs -> the layout we must recognise
FORMS = [
    ('yolo26n.yaml', {'nms': False}, 'ultralytics_e2e'),
    ('yolo26n.yaml', {}, 'ultralytics'),
    ('yolov10n.yaml', {'nms': False}, 'ultralytics_e2e'),
    ('yolov8n-obb.yaml', {}, 'ultralytics_obb'),
    ('yolo26n-obb.yaml', {'nms': False}, 'ultralytics_e2e_obb'),
    ('yolo26n-obb.yaml', {}, 'ultralytics_obb'),
]
pytestmark = pytest.mark.filterwarnings('ignore:Converting a tensor to a Python boolean')


def _pictures():
    import ultralytics
    from skimage import data
    folder = os.path.join(os.path.dirname(ultralytics.__file__), 'assets')
    bus = cv2.imread(os.path.join(folder, 'bus.jpg'))
    zidane = cv2.imread(os.path.join(folder, 'zidane.jpg'))
    assert bus is not None and zidane is not None, f'ultralytics assets missing in {folder}'
    return {'bus': bus, 'zidane': zidane,
            'astronaut': cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)}


PICTURES = _pictures()


def _rescale(torch, model, calibration):
    """
    Give every head branch's last convolution outputs of a chosen mean and spread.

    A fresh YOLO26 (depthwise convolutions, batch norms with unit running statistics) passes
    almost constant features to its head (spread ~1e-6: no gain could rescale them in float32),
    so the batch norms first take their statistics from the calibration picture (one pass in
    training mode). DFL-free heads (YOLO26: reg_max 1) need positive distances.
    """
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None          # a cumulative average: one pass sets them
    model.train()
    with torch.no_grad():
        model(calibration)
    model.eval()
    head = model.model[-1]
    box_mean, box_std = (0.0, 1.0)
    if getattr(head, 'reg_max', 16) == 1:       # plain distances (grid units), kept positive
        box_mean, box_std = (2.0, 0.3) if hasattr(head, 'cv4') else (4.0, 0.4)
    targets = []
    for prefix in ('', 'one2one_'):
        for name, mean, std in (('cv3', -6.0, 1.0), ('cv2', box_mean, box_std), ('cv4', 0.0, 1.0)):
            branches = getattr(head, prefix + name, None)
            if branches is not None:
                targets += [(b[-1], mean, std) for b in branches]
    seen = {}
    hooks = [layer.register_forward_hook(
        lambda module, args, output: seen.setdefault(id(module), output.detach()))
        for layer, _, _ in targets]
    head.end2end = True             # run both branches once: one2one in eval, cv* for one2many
    with torch.no_grad():
        model(calibration)
        head.end2end = False
        model(calibration)
        for hook in hooks:
            hook.remove()
        for layer, mean, std in targets:
            out = seen[id(layer)]
            gain = std / max(float(out.std()), 1e-12)
            layer.weight.mul_(gain)
            if layer.bias is not None:
                layer.bias.copy_((layer.bias - float(out.mean())) * gain + mean)


def write_checkpoints(folder, configs, imgsz, seeds, nc=NC, adjust=None):
    """
    Write seeded random-weight ``.pt`` checkpoints of ultralytics model yamls; {cfg: path}.

    seeds: {cfg: seed} (a missing cfg takes ``seeds[None]``); each model is rescaled on the
    sample pictures (``_rescale``) so its scores spread; ``adjust(torch, model)`` may change it
    before it is saved.
    """
    offline_ultralytics()
    import torch
    from ultralytics.nn import tasks
    batch = [cv2.resize(p, (imgsz, imgsz))[:, :, ::-1].transpose(2, 0, 1) / 255.0
             for p in PICTURES.values()]
    calibration = torch.from_numpy(np.ascontiguousarray(batch, np.float32))
    paths = {}
    for cfg in configs:
        torch.manual_seed(seeds.get(cfg, seeds[None]))
        obb = 'obb' in cfg
        model = (tasks.OBBModel if obb else tasks.DetectionModel)(cfg, nc=nc, verbose=False)
        model.names = {i: f'class{i}' for i in range(nc)}
        model.eval()
        _rescale(torch, model, calibration)
        if adjust is not None:
            adjust(torch, model)
        path = str(folder / cfg.replace('.yaml', '.pt'))
        torch.save({'model': model, 'train_args': {'imgsz': imgsz,
                                                   'task': 'obb' if obb else 'detect'}}, path)
        paths[cfg] = path
    return paths


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    return write_checkpoints(tmp_path_factory.mktemp('heads'), sorted({f[0] for f in FORMS}),
                             IMGSZ, {None: 7})


@pytest.fixture(scope='module')
def exported(checkpoints, tmp_path_factory):
    from ultralytics import YOLO
    out = {}
    for cfg, kwargs, layout in FORMS:
        folder = tmp_path_factory.mktemp(layout)
        pt = os.path.join(str(folder), os.path.basename(checkpoints[cfg]))
        with open(checkpoints[cfg], 'rb') as src, open(pt, 'wb') as dst:
            dst.write(src.read())
        out[(cfg, layout)] = YOLO(pt).export(format='onnx', imgsz=IMGSZ, device='cpu',
                                             verbose=False, **kwargs)
    return out


def _oracle(onnx, image, conf, task):
    from ultralytics import YOLO
    result = YOLO(onnx, task=task).predict(
        image, imgsz=IMGSZ, conf=conf, iou=IOU, device='cpu', verbose=False)[0]
    if result.obb is not None:
        obb = result.obb
        return obb.xyxyxyxy.numpy(), obb.conf.numpy(), obb.cls.numpy().astype(int)
    boxes = result.boxes
    return boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy().astype(int)


def _pairs(ours_score, ours_cls, theirs_score, theirs_cls, what):
    assert len(ours_score) == len(theirs_score), (
        what, sorted(zip(ours_cls.tolist(), np.round(ours_score, 4).tolist())),
        sorted(zip(theirs_cls.tolist(), np.round(theirs_score, 4).tolist())))
    free, pairs = set(range(len(ours_score))), []
    for t in np.argsort(-theirs_score, kind='stable'):
        cands = [i for i in free if ours_cls[i] == theirs_cls[t]
                 and abs(ours_score[i] - theirs_score[t]) < SCORE_TOL]
        assert cands, (what, int(theirs_cls[t]), float(theirs_score[t]))
        pairs.append((cands, t))
        free.discard(cands[0])
    return pairs


def _same_corners(ours, theirs):
    """Largest distance from one of their corners to the nearest of ours (order-free)."""
    return max(np.min(np.linalg.norm(ours - p, axis=1)) for p in theirs)


@pytest.mark.parametrize('cfg, kwargs, layout', FORMS, ids=[f'{c}-{l}' for c, _, l in FORMS])
def test_decoded_like_ultralytics(exported, cfg, kwargs, layout):
    onnx = exported[(cfg, layout)]
    model = load_model(onnx, backend='onnxruntime', nms_threshold=IOU, confidence_threshold=0.01)
    try:
        assert model.binding.layout.name == layout, model.describe()
        found = 0
        for name, image in PICTURES.items():
            raw = model(image)
            conf = gap_threshold(raw.confidence, lowest=4, highest=min(25, len(raw) - 1))
            model.options = model.options.__class__(confidence_threshold=conf,
                                                    nms_threshold=IOU)
            det = model(image)
            model.options = model.options.__class__(confidence_threshold=0.01,
                                                    nms_threshold=IOU)
            boxes, score, cls = _oracle(onnx, image, conf, 'obb' if 'obb' in layout else 'detect')
            assert len(score) >= 3, (name, 'the oracle finds too little: the case is weak')
            pairs = _pairs(det.confidence, det.class_id, score, cls, f'{layout} {name}')
            oriented = isinstance(det, OrientedDetections)
            assert oriented == ('obb' in layout)
            for cands, t in pairs:
                if oriented:
                    err = min(_same_corners(det.corners[i], boxes[t]) for i in cands)
                else:
                    err = min(np.abs(det.xyxy[i] - boxes[t]).max() for i in cands)
                assert err < BOX_TOL, f'{layout} {name}: box {err:.3f} px from ultralytics'
            found += len(pairs)
        assert found >= 9
    finally:
        model.close()


EXPORTS = [('yolo26n.yaml', True, 'ultralytics_e2e'), ('yolov10n.yaml', True, 'ultralytics_e2e'),
           ('yolo26n.yaml', False, 'ultralytics'), ('yolov8n-obb.yaml', False, 'ultralytics_obb'),
           ('yolo26n-obb.yaml', True, 'ultralytics_e2e_obb')]


@pytest.mark.parametrize('cfg, end2end, layout', EXPORTS,
                         ids=[f'{c}-{l}' for c, _, l in EXPORTS])
def test_export_writes_the_head_and_a_card_that_loads(checkpoints, tmp_path, cfg, end2end,
                                                      layout):
    from edge_perception.tools.export import export
    result = export(checkpoints[cfg], 'ultralytics', str(tmp_path / 'm.onnx'), IMGSZ,
                    end2end=end2end)
    assert result.layout == layout
    model = load_model(result.card, backend='onnxruntime', nms_threshold=IOU,
                       confidence_threshold=0.01)
    try:
        assert model.binding.layout.name == layout
        raw = model(PICTURES['zidane'])
        model.options = model.options.__class__(
            confidence_threshold=gap_threshold(raw.confidence, lowest=3,
                                               highest=min(20, len(raw) - 1)),
            nms_threshold=IOU)
        det = model(PICTURES['zidane'])
        boxes, score, cls = _oracle(result.onnx, PICTURES['zidane'],
                                    model.options.confidence_threshold,
                                    'obb' if 'obb' in layout else 'detect')
        pairs = _pairs(det.confidence, det.class_id, score, cls, f'export {layout}')
        assert len(pairs) >= 3
    finally:
        model.close()


def test_vendor_layouts_of_the_new_heads_are_refused_with_the_fix(checkpoints, tmp_path):
    from edge_perception.errors import ModelLoadError
    from edge_perception.tools.export import export
    for cfg in ('yolo26n.yaml', 'yolo26n-obb.yaml'):    # OBB: test_rknn_obb_export.py
        with pytest.raises(ModelLoadError, match='--layout ultralytics'):
            export(checkpoints[cfg], 'rknn', str(tmp_path / 'm.onnx'), IMGSZ)
