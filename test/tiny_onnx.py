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
A tiny real ONNX detection model for the tests, written without the ``onnx`` package.

The graph is an ultralytics-style head, output (1, 4 + 2, 84) for a 64x64 RGB input (84 =
8x8 + 4x4 + 2x2 anchors), whose values are a deterministic function of the input:

* anchor 0 holds the box cx, cy, w, h = BOX_CXCYWH (network-input pixels);
* its class scores are the mean of the input's red channel (class ``red``) and of its blue
  channel (class ``blue``), in [0, 1] (the input is pixel / 255, letterbox padding included);
* every other anchor scores 0.

So a red image gives one ``red`` box, a blue one a ``blue`` box, and the box in source pixels
follows from the letterbox geometry alone. The model carries ultralytics metadata (names,
imgsz), so a bare path to the file is a complete model for ``load_model``.

The ONNX protobuf is encoded by hand (a few message types of onnx.proto, proto2 wire format):
onnxruntime is in the environment, the ``onnx`` package is not needed.
"""

import numpy as np

INPUT_SIZE = 64
CLASS_NAMES = ('red', 'blue')
ANCHORS = sum((INPUT_SIZE // s) ** 2 for s in (8, 16, 32))
BOX_CXCYWH = (32.0, 28.0, 32.0, 24.0)

_FLOAT, _INT64 = 1, 7           # TensorProto.DataType
_ATTR_INT, _ATTR_INTS = 2, 7    # AttributeProto.AttributeType


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _bytes(field: int, value) -> bytes:
    value = value.encode() if isinstance(value, str) else bytes(value)
    return _key(field, 2) + _varint(len(value)) + value


def _tensor(name: str, array: np.ndarray) -> bytes:
    dtype = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64}[array.dtype]
    dims = b''.join(_int(1, d) for d in array.shape)
    raw = array.astype(array.dtype.newbyteorder('<')).tobytes()
    return dims + _int(2, dtype) + _bytes(8, name) + _bytes(9, raw)


def _value_info(name: str, shape) -> bytes:
    dims = b''.join(_bytes(1, _int(1, d)) for d in shape)
    tensor_type = _int(1, _FLOAT) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def _attribute(name: str, value) -> bytes:
    if isinstance(value, (list, tuple)):
        return _bytes(1, name) + b''.join(_int(8, v) for v in value) + _int(20, _ATTR_INTS)
    return _bytes(1, name) + _int(3, value) + _int(20, _ATTR_INT)


def _node(op: str, inputs, outputs, **attributes) -> bytes:
    return (b''.join(_bytes(1, i) for i in inputs) + b''.join(_bytes(2, o) for o in outputs)
            + _bytes(3, f'{op}_{outputs[0]}') + _bytes(4, op)
            + b''.join(_bytes(5, _attribute(k, v)) for k, v in attributes.items()))


def model_bytes() -> bytes:
    """Serialize the ModelProto (opset 13, IR version 7)."""
    box = np.zeros((1, 4, ANCHORS), np.float32)
    box[0, :, 0] = BOX_CXCYWH
    mask = np.zeros((1, 1, ANCHORS), np.float32)
    mask[0, 0, 0] = 1.0
    initializers = [
        _tensor('box', box), _tensor('mask', mask),
        _tensor('shape', np.array([1, 3, 1], np.int64)),
        _tensor('channels', np.array([0, 2], np.int64)),     # R and B of the RGB input
    ]
    nodes = [
        _node('ReduceMean', ['images'], ['means'], axes=[2, 3], keepdims=1),
        _node('Reshape', ['means', 'shape'], ['means3']),
        _node('Gather', ['means3', 'channels'], ['scores1'], axis=1),
        _node('Mul', ['scores1', 'mask'], ['scores']),
        _node('Concat', ['box', 'scores'], ['output0'], axis=1),
    ]
    graph = (b''.join(_bytes(1, n) for n in nodes) + _bytes(2, 'tiny_detector')
             + b''.join(_bytes(5, t) for t in initializers)
             + _bytes(11, _value_info('images', (1, 3, INPUT_SIZE, INPUT_SIZE)))
             + _bytes(12, _value_info('output0', (1, 4 + len(CLASS_NAMES), ANCHORS))))
    names = '{' + ', '.join(f"{i}: '{n}'" for i, n in enumerate(CLASS_NAMES)) + '}'
    metadata = {'names': names, 'imgsz': f'[{INPUT_SIZE}, {INPUT_SIZE}]', 'task': 'detect'}
    return (_int(1, 7) + _bytes(2, 'edge_perception tests')
            + _bytes(7, graph) + _bytes(8, _bytes(1, '') + _int(2, 13))
            + b''.join(_bytes(14, _bytes(1, k) + _bytes(2, v)) for k, v in metadata.items()))


def write_model(path) -> str:
    """Write the model to ``path``; return the path as a string."""
    with open(path, 'wb') as f:
        f.write(model_bytes())
    return str(path)


def expected_scores(image_bgr: np.ndarray):
    """Return the (red, blue) class scores the model gives for ``image_bgr``."""
    from edge_perception.preprocess import InputSpec, preprocess
    tensor, _ = preprocess(image_bgr, InputSpec(INPUT_SIZE, INPUT_SIZE))
    means = tensor[0].mean(axis=(1, 2))
    return float(means[0]), float(means[2])
