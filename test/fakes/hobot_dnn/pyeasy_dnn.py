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
Fake of ``hobot_dnn.pyeasy_dnn``, modelled on the real ``pyeasy_dnn.so`` (contract tests only).

Read from hobot-dnn-rdkx5 3.0.6 (aarch64, not stripped; test/test_rdk_fakes_vs_vendor.py holds
this fake against the binary's method, getset and keyword tables on every run):

- ``load(model_file)``: a str or a list of str (anything else: TypeError), one Model per file,
  returned as a list. A file the runtime cannot load sets RuntimeError and the function returns
  None, which CPython reports as SystemError ("returned a result with an exception set").
- ``Model``: read-only ``name``, ``inputs`` / ``outputs`` (new lists of pyDNNTensor on every
  access), ``estimate_latency`` (int); ``forward(arg, core_id=0, priority=0)``; no close or
  release (the C type has no such method).
- ``forward``: ``arg`` is an ndarray or a list / tuple of them. Each is converted with
  ``PyArray_FromAny(uint8, NPY_ARRAY_FORCECAST)``: any dtype is cast to uint8 without a word,
  a uint8 array is used as it is (not made contiguous), and exactly ``arr.size`` bytes are
  copied from its data pointer into the BPU buffer: more than the tensor holds overruns it,
  fewer leave the previous frame's bytes. NV12_SEPARATE inputs split the bytes 2/3 : 1/3. RGB
  inputs are rewritten IN PLACE in the caller's array (each byte b becomes max(b - 128, 0))
  before the copy. Argument and inference errors set TypeError / RuntimeError ("forward
  execution failed.") and return None: SystemError again. An ``arg`` that is no container
  prints "arg_obj is NOT a container." and runs on whatever the BPU buffer held.
- ``pyDNNTensor``: read-only ``properties``, ``buffer`` (a new copy of the valid shape:
  float32 for F32 tensors, int32 for S32, int16 for S16, int8 for every other type), ``name``.
- ``TensorProperties``: read-only ``tensor_type``, ``dtype``, ``layout`` (str), ``shape``
  (tuple), ``alignedShape`` / ``validShape`` (ints: ``PyLong_FromVoidPtr`` of a fresh copy of
  the C shape struct, i.e. an address, not a shape), ``scale_data`` (float32 array).

What the real forward would do to memory, the fake records in ``Model._transfers`` (one dict
per input per call) instead of corrupting anything. Not visible in the binary and assumed
here: a core_id beyond the board's cores or a priority outside 0..255 makes hbDNNInfer fail.
"""

import functools
import inspect
import itertools
import operator
import sys

from _rdk_fake_bpu import FakeNetwork
import numpy as np

# buffer dtype per tensor type, as buffer_2_pyarray chooses it; int8 for every other type.
BUFFER_DTYPES = {'float32': np.float32, 'int32': np.int32, 'int16': np.int16}
INT_MAX = 2 ** 31 - 1
_addresses = itertools.count(0xffff80001000, 0x40)


def _error_returned_none(what: str, cause: BaseException) -> SystemError:
    """Build what CPython raises when a C function sets an exception and returns None."""
    error = SystemError(f'<built-in method {what}> returned a result with an exception set')
    error.__cause__ = cause
    return error


def _parsed(format_units):
    """Bind arguments as PyArg_ParseTupleAndKeywords would; a failure is the vendor's error."""
    def wrap(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def call(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
                for name, unit in format_units.items():
                    if name in bound.arguments and unit == 'i':
                        value = operator.index(bound.arguments[name])
                        if not -INT_MAX - 1 <= value <= INT_MAX:
                            raise OverflowError(name)
                        bound.arguments[name] = value
                failed = False
            except (TypeError, OverflowError):
                failed = True
            if failed:     # Model_forward / Dnnpy_load replace the parse error, return None
                raise _error_returned_none(func.__name__, TypeError(
                    'Failed to parse arguments.'))
            return func(*bound.args, **bound.kwargs)
        return call
    return wrap


class TensorProperties:
    """Read-only tensor metadata (``dnnpy.TensorProperties``)."""

    def __init__(self, *args, **kwargs):
        """Take and ignore anything, as the C type's tp_init does."""

    tensor_type = property(lambda self: self._values['tensor_type'])
    dtype = property(lambda self: self._values['dtype'])
    layout = property(lambda self: self._values['layout'])
    shape = property(lambda self: tuple(self._values['shape']))
    # PyLong_FromVoidPtr of a freshly malloc'd copy: an int, a new one on every access.
    alignedShape = property(lambda self: next(_addresses))
    validShape = property(lambda self: next(_addresses))
    scale_data = property(lambda self: np.array(self._values['scale_data'], np.float32))


class pyDNNTensor:
    """A model input or output (``dnnpy.PyDNNTensor``)."""

    def __init__(self, *args, **kwargs):
        """Take and ignore anything, as the C type's tp_init does."""

    properties = property(lambda self: self._properties)
    buffer = property(lambda self: self._buffer())
    name = property(lambda self: self._name)

    def _buffer(self) -> np.ndarray:
        kind = self._properties.tensor_type
        dtype = np.dtype(BUFFER_DTYPES.get(kind, np.int8))
        shape = self._properties.shape
        raw = np.ascontiguousarray(self._data).tobytes() if self._data is not None \
            else bytes(int(np.prod(shape)) * dtype.itemsize)
        # buffer_2_numpy copies prod(shape) * itemsize bytes of what the BPU wrote.
        count = int(np.prod(shape))
        raw = raw[:count * dtype.itemsize].ljust(count * dtype.itemsize, b'\0')
        return np.frombuffer(raw, dtype).reshape(shape).copy()


def _properties(tensor_type, dtype, layout, shape, scale_data=()) -> TensorProperties:
    props = TensorProperties()
    props._values = {'tensor_type': tensor_type, 'dtype': dtype, 'layout': layout,
                     'shape': tuple(int(d) for d in shape), 'scale_data': scale_data}
    return props


def _tensor(name, properties, data=None) -> pyDNNTensor:
    tensor = pyDNNTensor()
    tensor._name, tensor._properties, tensor._data = name, properties, data
    return tensor


class Model:
    """A loaded BPU model (``dnnpy.Model``). The C type has no close / release."""

    def __init__(self, *args, **kwargs):
        """Take and ignore anything, as the C type's tp_init does."""

    name = property(lambda self: self._net.name)
    inputs = property(lambda self: [_tensor(t.name, t.properties) for t in self._inputs])
    outputs = property(lambda self: [_tensor(t.name, t.properties) for t in self._outputs])
    estimate_latency = property(lambda self: 0)

    @_parsed({'arg': 'O', 'core_id': 'i', 'priority': 'i'})
    def forward(self, arg, core_id=0, priority=0):
        """Run the model on arg (see the module docstring for what it does to memory)."""
        if isinstance(arg, np.ndarray):
            items = [arg]
        elif isinstance(arg, (list, tuple)):
            items = list(arg)
        else:
            sys.stdout.write('arg_obj is NOT a container.\n')
            items = []
        arrays = []
        for item in items:
            if not isinstance(item, np.ndarray):
                raise _error_returned_none('forward', TypeError(
                    'Each element in arg_obj must be a NumPy array.'))
            # PyArray_FromAny(item, uint8, 0, 0, NPY_ARRAY_FORCECAST | ENSUREARRAY, NULL)
            arrays.append(item if item.dtype == np.uint8 else
                          item.astype(np.uint8, casting='unsafe'))
        if len(arrays) > len(self._inputs):
            return self._failed('Error: Too many inputs for the model!')
        for index, array in enumerate(arrays):
            if array.size <= 0:
                return self._failed(f'Error: Invalid data size ({array.size}) for input '
                                    f'{index}')
            self._copy_in(index, array, item_dtype=items[index].dtype)
        if not 0 <= core_id <= self._net.bpu_cores or not 0 <= priority <= 255:
            return self._failed('hbDNNInfer failed')
        raw = self._net.forward(self._bpu[0])
        return [_tensor(t.name, t.properties, data) for t, data in zip(self._outputs, raw)]

    def _failed(self, printed: str):
        sys.stdout.write(printed + '\n')
        raise _error_returned_none('forward', RuntimeError('forward execution failed.'))

    def _copy_in(self, index: int, array: np.ndarray, item_dtype) -> None:
        """Do what the C code does with one input array: copy the bytes at its pointer."""
        size = int(array.size)
        memory = _bytes_at_data_pointer(array, size)
        kind = self._inputs[index].properties.tensor_type
        if kind == 'RGB':
            memory = np.maximum(memory.astype(np.int16) - 128, 0).astype(np.uint8)
            _write_at_data_pointer(array, memory)           # the caller's array, in place
        buffer = self._bpu[index]
        if kind == 'NV12_SEPARATE':
            y_size, area = size // 3 * 2, self._net.height * self._net.width
            parts = [(memory[:y_size], buffer[:area]), (memory[y_size:size], buffer[area:])]
        else:
            parts = [(memory, buffer)]
        for source, target in parts:
            count = min(len(source), len(target))
            target[:count] = source[:count]
        self._transfers.append({
            'input': index, 'copied': size, 'tensor_bytes': len(buffer),
            'overrun': max(size - len(buffer), 0), 'underfill': max(len(buffer) - size, 0),
            'contiguous': bool(array.flags.c_contiguous), 'dtype': str(item_dtype),
            'rewrote_caller': kind == 'RGB'})


def _owner(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _bytes_at_data_pointer(array: np.ndarray, size: int) -> np.ndarray:
    """Return the bytes memcpy reads from the array's data pointer (clipped to its buffer)."""
    if array.flags.c_contiguous:
        return array.reshape(-1)[:size].copy()
    owner = _owner(array)
    start = array.__array_interface__['data'][0]
    byte_bounds = getattr(getattr(np.lib, 'array_utils', None), 'byte_bounds', None) \
        or np.byte_bounds               # numpy 2 moved it; numpy 1.21 (Humble) has only this
    end = byte_bounds(owner)[1]
    count = max(min(size, end - start), 0)
    return np.lib.stride_tricks.as_strided(array, shape=(count,), strides=(1,)).copy()


def _write_at_data_pointer(array: np.ndarray, memory: np.ndarray) -> None:
    if array.flags.c_contiguous:
        array.reshape(-1)[:len(memory)] = memory
    else:
        view = np.lib.stride_tricks.as_strided(array, shape=(len(memory),), strides=(1,))
        view[:] = memory


def _model(net: FakeNetwork) -> Model:
    model = Model()
    model._net, model._transfers = net, []
    h, w = net.height, net.width
    model._inputs = [_tensor('images', _properties(net.input_type, 'uint8', 'NCHW',
                                                   (1, 3, h, w)))]
    model._bpu = [np.zeros(net.input_bytes, np.uint8)]       # the BPU input buffer
    model._outputs = [
        _tensor(f'output{i}', _properties(kind, kind, 'NHWC', raw.shape,
                                          scale if scale is not None else ()))
        for i, (raw, scale, kind) in enumerate(zip(net.outputs, net.scales, net.output_types))]
    return model


@_parsed({'model_file': 'O'})
def load(model_file):
    """Load one model file or a list of them; return the list of Models."""
    if isinstance(model_file, str):
        model_file = [model_file]
    elif not isinstance(model_file, list):
        raise _error_returned_none('load', TypeError('model_file must be a string or a list'))
    models = []
    for path in model_file:
        if not isinstance(path, str):
            raise _error_returned_none('load', TypeError(
                'model_file must be a string or a list of strings'))
        try:
            net = FakeNetwork(path)
        except RuntimeError as exc:
            net = None
            sys.stdout.write(f'[BPU MSG] {exc}, return code:-1\n')
        if net is None:
            raise _error_returned_none('load', RuntimeError('hbDNNInitializeFromFiles failed'))
        models.append(_model(net))
    return models


# The C types' names (tp_name) and where they live.
for _cls, _name in ((Model, 'Model'), (pyDNNTensor, 'PyDNNTensor'),
                    (TensorProperties, 'TensorProperties')):
    _cls.__name__ = _cls.__qualname__ = _name
    _cls.__module__ = 'dnnpy'
del _cls, _name
