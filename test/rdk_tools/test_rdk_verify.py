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
``verify --target rdk_x5`` and ``report`` on a real RDK build (conftest ``built``).

fp32 ONNX Runtime against the quantized ONNX (HB_ONNXRuntime), then the .bin in hbdk-sim
against the quantized ONNX; a quantized ONNX that does not belong to its .bin must be caught.
Outputs are paired by name: a build with ``optimization: bias_correction``, whose outputs
hb_mapper lists in another order than the float ONNX, verifies as the plain build does.
"""

import json
import os
import shutil

from edge_perception.backends.rdk_sim_io import read_bin
from edge_perception.tools.verify import verify
import numpy as np
import onnx
from onnx import numpy_helper
import pytest

from .cli_helpers import run_cli, write_scenes
from .rdk_models import random_scenes, write_rdk_square_model


def test_verify_a_built_bin_and_report_it(built, tmp_path):
    images = write_scenes(tmp_path / 'val', random_scenes(3, seed=50))
    result = tmp_path / 'x5.json'
    status, out = run_cli('verify', built['onnx'], '--bin', built['bin'], '--images', images,
                          '--json', result)
    assert status == 0, out
    assert 'int8 rdk_x5' in out and '.bin in hbdk-sim vs quantized ONNX on 1 image(s): ' \
        'bit-exact' in out and 'verdict: usable' in out
    with open(result, encoding='utf-8') as f:
        data = json.load(f)
    assert data['usable'] and data['bin_check']['bit_exact']
    assert data['bin_check']['march'] == 'bayes-e' and data['bin_file'] == built['bin']
    assert data['agreement']['agreement'] == 1.0 and data['agreement']['reference'] >= 9
    assert [o['name'] for o in data['outputs']] == ['cls8', 'box8', 'cls16', 'box16', 'cls32',
                                                    'box32']
    assert min(o['cosine_min'] for o in data['outputs']) > 0.99
    assert data['size_bytes'] == os.path.getsize(built['bin'])
    status, out = run_cli('report', result, '-o', tmp_path / 'report.md')
    assert status == 0, out
    rows = [line for line in (tmp_path / 'report.md').read_text().splitlines()
            if line.startswith('| rdk_square')]
    assert len(rows) == 1 and '| rdk_x5 |' in rows[0] and '.bin bit-exact' in rows[0]


def test_verify_builds_the_bin_itself_when_none_is_given(built, tmp_path):
    images = write_scenes(tmp_path / 'val', random_scenes(2, seed=60))
    result = verify(built['onnx'], images, target='rdk_x5', calibration=random_scenes(6),
                    progress=False)
    assert result.usable and result.bin_check['bit_exact'] and result.build_seconds > 0
    assert result.bin_file is None and result.target == 'rdk_x5'


def test_a_quantized_onnx_that_is_not_the_bins_is_flagged(built, tmp_path):
    """Copy the .bin beside its quantized ONNX with one output scale changed by 1 %."""
    shutil.copy(built['bin'], tmp_path / 'other.bin')
    model = onnx.load(built['quantized'])
    scales = [t for t in model.graph.initializer if 'scale' in t.name.lower()
              and t.data_type == onnx.TensorProto.FLOAT]
    dequantize = {n.input[1] for n in model.graph.node if n.op_type == 'HzDequantize'}
    (target,) = [t for t in scales if t.name in dequantize][:1]
    target.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(target) * np.float32(1.01),
                                            target.name))
    onnx.save(model, str(tmp_path / 'other_quantized_model.onnx'))
    images = write_scenes(tmp_path / 'val', random_scenes(1, seed=70))
    status, out = run_cli('verify', built['onnx'], '--bin', tmp_path / 'other.bin', '--images',
                          images)
    assert status == 1, out
    assert 'DIFFERENT' in out and 'ERROR bin_mismatch' in out and 'UNUSABLE' in out


def test_verify_per_layer_reports_the_mappers_per_node_table(built, tmp_path):
    """--per-layer: makertbin's own per-node cosines, in the text, the JSON and the report."""
    from edge_perception.tools.rdk_layers import analysis
    images = write_scenes(tmp_path / 'val', random_scenes(1, seed=80))
    result = tmp_path / 'x5.json'
    status, out = run_cli('verify', built['onnx'], '--bin', built['bin'], '--images', images,
                          '--per-layer', '--json', result)
    assert status == 0, out
    log = analysis(str(built['hb'] / 'hb_mapper_makertbin.log'))
    with open(result, encoding='utf-8') as f:
        data = json.load(f)
    assert data['layer_analysis']['nodes'] == log['nodes'] and len(log['nodes']) == 11
    worst = min(log['nodes'], key=lambda n: n['cosine'])
    assert 'Worst 10 of 11 nodes' in out and f'`{worst["node"]}`' in out
    status, out = run_cli('report', result, '-o', tmp_path / 'report.md')
    assert status == 0, out
    text = (tmp_path / 'report.md').read_text()
    assert '## RDK: per-node precision loss (hb_mapper makertbin)' in text
    assert f'| `{worst["node"]}` |' in text and (tmp_path / 'report_rdk_nodes.png').is_file()


def test_the_ulp_distance_counts_float32_steps_across_zero():
    """np.nextafter is the oracle: one step is 1 ulp, also from -0.0 to the smallest +x."""
    from edge_perception.tools.rdk_verify import _ulp_distance
    x = np.array([29.303421, -3.5, 0.0, 1e-30], np.float32)
    up = np.nextafter(x, np.float32(np.inf))
    assert _ulp_distance(x, x) == 0 and _ulp_distance(x, up) == 1
    two = np.nextafter(up, np.float32(np.inf))
    assert _ulp_distance(x, two) == 2
    tiny = np.nextafter(np.float32(0), np.float32(1))
    assert _ulp_distance(np.array([-0.0], np.float32), np.array([tiny], np.float32)) == 1
    assert _ulp_distance(x, x * np.float32(1.01)) > 1000


def _float_onnx_renamed(source, path, names):
    """Write the float ONNX with its graph outputs renamed to ``names`` (order kept)."""
    model = onnx.load(source)
    for output, name in zip(model.graph.output, names):
        for node in model.graph.node:
            node.output[:] = [name if o == output.name else o for o in node.output]
        output.name = name
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _verify_json(onnx_path, built, images, path):
    """Run the verify CLI on ``built['bin']``; return (status, output, its JSON or None)."""
    status, out = run_cli('verify', onnx_path, '--bin', built['bin'], '--images', images,
                          '--json', path)
    if not os.path.isfile(path):
        return status, out, None
    with open(path, encoding='utf-8') as f:
        return status, out, json.load(f)


@pytest.fixture(scope='module')
def built_bias_correction(tmp_path_factory):
    """Build the square detector with ``optimization: bias_correction`` (outputs reordered)."""
    from edge_perception.tools.rdk_convert import convert_rdk_toolchain
    folder = tmp_path_factory.mktemp('rdk_bias_correction')
    model = write_rdk_square_model(folder / 'rdk_square.onnx')
    result = convert_rdk_toolchain(model, 'rdk_x5', random_scenes(6), optimize='O0',
                                   optimization='bias_correction')
    return {'onnx': model, 'bin': result.output, 'quantized': result.info['quantized_onnx']}


def _float_onnx_reordered(source, path, names):
    """Write the float ONNX with its graph outputs listed in the order ``names``."""
    model = onnx.load(source)
    by_name = {o.name: o for o in model.graph.output}
    outputs = [by_name[name] for name in names]
    del model.graph.output[:]
    model.graph.output.extend(outputs)
    onnx.save(model, str(path))
    return str(path)


def test_outputs_are_paired_by_name_when_the_mapper_reorders_them(built_bias_correction, tmp_path):
    # bias_correction usually reorders the build's outputs, but not on every run: the float
    # model verified lists them in the reverse of the build's order, so the orders always differ
    paths = built_bias_correction
    built_names = [o.name for o in onnx.load(paths['quantized']).graph.output]
    assert sorted(built_names) == sorted(o.name for o in onnx.load(paths['onnx']).graph.output)
    assert [o['name'] for o in read_bin(paths['bin'])['outputs']] == built_names
    exported = [o.name for o in onnx.load(paths['onnx']).graph.output]
    float_names = exported if exported != built_names else exported[::-1]
    float_onnx = _float_onnx_reordered(paths['onnx'], tmp_path / 'rdk_square.onnx', float_names)
    images = write_scenes(tmp_path / 'val', random_scenes(2, seed=90))
    status, out, data = _verify_json(float_onnx, paths, images, tmp_path / 'x5.json')
    assert status == 0, out
    assert [o['name'] for o in data['outputs']] == float_names
    shapes = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim]
              for o in onnx.load(paths['onnx']).graph.output}
    for o in data['outputs']:
        assert o['cosine_min'] is not None and o['cosine_min'] > 0.99, o
        assert o['shape'] == shapes[o['name']]
    assert data['agreement']['agreement'] == 1.0 and data['agreement']['reference'] >= 2
    assert data['bin_check']['bit_exact'] and 'outputs_by_position' not in out


def test_outputs_named_otherwise_are_paired_by_position_with_a_warning(built, tmp_path):
    images = write_scenes(tmp_path / 'val', random_scenes(1, seed=91))
    renamed = _float_onnx_renamed(built['onnx'], tmp_path / 'renamed.onnx',
                                  [f'out{i}' for i in range(6)])
    status, out, data = _verify_json(renamed, built, images, tmp_path / 'renamed.json')
    assert status == 0, out
    assert 'WARN outputs_by_position' in out and 'cls8, box8, cls16' in out
    assert all(o['cosine_min'] > 0.99 for o in data['outputs'])
