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
Build ``tiny_conv_rk3588_int8.rknn`` (test data) with the real rknn-toolkit2.

Run with the toolchain venv: ``.venv-tools/bin/python test/data/make_tiny_rknn.py OUTDIR``.
A seeded two-convolution ONNX graph (input 1x3x32x32, outputs 1x2x32x32 and 1x4x16x16) is
quantised to int8 for rk3588 on four seeded random images and exported; the file is ~42 kB.
"""

import os
import sys

import numpy as np


def build(outdir: str) -> str:
    """Write the ONNX graph, the calibration images and the .rknn into ``outdir``."""
    import cv2
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    from rknn.api import RKNN

    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ('W', rng.standard_normal((4, 3, 3, 3)) * 0.2), ('B', rng.standard_normal(4) * 0.1),
        ('W2', rng.standard_normal((2, 4, 1, 1)) * 0.3))]
    nodes = [helper.make_node('Conv', ['images', 'W', 'B'], ['c1'], pads=[1, 1, 1, 1]),
             helper.make_node('Relu', ['c1'], ['r1']),
             helper.make_node('Conv', ['r1', 'W2'], ['c2']),
             helper.make_node('Sigmoid', ['c2'], ['out0']),
             helper.make_node('MaxPool', ['r1'], ['out1'], kernel_shape=[2, 2], strides=[2, 2])]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes, 'tiny', [value('images', TensorProto.FLOAT, [1, 3, 32, 32])],
        [value('out0', TensorProto.FLOAT, [1, 2, 32, 32]),
         value('out1', TensorProto.FLOAT, [1, 4, 16, 16])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 12)])
    model.ir_version = 7
    os.makedirs(outdir, exist_ok=True)
    onnx_path = os.path.join(outdir, 'tiny.onnx')
    onnx.save(model, onnx_path)
    images = []
    for i in range(4):
        images.append(os.path.join(outdir, f'img{i}.png'))
        cv2.imwrite(images[-1], rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    dataset = os.path.join(outdir, 'dataset.txt')
    with open(dataset, 'w') as f:
        f.write(''.join(p + '\n' for p in images))
    rknn = RKNN(verbose=False)
    rknn.config(mean_values=[[0, 0, 0]], std_values=[[255, 255, 255]], target_platform='rk3588')
    assert rknn.load_onnx(onnx_path) == 0
    assert rknn.build(do_quantization=True, dataset=dataset) == 0
    out = os.path.join(outdir, 'tiny_conv_rk3588_int8.rknn')
    assert rknn.export_rknn(out) == 0
    rknn.release()
    return out


if __name__ == '__main__':
    print(build(sys.argv[1] if len(sys.argv) > 1 else 'out/tiny_rknn'))
