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
Split convolution weights (``rdk_weight_split``), held to ONNX Runtime and to hb_mapper itself.

The square detector with seeded noise on its weights (so that they are off the int8 grid) is
built at O0 as it is and split. The split model must compute what the model computes (ONNX
Runtime on both), and the weights the mapper quantizes for the BPU (its int8 integers in the
quantized ONNX times its per-channel scales in the calibrated ONNX) must add up to the float
weights far more closely than the plain build's do.
"""

from edge_perception.preprocess import InputSpec, preprocess
from edge_perception.tools.rdk_convert import convert_rdk_toolchain
from edge_perception.tools.rdk_layers import analysis
from edge_perception.tools.rdk_weight_split import split_conv_weights, split_precision
import numpy as np
import onnx
from onnx import numpy_helper
import onnxruntime as ort
import pytest

from .rdk_models import random_scenes


def _noisy_square_model(path, seed=3):
    """Write the square detector with seeded noise on its conv weights (off the int8 grid)."""
    from .rdk_models import write_rdk_square_model
    write_rdk_square_model(path)
    model = onnx.load(str(path))
    rng = np.random.default_rng(seed)
    for tensor in model.graph.initializer:
        if tensor.name in ('box_w', 'cls_w'):
            w = numpy_helper.to_array(tensor)
            noisy = w * (1 + 0.2 * rng.standard_normal(w.shape))
            tensor.CopyFrom(numpy_helper.from_array(noisy.astype(np.float32), tensor.name))
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope='module')
def builds(tmp_path_factory):
    """Build the noisy square detector at O0 as it is and with every conv split (int16)."""
    folder = tmp_path_factory.mktemp('rdk_split')
    (folder / 'plain').mkdir()
    model = _noisy_square_model(folder / 'plain' / 'rdk_square.onnx')
    convert_rdk_toolchain(model, 'rdk_x5', random_scenes(6), optimize='O0')
    (folder / 'split').mkdir()
    halves = str(folder / 'split' / 'rdk_square.onnx')
    split = split_conv_weights(model, halves)
    convert_rdk_toolchain(halves, 'rdk_x5', random_scenes(6), optimize='O0',
                          node_precision=split_precision({}, split))
    return {'plain': (model, folder / 'plain' / 'rdk_square_x5_hb'),
            'split': (halves, folder / 'split' / 'rdk_square_x5_hb'), 'nodes': split}


def test_the_split_model_computes_what_the_model_does(builds):
    assert builds['nodes'] == ['Conv_1', 'Conv_2', 'Conv_6', 'Conv_7', 'Conv_11', 'Conv_12']
    spec = InputSpec(height=320, width=320, layout='nchw', dtype='float32')
    plain = ort.InferenceSession(builds['plain'][0])
    halves = ort.InferenceSession(builds['split'][0])
    for scene in random_scenes(3, seed=5):
        x, _ = preprocess(scene, spec)
        for a, b in zip(plain.run(None, {'images': x}), halves.run(None, {'images': x})):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-4)


def _bpu_weights(folder, prefix, conv, tensor):
    """Return the weights the mapper gives ``conv``: its int8 integers times its scales."""
    quantized = onnx.load(str(folder / f'{prefix}_quantized_model.onnx'))
    calibrated = onnx.load(str(folder / f'{prefix}_calibrated_model.onnx'))
    integers = {t.name: numpy_helper.to_array(t) for t in quantized.graph.initializer}
    (name,) = [n.input[1] for n in quantized.graph.node if n.name == conv]
    (node,) = [n for n in calibrated.graph.node
               if n.op_type == 'HzCalibration' and n.input[0] == tensor]
    scales = np.array(next(onnx.helper.get_attribute_value(a) for a in node.attribute
                           if a.name == 'scales'))
    values = integers[name].astype(np.float64).transpose(0, 3, 1, 2)     # NHWC on the BPU
    return values * scales.reshape(-1, 1, 1, 1)


def test_the_mapper_keeps_the_split_weights_far_more_exactly(builds):
    (model, plain_folder), (_, folder) = builds['plain'], builds['split']
    table = {n['node']: n for n in analysis(str(folder / 'hb_mapper_makertbin.log'))['nodes']}
    assert all(table[c + part]['dtype'] == 'int16' and table[c + part]['on'] == 'BPU'
               for c in builds['nodes'] for part in ('_hi', '_lo'))
    source = {t.name: numpy_helper.to_array(t).astype(np.float64)
              for t in onnx.load(model).graph.initializer}
    prefix = 'rdk_square_x5'
    for conv, weights in (('Conv_1', 'box_w'), ('Conv_2', 'cls_w'), ('Conv_12', 'cls_w')):
        w = source[weights]
        plain = _bpu_weights(plain_folder, prefix, conv, f'{weights}_{conv}')
        halves = (_bpu_weights(folder, prefix, conv + '_hi', f'{conv}_hi_w')
                  + _bpu_weights(folder, prefix, conv + '_lo', f'{conv}_lo_w'))
        plain_error, split_error = np.abs(plain - w).max(), np.abs(halves - w).max()
        assert plain_error > 1e-4 and split_error < plain_error / 50, (conv, plain_error,
                                                                       split_error)
