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
A real RDK X5 build on this PC and the rdk_sim backend on it (the D-Robotics toolchain, no fakes).

The square detector (rdk_models.py) is converted once (conftest ``built``: hb_mapper checker and
makertbin at O0). Oracles: the scenes' own geometry and ONNX Runtime's fp32 run of the same
ONNX (detections), ``hb_model_info`` (what the .bin declares), and hbdk-sim running the .bin's
BPU program (the quantized ONNX's outputs, bit for bit).
"""

import json
import os
import re
import subprocess
import sys

from edge_perception import load_model
from edge_perception.backends.rdk_sim_io import bpu_input, read_bin, simulate_bin
from edge_perception.errors import ConfigError, ModelLoadError
from edge_perception.preprocess import Nv12Frame
from edge_perception.tools import rdk_toolchain
from edge_perception.tools.rdk_calibration import runtime_nv12
from edge_perception.tools.verify import iou
import numpy as np
import onnx
import pytest
import yaml

from .rdk_models import square_scene, write_rdk_square_model

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data')
# one square per stride (side 2*stride in the 640 scene = one cell of the 320 input)
SQUARES = [('red', 64, 64, 16), ('white', 320, 320, 64), ('red', 448, 128, 32)]


def test_convert_writes_the_bin_the_quantized_onnx_and_the_card(built):
    hb, out = built['hb'], built['out']
    assert os.path.getsize(built['bin']) > 100_000 and os.path.isfile(built['quantized'])
    assert 'march bayes-e' in out and 'at O0' in out and '6 calibration images' in out
    assert (hb / 'hb_mapper_checker.log').is_file() and (hb / 'hb_mapper_makertbin.log').is_file()
    with open(hb / 'rdk_square_x5_hb_mapper.yaml', encoding='utf-8') as f:
        config = yaml.safe_load(f)
    assert config['compiler_parameters']['optimize_level'] == 'O0'
    assert config['model_parameters']['march'] == 'bayes-e'
    assert len(os.listdir(config['calibration_parameters']['cal_data_dir'])) == 6
    with open(built['card'], encoding='utf-8') as f:
        card = yaml.safe_load(f)
    assert card['files'] == {'onnxruntime': 'rdk_square.onnx',
                             'rdk': 'rdk_square_{soc}_hb/rdk_square_{soc}.bin',
                             'rdk_sim': 'rdk_square_x5_hb/rdk_square_x5_quantized_model.onnx'}
    assert card['classes'] == ['red', 'white']


def _model_info_log(path: str, cwd) -> str:
    """Run the toolchain's hb_model_info on a .bin; return its log without colour codes."""
    out, _ = rdk_toolchain.run('hb_model_info', [path], str(cwd), 'hb_model_info.log')
    return re.sub(r'\x1b\[[0-9;]*m', '', out)


def test_read_bin_agrees_with_hb_model_info(built, tmp_path):
    info = read_bin(built['bin'])
    log = _model_info_log(built['bin'], tmp_path)
    assert re.search(r'BPU march\s*:\s*bayes-e', log) and info['march'] == 'bayes-e'
    assert re.search(r'hbdk version\s*:\s*' + re.escape(info['versions']['hbdk']), log)
    assert re.search(r'input_type_rt\s*:\s*nv12', log)
    assert re.search(r'input_shape\s*:\s*1x3x320x320', log)
    (entry,) = info['inputs']
    assert (entry['tensor_type'], entry['layout'], entry['shape']) == \
        ('NV12', 'NCHW', [1, 3, 320, 320])
    assert 'model input types   : [<InputDataType.NV12: 7>]' in log
    types = re.search(r'model output types\s*:\s*\[(.*)\]', log).group(1)
    assert types.count('<DataType.FLOAT: 1>') == 6 == len(info['outputs'])
    assert [o['dtype'] for o in info['outputs']] == ['float32'] * 6
    assert [tuple(o['shape']) for o in info['outputs']] == [
        (1, 40, 40, 2), (1, 40, 40, 64), (1, 20, 20, 2), (1, 20, 20, 64), (1, 10, 10, 2),
        (1, 10, 10, 64)]
    assert all(o['layout'] == 'NHWC' and o['axis'] == 3 and len(o['scale']) == o['shape'][3]
               for o in info['outputs'])
    assert info['cpu_nodes'] == ['Dequantize']


def test_the_committed_bin_properties_are_those_of_a_fresh_build(built):
    """test/data/rdk_square_x5_bin_info.json (the contract tests' data) is still true."""
    with open(os.path.join(DATA, 'rdk_square_x5_bin_info.json'), encoding='utf-8') as f:
        recorded = json.load(f)
    fresh = read_bin(built['bin'])
    for key in ('march', 'versions', 'input_type_rt', 'bpu_graph', 'inputs', 'cpu_nodes'):
        assert recorded[key] == fresh[key], key
    for old, new in zip(recorded['outputs'], fresh['outputs']):
        scale_old, scale_new = old.pop('scale'), new.pop('scale')
        assert old == new
        np.testing.assert_allclose(scale_old, scale_new, rtol=1e-5)


def _scene():
    return square_scene(SQUARES)


def test_rdk_sim_detects_the_squares_where_fp32_does(built):
    scene = _scene()
    with load_model(built['card'], backend='onnxruntime') as fp32, \
            load_model(built['card'], backend='rdk_sim') as int8:
        assert int8.backend.name == 'rdk_sim' and int8.backend.engine == 'HB_ONNXRuntime'
        assert (int8.input_spec.color, int8.binding.layout.name) == ('nv12', 'rdk')
        reference, simulated = fp32(scene), int8(scene)
    assert len(reference) == len(simulated) == len(SQUARES)
    for name, x, y, side in SQUARES:
        centre = np.array([x + side / 2, y + side / 2])
        (i,) = [k for k in range(len(simulated))
                if np.abs(simulated.xyxy[k].reshape(2, 2).mean(0) - centre).max() < 2.0]
        (j,) = [k for k in range(len(reference))
                if np.abs(reference.xyxy[k].reshape(2, 2).mean(0) - centre).max() < 2.0]
        assert simulated.names[i] == reference.names[j] == name
        # the box side grows with the cell's brightness (the NV12 range matters:
        # test_rdk_colour_range.py)
        assert iou(simulated.xyxy[i], reference.xyxy[j]) > 0.9


def test_the_bin_in_hbdk_sim_decodes_exactly_like_the_quantized_onnx(built, tmp_path):
    card = tmp_path / 'bin_card.yaml'
    card.write_text(f"name: bin\nfiles: {{rdk_sim: {built['bin']}}}\n"
                    'classes: [red, white]\n')
    scene = _scene()
    with load_model(built['card'], backend='rdk_sim') as onnx_engine, \
            load_model(str(card), backend='rdk_sim') as bin_engine:
        assert bin_engine.backend.engine == 'hbdk-sim'
        a, b = onnx_engine(scene), bin_engine(scene)
    assert len(a) == len(SQUARES)
    assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.confidence, b.confidence)
    assert np.array_equal(a.class_id, b.class_id)


def test_simulate_bin_outputs_equal_the_quantized_onnx_bit_for_bit(built):
    from horizon_tc_ui.hb_onnxruntime import HB_ONNXRuntime
    nv12 = runtime_nv12(_scene(), 320, 320, 114)
    session = HB_ONNXRuntime(model_file=built['quantized'])
    theirs = session.run(session.output_names, {'images': bpu_input(nv12, 320, 320)})
    ours = simulate_bin(built['bin'], nv12)
    assert len(ours) == len(theirs) == 6
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)


def test_an_nv12_frame_of_the_input_size_reaches_the_model_unconverted(built):
    nv12 = runtime_nv12(_scene(), 320, 320, 114)
    with load_model(built['card'], backend='rdk_sim') as model:
        seen = []
        infer = model.backend.infer
        model.backend.infer = lambda tensor: seen.append(tensor) or infer(tensor)
        frame_result = model(Nv12Frame(nv12, 320, 320))
        assert seen[0] is nv12 or np.shares_memory(seen[0], nv12)
    assert len(frame_result) == len(SQUARES)


def test_the_bpu_reads_nv12_as_full_range_bt601(built):
    """
    Show that the compiled model reads NV12 as full-range BT.601 (HzPreprocess).

    Its first node decodes YUV_BT601_FULL_RANGE (hb_mapper's default input_space_and_range,
    regular): int8 scores follow fp32 on the full-range decode of the NV12 frame and differ
    from its video-range decode (OpenCV's BGR -> I420, the vendor demos' NV12), which is why
    the runtime converts BGR frames in the range the card records (full here).
    """
    import onnxruntime
    from horizon_tc_ui.hb_onnxruntime import HB_ONNXRuntime
    nv12 = runtime_nv12(_scene(), 320, 320, 114)
    yuv = bpu_input(nv12, 320, 320)[0].astype(np.float64)
    y, u, v = yuv[..., 0] + 128, yuv[..., 1], yuv[..., 2]
    full = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], -1)
    video = np.stack([1.164 * (y - 16) + 1.596 * v, 1.164 * (y - 16) - 0.392 * u - 0.813 * v,
                      1.164 * (y - 16) + 2.017 * u], -1)
    fp32 = onnxruntime.InferenceSession(built['onnx'], providers=['CPUExecutionProvider'])

    def best_scores(rgb):
        feed = (rgb / 255).transpose(2, 0, 1)[None].astype(np.float32)
        outs = fp32.run(None, {'images': feed})
        return np.array([1 / (1 + np.exp(-outs[i].max())) for i in (0, 2, 4)])

    session = HB_ONNXRuntime(model_file=built['quantized'])
    int8 = session.run(session.output_names, {'images': bpu_input(nv12, 320, 320)})
    int8_scores = np.array([1 / (1 + np.exp(-int8[i].max())) for i in (0, 2, 4)])
    assert np.abs(int8_scores - best_scores(full)).max() < 0.03
    assert np.abs(best_scores(video) - best_scores(full)).min() > 0.15


def test_rdk_sim_refuses_a_float_model(built):
    with pytest.raises(ModelLoadError, match='not a quantized RDK model'):
        from edge_perception.backends.rdk_sim_backend import RdkSimulatorBackend
        RdkSimulatorBackend(built['onnx'])


def test_an_opset_above_11_is_refused_before_the_checker_runs(tmp_path):
    path = write_rdk_square_model(tmp_path / 'sq13.onnx')
    model = onnx.load(path)
    model.opset_import[0].version = 13
    onnx.save(model, path)
    from edge_perception.tools.convert import convert
    with pytest.raises(ConfigError, match='opset 13; hb_mapper takes opset <= 11'):
        convert(path, 'rdk_x5', calibration=[_scene()], optimize='O0')
    assert not (tmp_path / 'sq13_x5_hb').exists()


def test_the_runtime_never_imports_the_toolchain_at_import_time():
    code = ('import sys, edge_perception, edge_perception.model, edge_perception.backends, '
            'edge_perception.backends.rdk_sim_backend, edge_perception.tools.convert, '
            'edge_perception.tools.verify, edge_perception.tools.rdk_convert, '
            'edge_perception.backends.rdk_sim_io, edge_perception.cli\n'
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('horizon_tc_ui', 'horizon_nn', 'hmct', 'hbdk', 'torch'))\n"
            'assert not bad, bad')
    subprocess.run([sys.executable, '-c', code], check=True)
