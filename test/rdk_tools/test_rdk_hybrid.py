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
RDK hybrid builds at O0 on the square detector: hb_mapper's own per-node table as the oracle.

``--hybrid auto`` with a bar the int8 build cannot reach (1.0) must run a second build in which
the head's last convolutions and the worst int8 nodes of the first build's makertbin table are
int16, which the second build's makertbin table then shows, and which still detects what fp32
detects. Explicit node names reach the mapper as given (a head conv on the CPU).
"""

import re

from edge_perception import load_model
from edge_perception.tools import rdk_hybrid, rdk_layers
from edge_perception.tools.rdk_layers import analysis, markdown_table, parse_nodes, plot
import pytest

from .cli_helpers import run_cli, write_scenes
from .rdk_models import random_scenes, square_scene

SQUARES = [('red', 64, 64, 16), ('white', 320, 320, 64), ('red', 448, 128, 32)]


@pytest.fixture(scope='module')
def square(tmp_path_factory):
    from .rdk_models import write_rdk_square_model
    folder = tmp_path_factory.mktemp('rdk_hybrid')
    model = write_rdk_square_model(folder / 'rdk_square.onnx')
    val = write_scenes(folder / 'val', random_scenes(2, seed=9))
    return folder, model, val


def test_the_head_convs_are_named_as_the_mapper_names_them(built):
    heads = rdk_hybrid.head_convs(built['onnx'])
    assert heads == ['Conv_2', 'Conv_1', 'Conv_7', 'Conv_6', 'Conv_12', 'Conv_11']
    names = {n['node'] for n in analysis(str(built['hb'] / 'hb_mapper_makertbin.log'))['nodes']}
    assert set(heads) <= names                # the mapper's own table has every one of them


def test_the_bpu_estimate_is_hbdks_own(built):
    """Read hbdk's summary JSON beside the .bin; the line makertbin logs is the oracle."""
    from edge_perception.tools.rdk_layers import bpu_estimate
    estimate = bpu_estimate(str(built['hb']))
    with open(built['hb'] / 'hb_mapper_makertbin.log', encoding='utf-8') as f:
        line = re.search(r'FPS=([\d.]+), latency = ([\d.]+) us, DDR = (\d+) bytes', f.read())
    assert estimate['subgraphs'] == 1 and estimate['fps'] == float(line.group(1))
    assert abs(estimate['latency_ms'] - float(line.group(2)) / 1000) < 0.01
    assert abs(estimate['ddr_mb'] - int(line.group(3)) / 2 ** 20) < 0.01
    assert bpu_estimate(str(built['folder'])) is None        # no compiler output there


def test_auto_adds_int16_nodes_the_mapper_then_reports(square, tmp_path):
    folder, model, val = square
    result, search = rdk_hybrid.hybrid_build(model, 'rdk_x5', random_scenes(6), val, 'auto',
                                             str(tmp_path / 'hb'), bar=1.0, rounds=1, step=0.2)
    assert [s['step'] for s in search['steps']] == [0, 1]
    first, second = search['steps']
    assert first['precision'] == {} and search['head_convs'][0] == 'Conv_2'
    chosen = second['precision']
    assert all(chosen[h] == 'int16_in' for h in search['head_convs'])
    worst = [n for n, kind in chosen.items() if kind == 'int16']
    assert len(worst) == 2                    # 20 % of the 11 nodes, the lowest cosine first
    before = analysis(str(tmp_path / 'hb' / 'step0' / 'hb_mapper_makertbin.log'))
    candidates = [n for n in before['nodes'] if n['type'] in rdk_hybrid.INT16_TYPES
                  and n['node'] not in search['head_convs']]
    assert set(worst) == {n['node'] for n in sorted(candidates, key=lambda n: n['cosine'])[:2]}
    after = analysis(str(tmp_path / 'hb' / 'step1' / 'hb_mapper_makertbin.log'))
    table = {n['node']: n for n in after['nodes']}
    assert all(table[h]['dtype'] == 'int16' for h in search['head_convs'])   # as the mapper says
    assert all(table[h]['dtype'] == 'int8' for h in search['head_convs']
               for table in [{n['node']: n for n in before['nodes']}])
    # the worst nodes are the pooling convs, whose int16 the mapper refuses (its warning)
    assert set(worst) <= set(after['refused']) and second['refused'] == after['refused']
    assert search['stopped'] == 'no further improvement or rounds exhausted'
    # still under the bar, but every conv of this model is a head conv: no split build
    assert search['split'].startswith('not tried') and len(search['steps']) == 2
    assert all(s['bpu_estimate']['latency_ms'] > 0 for s in search['steps'])
    assert second['wide_nodes'] == len(rdk_layers.wide_nodes(after)) > first['wide_nodes']
    assert result.info['hybrid_nodes'] == (chosen if second['kept'] else {})
    assert second['matched'] == second['reference'] > 0
    text = markdown_table(result.info['layer_analysis'])
    assert re.search(r'Worst 10 of 1\d nodes', text) and '| cls8 |' in text
    assert plot([result.info['layer_analysis']], ['hybrid'], str(tmp_path / 'l.png'))


def test_explicit_nodes_reach_the_mapper(square, tmp_path):
    folder, model, val = square
    result, search = rdk_hybrid.hybrid_build(model, 'rdk_x5', random_scenes(6), val,
                                             'Conv_1:int16,Conv_12:cpu',
                                             str(tmp_path / 'hb'))
    assert search['stopped'] == 'explicit nodes' and len(search['steps']) == 1
    log = str(tmp_path / 'hb' / 'step0' / 'hb_mapper_makertbin.log')
    table = {n['node']: n for n in analysis(log)['nodes']}
    assert table['Conv_1']['dtype'] == 'int16' and table['Conv_1']['on'] == 'BPU'
    assert table['Conv_12']['on'] == 'CPU'
    assert _mapper_calibration(log) == {'preprocess_on': 'False', 'calibration_type': 'default',
                                        'per_channel': 'True'}
    card = result.card
    with load_model(card, backend='onnxruntime') as fp32, \
            load_model(card, backend='rdk_sim') as int8:
        assert len(int8(square_scene(SQUARES))) == len(fp32(square_scene(SQUARES))) == 3


def _mapper_calibration(log_path):
    """Return the calibration parameters makertbin's log says it used (its summary)."""
    with open(log_path, encoding='utf-8') as f:
        text = re.sub(r'\x1b\[[0-9;]*m', '', f.read())
    block = re.search(r'calibration_parameters info #+\n(.*?)#####', text, re.S).group(1)
    return dict(re.findall(r'INFO (\w+):?\s*:\s*(\S+)\s*$', block, re.M))


def test_hybrid_builds_calibrate_with_the_algorithm_and_method_given(square, tmp_path):
    """``convert --hybrid ... --algorithm kl_divergence --method layer`` reaches the mapper."""
    folder, model, val = square
    status, out = run_cli('convert', model, '--target', 'rdk_x5', '--hybrid', 'Conv_1:int16',
                          '--calib', val, '--algorithm', 'kl_divergence', '--method', 'layer',
                          '-o', tmp_path / 'hb')
    assert status == 0, out
    used = _mapper_calibration(str(tmp_path / 'hb' / 'step0' / 'hb_mapper_makertbin.log'))
    assert used['calibration_type'] == 'kl' and used['per_channel'] == 'False', used


def test_the_node_table_parser_reads_a_makertbin_log():
    log = ('2026-12-01 09:30:23,029 INFO The main quantized node information:\n' + '=' * 40 +
           '\nNode   ON   Subgraph  Type   Cosine Similarity  Threshold  DataType\n' + '-' * 40 +
           '\nConv_1   BPU  id(0)  HzSQuantizedConv  0.999  1.0  int16\n'
           'Conv_2   CPU  --  Conv  1.000000  --  float\n'
           '2026-12-01 09:30:23,048 INFO The quantized model output:\n')
    nodes = parse_nodes(log)
    assert [(n['node'], n['on'], n['dtype'], n['cosine']) for n in nodes] == \
        [('Conv_1', 'BPU', 'int16', 0.999), ('Conv_2', 'CPU', 'float', 1.0)]
    assert rdk_hybrid.parse_nodes('a, b:cpu,c:int16_in') == \
        {'a': 'int16', 'b': 'cpu', 'c': 'int16_in'}
