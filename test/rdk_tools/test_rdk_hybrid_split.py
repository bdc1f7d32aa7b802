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
``convert --target rdk_x5 --hybrid split`` through the CLI at O0, held to hb_mapper's own files.

The square detector gets a 1x1 colour-mixing convolution (named ``mix<stride>``, weights near
the identity with seeded noise, off the int8 grid) between each pooling and its two head
convolutions, so it has convolutions that are not the head's last ones. The split build must
split exactly those three (the quantized ONNX hb_mapper writes has their ``_hi``/``_lo`` convs
and ``_add`` and no longer the conv itself), makertbin's own table must show every split pair
int16 on the BPU, the ``.bin`` run in hbdk-sim must equal that quantized ONNX (bit for bit or
within the 1 ulp ``verify`` allows int16 builds), and its cosine to fp32 must be no worse than a
plain int8 build's of the same model on the same pictures.
"""

import json
import os

from edge_perception.tools import rdk_hybrid
from edge_perception.tools.rdk_convert import convert_rdk_toolchain
from edge_perception.tools.rdk_layers import analysis
from edge_perception.tools.rdk_verify import verify_rdk
import numpy as np
import onnx
from onnx import helper, numpy_helper
import pytest
import yaml

from .cli_helpers import run_cli, write_scenes
from .rdk_models import random_scenes, write_rdk_square_model

MIXERS = ('mix8', 'mix16', 'mix32')


def _write_mixed_model(path, seed=11):
    """Write the square detector with a named 1x1 mixing conv after each pooling."""
    write_rdk_square_model(path)
    model = onnx.load(str(path))
    rng = np.random.default_rng(seed)
    nodes = []
    for node in model.graph.node:
        if node.op_type == 'Conv':
            node.input[0] = node.input[0].replace('pool', 'mixed')
        nodes.append(node)
        if node.op_type == 'AveragePool':
            stride = node.output[0][len('pool'):]
            weights = np.eye(3) * (1 + 0.1 * rng.standard_normal((3, 1))) \
                + 0.02 * rng.standard_normal((3, 3))
            name = f'mix{stride}'
            model.graph.initializer.extend([
                numpy_helper.from_array(weights.reshape(3, 3, 1, 1).astype(np.float32),
                                        name + '_w'),
                numpy_helper.from_array(np.full(3, 0.01, np.float32), name + '_b')])
            nodes.append(helper.make_node('Conv', [node.output[0], name + '_w', name + '_b'],
                                          [f'mixed{stride}'], name=name, kernel_shape=[1, 1]))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope='module')
def split_build(tmp_path_factory):
    """Run ``convert --hybrid split`` (CLI, O0); build the same model plain int8 beside it."""
    folder = tmp_path_factory.mktemp('rdk_hybrid_split')
    model = _write_mixed_model(folder / 'rdk_mixed.onnx')
    calib = write_scenes(folder / 'calib', random_scenes(6))
    val = write_scenes(folder / 'val', random_scenes(2, seed=9))
    status, out = run_cli('convert', model, '--target', 'rdk_x5', '--hybrid', 'split',
                          '--calib', calib, '--images', val, '--optimize', 'O0',
                          '-o', folder / 'hb')
    assert status == 0, out
    plain = convert_rdk_toolchain(model, 'rdk_x5', calib, output=str(folder / 'plain'),
                                  optimize='O0')
    return {'folder': folder, 'model': model, 'val': val, 'out': out, 'plain': plain.output,
            'hb': folder / 'hb', 'step': folder / 'hb' / 'step0'}


def test_the_split_build_splits_every_conv_but_the_heads(split_build):
    step, out = split_build['step'], split_build['out']
    assert 'hybrid step 0:' in out and 'MB, kept: explicit split' in out, out
    assert f'verify {split_build["model"]} --target rdk_x5' in out    # the float model
    quantized = onnx.load(str(step / 'rdk_mixed_x5_quantized_model.onnx'))
    types = {n.name: n.op_type for n in quantized.graph.node}
    for mixer in MIXERS:
        assert types[mixer + '_hi'] == types[mixer + '_lo'] == 'HzSQuantizedConv', types
        assert types[mixer + '_add'] == 'HzSElementwiseAdd' and mixer not in types
    heads = rdk_hybrid.head_convs(split_build['model'])
    assert len(heads) == 6 and all(h in types for h in heads)       # the heads stay one conv
    assert not [n for n in types if n.endswith('_hi') and n[:-3] not in MIXERS]


def test_the_mapper_runs_every_split_pair_in_int16(split_build):
    table = {n['node']: n for n in analysis(str(split_build['step'] /
                                                'hb_mapper_makertbin.log'))['nodes']}
    for mixer in MIXERS:
        for part in ('_hi', '_lo', '_add'):
            assert table[mixer + part]['on'] == 'BPU', table[mixer + part]
            assert table[mixer + part]['dtype'] == 'int16', table[mixer + part]
    plain = {n['node']: n for n in analysis(os.path.join(os.path.dirname(
        split_build['plain']), 'hb_mapper_makertbin.log'))['nodes']}
    assert all(plain[m]['dtype'] == 'int8' for m in MIXERS)          # int8 without --hybrid


def test_the_split_bin_is_its_quantized_onnx_and_no_worse_than_int8(split_build, tmp_path):
    result = tmp_path / 'split.json'
    status, out = run_cli('verify', split_build['model'], '--bin',
                          split_build['step'] / 'rdk_mixed_x5.bin', '--images',
                          split_build['val'], '--json', result)
    assert status == 0, out
    with open(result, encoding='utf-8') as f:
        data = json.load(f)
    check = data['bin_check']
    assert check['images'] == 1 and (check['bit_exact'] or check['max_ulp'] <= 1), check
    assert not [f for f in data['flags'] if f['code'] == 'bin_mismatch']
    plain = verify_rdk(split_build['model'], split_build['val'], 'rdk_x5',
                       bin_path=split_build['plain'], progress=False, bin_images=0)
    split = {o['name']: o['cosine_min'] for o in data['outputs']}
    int8 = {o['name']: o['cosine_min'] for o in plain.outputs}
    assert split.keys() == int8.keys() and all(split[k] >= int8[k] for k in int8), (split, int8)
    assert data['agreement']['matched'] >= plain.agreement['matched'] > 0


def test_the_card_names_the_split_build_and_the_float_model(split_build):
    hb = split_build['hb']
    with open(hb / 'rdk_mixed.yaml', encoding='utf-8') as f:
        files = yaml.safe_load(f)['files']
    assert files['rdk'] == 'step0/rdk_mixed_{soc}.bin'
    assert files['rdk_sim'] == 'step0/rdk_mixed_x5_quantized_model.onnx'
    assert files['onnxruntime'] == '../rdk_mixed.onnx'            # not hb/split/rdk_mixed.onnx
    assert (hb / 'split' / 'rdk_mixed.onnx').is_file()
    assert (hb / 'split' / 'hb_mapper_checker.log').is_file()


def test_auto_keeps_a_split_build_only_when_it_is_better():
    """The auto search's rule on step records (min cosine, detections missed/extra vs fp32)."""
    best = {'step': 3, 'min_cosine': 0.9975, 'missed': 0, 'extra': 1}
    verdict = rdk_hybrid._split_verdict
    assert verdict(dict(best, step=4, min_cosine=0.9991), best).startswith('kept: ')
    assert verdict(dict(best, step=4, min_cosine=0.9991, extra=0), best).startswith('kept: ')
    fewer = verdict(dict(best, step=4, min_cosine=0.9991, missed=1), best)
    assert fewer == 'not kept: detections vs fp32 worse (missed 1 > 0)'
    lower = verdict(dict(best, step=4, min_cosine=0.997), best)
    assert lower == 'not kept: min cosine 0.9970 vs 0.9975 (step 3) not higher'
