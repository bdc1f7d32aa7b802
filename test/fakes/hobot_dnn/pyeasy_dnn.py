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
Fake of ``hobot_dnn.pyeasy_dnn`` with exactly its documented surface (contract tests only).

Documented in D-Robotics/rdk_doc (04_Algorithm_Application/01_pydev_dnn_demo/pydev_dnn_api.md,
03_Basic_Application/06_multi_media_sp_dev_api/RDK_X3/pydev_multimedia_api_x3/
object_pyeasy_dnn.md): ``load(path)`` returns a list of Model and raises RuntimeError on
failure; ``Model.inputs`` / ``Model.outputs`` are tuples of pyDNNTensor (``properties``,
``buffer``, ``name``); ``Model.forward(inputs, core_id=, priority=)`` takes a numpy array (or a
list of them) and returns the output pyDNNTensors; core_id 0 = any core, 1 = core 0, 2 =
core 1; priority 0..255. TensorProperties are read-only: tensor_type, dtype, layout, shape,
alignedShape, validShape, scale_data. Property values follow what the board prints (input
tensor_type NV12 / NV12_SEPARATE, dtype uint8, layout NCHW, shape (1, 3, H, W); outputs
float32 or int32, NHWC; scale_data empty for float outputs).
"""

from _rdk_fake_bpu import FakeNetwork
import numpy as np


class TensorProperties:
    """Read-only tensor metadata."""

    def __init__(self, tensor_type, dtype, layout, shape, scale_data):
        self._values = (tensor_type, dtype, layout, tuple(shape), np.asarray(scale_data,
                                                                             np.float32))

    tensor_type = property(lambda self: self._values[0])
    dtype = property(lambda self: self._values[1])
    layout = property(lambda self: self._values[2])
    shape = property(lambda self: self._values[3])
    alignedShape = property(lambda self: self._values[3])
    validShape = property(lambda self: self._values[3])
    scale_data = property(lambda self: self._values[4])


class pyDNNTensor:
    """A model input or output: properties, numpy buffer, name."""

    def __init__(self, name, properties, buffer):
        self._name, self._properties, self._buffer = name, properties, buffer

    name = property(lambda self: self._name)
    properties = property(lambda self: self._properties)
    buffer = property(lambda self: self._buffer)


class Model:
    """A loaded BPU model."""

    def __init__(self, network: FakeNetwork):
        self._net = network
        h, w = network.height, network.width
        self._inputs = (pyDNNTensor('images', TensorProperties(
            network.input_type, 'uint8', 'NCHW', (1, 3, h, w), ()),
            np.zeros(network.nv12_size, np.uint8)),)
        outputs = []
        for i, (raw, scale) in enumerate(zip(network.outputs, network.scales)):
            kind = 'int32' if scale is not None else 'float32'
            props = TensorProperties(kind, kind, 'NHWC', raw.shape,
                                     scale if scale is not None else ())
            outputs.append(pyDNNTensor(f'output{i}', props, None))
        self._outputs = tuple(outputs)

    inputs = property(lambda self: self._inputs)
    outputs = property(lambda self: self._outputs)

    def forward(self, args, core_id: int = 0, priority: int = 0):
        if isinstance(args, (list, tuple)):
            if len(args) != 1:
                raise RuntimeError(f'model has 1 input, got {len(args)}')
            args = args[0]
        if not isinstance(args, np.ndarray) or args.dtype != np.uint8 \
                or args.size != self._net.nv12_size:
            raise RuntimeError(f'input must be NV12 uint8 of {self._net.nv12_size} bytes, got '
                               f'{getattr(args, "dtype", type(args))} of '
                               f'{getattr(args, "size", "?")}')
        if not 0 <= int(core_id) <= self._net.bpu_cores:
            raise RuntimeError(f'[BPU] invalid core_id {core_id} (this board has '
                               f'{self._net.bpu_cores} BPU core(s))')
        if not 0 <= int(priority) <= 255:
            raise RuntimeError(f'invalid priority {priority}')
        return [pyDNNTensor(out.name, out.properties, raw)
                for out, raw in zip(self._outputs, self._net.forward(args))]


def load(model_path, **kwargs):
    """Load a model file; return the list of models it holds (RuntimeError when it cannot)."""
    return [Model(FakeNetwork(model_path))]
