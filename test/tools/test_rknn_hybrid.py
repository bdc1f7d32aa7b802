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
Per-layer analysis and hybrid int8 with the real rknn-toolkit2 (tools environment).

The model is the generated square detector (split_head.py, 320x320, rknn split head),
calibrated on scenes whose squares are all at strides 8 and 16, then verified on scenes with
squares at every stride: int8 clips the stride-32 score_sum to the range the calibration saw,
and the stride-32 squares are lost. That failure is shown by the outside oracle (ONNX Runtime
fp32 on the same pictures), the toolkit's accuracy_analysis must point at the stride-32
layers, and ``--hybrid auto`` must choose layers (by the toolkit's own names) that give the
fp32 detections back within the 10 % float16 budget.
"""

import ast
import contextlib
import glob
import io
import json
import os
import re
import subprocess
import sys
import tempfile

import cv2
from edge_perception.cli import main
from edge_perception.errors import ConfigError
from edge_perception.tools import rknn_build, rknn_hybrid, verify
import numpy as np
import pytest

from .split_head import SQUARE_CLASSES, SQUARE_INPUT_SIZE, square_scene, write_square_model

pytest.importorskip('rknn.api', reason='needs rknn-toolkit2: run in .venv-tools '
                                       '(bash scripts/setup_tools_env.sh)')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STRIDE32 = ('logit32', 'cls32', 'cls32_int8', 'total32', 'sum32', 'sum32_int8')


def _scenes(folder, count, strides, seed):
    rng = np.random.default_rng(seed)
    os.makedirs(folder)
    for i in range(count):
        squares = []
        for stride in strides:
            side = 2 * stride
            cells = 2 * SQUARE_INPUT_SIZE // side
            for name in SQUARE_CLASSES:
                x, y = rng.integers(1, cells - 1, 2) * side
                squares.append((name, int(x), int(y), side))
        assert cv2.imwrite(os.path.join(folder, f'scene{i}.png'),
                           square_scene(squares, seed=seed + i))
    return folder


def _run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([str(a) for a in argv])
    return status, out.getvalue()


def _dumps():
    return glob.glob(os.path.join(tempfile.gettempdir(), 'edge_perception-accuracy-*'))


@pytest.fixture(scope='module')
def squares(tmp_path_factory):
    folder = tmp_path_factory.mktemp('hybrid')
    return {'model': write_square_model(folder / 'squares.onnx'), 'folder': folder,
            'calib': _scenes(str(folder / 'calib'), 6, (8, 16), 3),
            'val': _scenes(str(folder / 'val'), 3, (8, 16, 32), 100)}


@pytest.fixture(scope='module')
def plain(squares):
    before = set(_dumps())
    result = verify.verify(squares['model'], squares['val'], calibration=squares['calib'],
                           per_layer=True, progress=False)
    return result, set(_dumps()) - before


@pytest.fixture(scope='module')
def auto(squares):
    return verify.verify(squares['model'], squares['val'], calibration=squares['calib'],
                         hybrid='auto', progress=False)


def _cosines(result):
    return {o['name']: o['cosine_mean'] for o in result.outputs}


def test_int8_loses_the_uncalibrated_stride(plain):
    """Against ONNX Runtime fp32: only the stride-32 score_sum breaks, its squares are lost."""
    result, _ = plain
    cosines = _cosines(result)
    assert cosines['sum32'] < 0.9
    assert all(c >= 0.99 for name, c in cosines.items() if name != 'sum32'), cosines
    a = result.agreement
    assert a['reference'] >= 12         # 6 squares a scene; fp32 finds (nearly) all
    assert a['missed'] >= 3 and a['extra'] == 0, a


def test_per_layer_analysis_points_at_the_stride32_layers(plain):
    """accuracy_analysis: entire/single cosine per toolkit layer; the worst is stride 32."""
    result, leftover = plain
    layers = result.layer_analysis['layers']
    names = [row['name'] for row in layers]
    assert len(layers) >= 25 and 'images' in names and 'sum32_int8' in names
    measured = [row for row in layers if row['single_cos'] is not None]
    assert len(measured) >= 20
    assert all(0.0 <= row['entire_cos'] <= 1.0 for row in measured)
    worst = sorted(measured, key=lambda row: row['single_cos'])[:2]
    assert {row['name'] for row in worst} <= set(STRIDE32), worst
    assert worst[0]['single_cos'] < 0.9
    good = [row for row in measured if row['name'] not in STRIDE32]
    assert min(row['single_cos'] for row in good) > 0.99
    assert not leftover, f'accuracy_analysis dumps left behind: {leftover}'
    assert 'Worst 10 of' in result.summary() and '`sum32_int8`' in result.summary()


def test_hybrid_auto_gets_the_fp32_detections_back(auto, plain):
    """--hybrid auto: the fp32 detections (5/5 of 5 there), min cosine >= 0.99, <= 10 %."""
    a = auto.agreement
    assert a['missed'] == 0 and a['extra'] == 0 and a['matched'] == a['reference'], a
    assert a['reference'] == plain[0].agreement['reference']
    assert rknn_hybrid.min_cosine(auto) >= 0.99, _cosines(auto)
    assert 0 < auto.float16_share <= rknn_hybrid.MAX_SHARE
    assert set(auto.hybrid_layers) <= set(STRIDE32), auto.hybrid_layers
    search = auto.hybrid_search
    assert search['target_met'] and search['stopped'] == 'target met'
    steps = search['steps']
    assert steps[0]['min_cosine'] < 0.9 and steps[-1]['kept']
    assert steps[-1]['min_cosine'] >= 0.99


def test_hybrid_auto_tries_every_failing_head_at_once(squares):
    """
    Two broken heads: the search's first step is the last layers of both together.

    Calibrated on stride-16 squares only, the stride-8 and stride-32 heads break; the step
    with both heads' last layers is kept and the search gets the fp32 detections back. Two
    heads are 12 of this small model's ~30 int8 layers, so the budget here is 50 %.
    """
    calib = _scenes(str(squares['folder'] / 'calib16'), 6, (16,), 5)
    backend, extra = rknn_build.simulated_build(
        squares['model'], 'rk3588', 'int8', calib, 'normal', 'channel', 'auto',
        images=squares['val'], log=lambda _: None, max_share=0.5)
    try:
        result = verify.verify(squares['model'], squares['val'], backend=backend,
                               progress=False)
    finally:
        backend.close()
    steps = extra['hybrid_search']['steps']
    assert steps[0]['min_cosine'] < 0.9 and steps[0]['matched'] < steps[0]['reference'], steps
    both = re.match(r'head layers of the (\d+) outputs below 0.99$', steps[1]['step'])
    assert both and int(both.group(1)) >= 2 and steps[1]['kept'], steps[:3]
    assert {'sum8', 'sum32'} <= set(steps[1]['added']), steps[1]
    assert extra['hybrid_search']['target_met'], steps
    a = result.agreement
    assert a['missed'] == 0 and a['extra'] == 0 and a['matched'] == a['reference'] >= 12
    assert rknn_hybrid.min_cosine(result) >= 0.99


def test_hybrid_layers_are_the_toolkits_own_names(squares, auto):
    """The chosen names are entries of hybrid_quantization_step1's .quantization.cfg."""
    session = rknn_hybrid.HybridSession(squares['model'], 'rk3588', squares['calib'])
    try:
        assert set(auto.hybrid_layers) <= set(session.names)
        assert 'sum32_int8' in session.int8 and 'images' not in session.names
        with pytest.raises(ConfigError, match='not in squares.quantization.cfg'):
            session.backend(['no_such_layer'])
    finally:
        session.close()
    assert not os.path.exists(session.workdir)


def test_float16_layers_are_written_in_the_order_step2_accepts(squares):
    """
    The stride-32 head in float16 builds whatever order the names come in.

    rknn-toolkit2 2.5.0 reads custom_quantize_layers in order: these six tensors in the cfg's
    own order (the ``_int8`` twins last) make its compiler end the process ("Conv bias scale
    (total32_2conv_i1_bias_0) is empty"); each twin right after its tensor builds.
    """
    session = rknn_hybrid.HybridSession(squares['model'], 'rk3588', squares['calib'])
    try:
        head = [n for n in session.names if n in STRIDE32]
        assert head[-2:] == ['cls32_int8', 'sum32_int8'], head     # the cfg's order
        assert rknn_hybrid.toolkit_order(head, session.names) == [
            'logit32', 'cls32', 'cls32_int8', 'total32', 'sum32', 'sum32_int8']
        for layers in (head, head[::-1]):
            assert session.probe(layers) is None, layers
    finally:
        session.close()


def test_convert_explicit_layers_then_verify_the_file(squares, auto, tmp_path):
    """Convert --hybrid LAYER,... writes FILE and its settings; verify --rknn FILE checks it."""
    rknn = tmp_path / 'squares_rk3588.rknn'
    status, out = _run('convert', squares['model'], '--target', 'rk3588', '--calib',
                       squares['calib'], '--hybrid', ','.join(auto.hybrid_layers), '-o', rknn)
    assert status == 0 and 'hybrid: ' in out, out
    settings = json.loads((tmp_path / 'squares_rk3588.rknn.build.json').read_text())
    assert settings['hybrid_layers'] == auto.hybrid_layers
    status, out = _run('verify', squares['model'], '--rknn', rknn, '--images', squares['val'],
                       '--json', tmp_path / 'file.json')
    assert status == 0, out
    assert 'simulator cannot run a prebuilt .rknn' in out and '-> the same build' in out, out
    result = json.loads((tmp_path / 'file.json').read_text())
    check = result['rknn_check']
    assert check['same_build'] and all(check['header_equal'].values()), json.dumps(check)
    a = result['agreement']
    assert a['missed'] == 0 and a['extra'] == 0 and a['matched'] >= 12
    # without its settings verify can only rebuild a plain int8 model: it says FILE is not it
    os.remove(tmp_path / 'squares_rk3588.rknn.build.json')
    status, out = _run('verify', squares['model'], '--rknn', rknn, '--images', squares['val'],
                       '--calib', squares['calib'], '--json', tmp_path / 'plain.json')
    result = json.loads((tmp_path / 'plain.json').read_text())
    assert not result['rknn_check']['same_build'], result['rknn_check']
    assert 'rknn_not_rebuilt' in {f['code'] for f in result['flags']}
    assert 'NOT the same build' in out


def test_report_shows_the_precision_table_and_layers(plain, auto, tmp_path):
    plain[0].write(str(tmp_path / 'int8.json'))
    auto.write(str(tmp_path / 'hybrid.json'))
    status, _ = _run('report', tmp_path / 'int8.json', tmp_path / 'hybrid.json', '-o',
                     tmp_path / 'report.md')
    assert status == 0
    text = (tmp_path / 'report.md').read_text()
    assert '## RKNN: precision loss and timings' in text
    rows = [line for line in text.splitlines() if line.startswith('| int8 normal')]
    assert len(rows) == 2 and '(sum32)' in rows[0] and '+ hybrid (auto)' in rows[1]
    assert all('| calib (6) |' in row for row in rows), rows    # the 6 calibration scenes
    assert 'automatic search (target met)' in text and '`sum32_int8`' in text
    picture = cv2.imread(str(tmp_path / 'report_layers.png'))
    assert picture is not None and picture.shape[1] >= 1000


def test_simulator_cannot_run_a_prebuilt_rknn(squares, tmp_path):
    """The fact verify --rknn states: load_rknn + init_runtime() without a target fails."""
    from rknn.api import RKNN
    backend = rknn_build._plain(squares['model'], 'rk3588', 'fp16', None, 'normal', 'channel')
    try:
        path = backend.export(str(tmp_path / 'fp16.rknn'))
    finally:
        backend.close()
    rknn = RKNN(verbose=False)
    try:
        assert rknn.load_rknn(path) == 0
        assert rknn.init_runtime() == -1, 'the simulator runs a loaded .rknn now: verify FILE'
    finally:
        rknn.release()


def test_runtime_package_never_imports_the_toolchain():
    """No runtime module imports edge_perception.tools (at import time or at module level)."""
    code = ('import sys\nimport edge_perception, edge_perception.model, '
            'edge_perception.image_sets\nimport edge_perception.backends.rknn_sim_backend\n'
            "bad = sorted(m for m in sys.modules if m.startswith('edge_perception.tools'))\n"
            'print(bad)\nsys.exit(1 if bad else 0)\n')
    done = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    package = os.path.join(ROOT, 'edge_perception')
    offenders = []
    for folder, _, files in os.walk(package):
        if os.path.basename(folder) == 'tools':
            continue
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read())
            for node in tree.body:          # module level: what importing the module runs
                if isinstance(node, ast.ImportFrom) and 'tools' in (node.module or '').split('.'):
                    offenders.append(f'{os.path.relpath(path, ROOT)}:{node.lineno}')
    assert not offenders, offenders


def test_hybrid_split_is_refused_for_rknn_targets(squares, capsys):
    """`--hybrid split` (RDK's weight split) on an RKNN target: one line naming the RDK targets."""
    from edge_perception import cli
    assert cli.main(['convert', squares['model'], '--target', 'rk3588', '--hybrid', 'split',
                     '--calib', squares['calib']]) == 2
    err = capsys.readouterr().err
    assert '--hybrid split is for RDK targets' in err and 'rk3588' in err, err
