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
Fake of ``hbm_runtime`` (RDK S100), modelled on the real package (contract tests only).

Held against hbm-runtime 0.1.0.post1 by test/test_rdk_fakes_vs_vendor.py: every class,
method, property, parameter and default here exists in its type stub ``HB_HBMRuntime.pyi``
with the same signature, and every error message is made of text found in
``HB_HBMRuntime.so``. What the real package does and this fake copies:

- importing it loads ``libhbucp.so`` and ``libdnn.so`` first (its ``__init__.py``) and raises
  RuntimeError when they are missing, unless ``HBM_RUNTIME_SKIP_CHECK=1``. Here the libraries
  count as missing when ``FAKE_HBM_RUNTIME_LIBS=missing`` is set;
- ``HB_HBMRuntime(model_file | model_files)`` loads ``.hbm`` files only, raising RuntimeError
  for another extension or a missing file; read-only dicts keyed by model name;
- ``set_scheduling_params`` takes BPU core indices 0..3 (-1 is rejected) and priorities 0..255;
- ``run(tensor | {input: tensor} | {model: {input: tensor}}, **kwargs)`` checks each input's
  dtype and shape; every error is a RuntimeError.

Not visible in the package, assumed here: a core index the board lacks is accepted by
set_scheduling_params and fails the task submission in run (the S100 has 1 BPU core).
"""

import enum
import os

from _rdk_fake_bpu import FakeNetwork
import numpy as np


def _check_system_libs():
    """Raise RuntimeError as the real package does when its system libraries are missing."""
    if os.environ.get('HBM_RUNTIME_SKIP_CHECK', '0') == '1':
        return
    if os.environ.get('FAKE_HBM_RUNTIME_LIBS') == 'missing':
        missing = [f'{name} ({desc}) - {name}: cannot open shared object file: No such file '
                   'or directory' for name, desc in (('libhbucp.so', 'Horizon UCP library'),
                                                     ('libdnn.so', 'Horizon DNN library'))]
        raise RuntimeError(
            "Missing Horizon runtime libraries (provided by the 'hobot-dnn' package):\n  - "
            + '\n  - '.join(missing)
            + '\n\nHow to fix:\n'
            "  1) Install or upgrade the 'hobot-dnn' deb package:\n"
            '     sudo apt-get update && sudo apt-get install -y hobot-dnn\n'
            '  2) Set HBM_RUNTIME_SKIP_CHECK=1 to skip this check.\n')


_check_system_libs()


class hbDNNDataType(enum.IntEnum):
    """Tensor data types (values as the vendor stub orders them)."""

    S4 = 0
    U4 = 1
    S8 = 2
    U8 = 3
    F16 = 4
    S16 = 5
    U16 = 6
    F32 = 7
    S32 = 8
    U32 = 9
    F64 = 10
    S64 = 11
    U64 = 12
    BOOL8 = 13
    MAX = 14


class hbDNNQuantiType(enum.IntEnum):
    """Quantisation types."""

    NONE = 0
    SCALE = 1


class QuantParams:
    """Quantisation parameters of one tensor (not constructible from Python in the stub)."""

    quant_type: hbDNNQuantiType
    axis: int
    scale: np.ndarray
    zero_point: np.ndarray


def _quant(quant_type=hbDNNQuantiType.NONE, axis=0, scale=(), zero_point=()) -> QuantParams:
    quant = QuantParams()
    quant.quant_type, quant.axis = quant_type, axis
    quant.scale = np.asarray(scale, np.float32)
    quant.zero_point = np.asarray(zero_point, np.int32)
    return quant


class SchedParam:
    """Scheduling parameters of one model (not constructible from Python in the stub)."""

    priority: int
    customId: int
    bpu_cores: list
    deviceId: int


def _sched() -> SchedParam:
    sched = SchedParam()
    sched.priority, sched.customId, sched.bpu_cores, sched.deviceId = 0, 0, [0], 0
    return sched


DTYPES = {hbDNNDataType.U8: np.uint8, hbDNNDataType.S8: np.int8, hbDNNDataType.S16: np.int16,
          hbDNNDataType.U16: np.uint16, hbDNNDataType.S32: np.int32,
          hbDNNDataType.U32: np.uint32, hbDNNDataType.F16: np.float16,
          hbDNNDataType.F32: np.float32}
OUTPUT_TYPES = {'float32': hbDNNDataType.F32, 'int32': hbDNNDataType.S32,
                'int16': hbDNNDataType.S16, 'int8': hbDNNDataType.S8,
                'uint8': hbDNNDataType.U8, 'uint16': hbDNNDataType.U16,
                'float16': hbDNNDataType.F16}


def _load(path) -> FakeNetwork:
    if not isinstance(path, str):
        raise RuntimeError('No input hbm model files provided.')
    if not os.path.isfile(path):
        raise RuntimeError(f'The input hbm model {path} does not exist.')
    if not path.endswith('.hbm'):
        raise RuntimeError(f'Invalid model file extension: {path}. Only .hbm supported.')
    try:
        return FakeNetwork(path)
    except RuntimeError:
        pass
    raise RuntimeError(f'hbDNN initialize from {path} file failed.')


class HB_HBMRuntime:
    """Loads one or more .hbm model files and runs them."""

    def __init__(self, model_file):
        """Load a model file path or a list of them (.hbm only; RuntimeError otherwise)."""
        files = [model_file] if isinstance(model_file, str) else list(model_file)
        if not files:
            raise RuntimeError('No input hbm model files provided.')
        self._nets, self._files = {}, {}
        for path in files:
            net = _load(path)
            self._nets[net.name] = net
            self._files[net.name] = path
        self._sched = {name: _sched() for name in self._nets}

    @staticmethod
    def version() -> str:
        """Return the version string of the library."""
        return '0.0.0-fake'

    # metadata ---------------------------------------------------------------------------------

    def _inputs(self, net):
        h, w = net.height, net.width
        if net.nv12_inputs == 'packed':
            return {'images': ([1, h * 3 // 2, w, 1], hbDNNDataType.U8)}
        return {'images_y': ([1, h, w, 1], hbDNNDataType.U8),
                'images_uv': ([1, h // 2, w // 2, 2], hbDNNDataType.U8)}

    def _outputs(self, net):
        out = {}
        for i, (raw, scale, kind) in enumerate(zip(net.outputs, net.scales, net.output_types)):
            if scale is None:
                out[f'output{i}'] = (list(raw.shape), hbDNNDataType.F32, _quant())
            else:
                out[f'output{i}'] = (list(raw.shape), OUTPUT_TYPES[kind], _quant(
                    hbDNNQuantiType.SCALE, 3, scale, np.zeros(len(scale))))
        return out

    def _each(self, what):
        return {n: what(t) for n, t in self._nets.items()}

    model_names = property(lambda self: list(self._nets))
    model_count = property(lambda self: len(self._nets))
    model_descs = property(lambda self: {n: '' for n in self._nets})
    hbm_descs = property(lambda self: {n: '' for n in self._nets})
    input_counts = property(lambda self: self._each(lambda t: len(self._inputs(t))))
    input_names = property(lambda self: self._each(lambda t: list(self._inputs(t))))
    input_descs = property(lambda self: self._each(lambda t: {k: '' for k in self._inputs(t)}))
    input_shapes = property(lambda self: self._each(
        lambda t: {k: list(v[0]) for k, v in self._inputs(t).items()}))
    input_dtypes = property(lambda self: self._each(
        lambda t: {k: v[1] for k, v in self._inputs(t).items()}))
    input_quants = property(lambda self: self._each(
        lambda t: {k: _quant() for k in self._inputs(t)}))
    input_strides = property(lambda self: self._each(
        lambda t: {k: [-1] * 4 for k in self._inputs(t)}))
    output_counts = property(lambda self: self._each(lambda t: len(self._outputs(t))))
    output_names = property(lambda self: self._each(lambda t: list(self._outputs(t))))
    output_descs = property(lambda self: self._each(
        lambda t: {k: '' for k in self._outputs(t)}))
    output_shapes = property(lambda self: self._each(
        lambda t: {k: list(v[0]) for k, v in self._outputs(t).items()}))
    output_dtypes = property(lambda self: self._each(
        lambda t: {k: v[1] for k, v in self._outputs(t).items()}))
    output_quants = property(lambda self: self._each(
        lambda t: {k: v[2] for k, v in self._outputs(t).items()}))
    output_strides = property(lambda self: self._each(
        lambda t: {k: [-1] * len(v[0]) for k, v in self._outputs(t).items()}))
    sched_params = property(lambda self: dict(self._sched))

    # scheduling and inference -------------------------------------------------------------

    def _known(self, name, setting):
        if name not in self._nets:
            if setting == 'bpu_cores':
                raise RuntimeError(f'Invalid model name in bpu_cores: "{name}". This model is '
                                   'not in the loaded model list.')
            raise RuntimeError(f'Invalid model name in {setting} setting: "{name}". This model '
                               'is not in the loaded model list.')

    def set_scheduling_params(self, priority=None, bpu_cores=None, custom_id=None,
                              device_id=None) -> None:
        """Set per-model priority (0..255), BPU cores (0..3), custom and device ids."""
        for name, value in (priority or {}).items():
            self._known(name, 'priority')
            if not 0 <= value <= 255:
                raise RuntimeError(f'Priority value for model "{name}" is out of valid range '
                                   f'[0, 255]: {value}')
            self._sched[name].priority = value
        for name, cores in (bpu_cores or {}).items():
            self._known(name, 'bpu_cores')
            for core in cores:
                if not 0 <= core <= 3:
                    raise RuntimeError(f'Invalid BPU core ID for model "{name}": {core} '
                                       '(valid range: [0, 3])')
            self._sched[name].bpu_cores = list(cores)
        for name, value in (custom_id or {}).items():
            self._known(name, 'custom_id')
            self._sched[name].customId = value
        for name, value in (device_id or {}).items():
            self._known(name, 'device_id')
            self._sched[name].deviceId = value

    def run(self, *args, **kwargs):
        """Run one input tensor, {input: tensor} or {model: {input: tensor}}."""
        if len(args) != 1:
            raise TypeError('run() takes one positional argument')     # pybind11 overloads
        inputs = args[0]
        model_name = kwargs.get('model_name')
        if model_name is not None and not isinstance(model_name, str):
            raise RuntimeError("extra_args['model_name'] must be a string.")
        if model_name is not None and model_name not in self._nets:
            raise RuntimeError(f"Provided model_name '{model_name}' is not in the loaded "
                               'model list.')
        if isinstance(inputs, dict) and inputs and all(isinstance(v, dict)
                                                       for v in inputs.values()):
            for name in inputs:
                if name not in self._nets:
                    raise RuntimeError(f'Model name "{name}" is not in the registered '
                                       'model_names.')
            per_model = {n: v for n, v in inputs.items() if model_name in (None, n)}
        else:
            name = model_name or self._only_model()
            if isinstance(inputs, np.ndarray):
                names = list(self._inputs(self._nets[name]))
                if len(names) != 1:
                    raise RuntimeError('Single-input run() requires the model to have exactly '
                                       f"1 input, but model '{name}' has {len(names)} inputs.")
                inputs = {names[0]: inputs}
            per_model = {name: inputs}
        return {name: self._run_one(name, feeds) for name, feeds in per_model.items()}

    def _only_model(self) -> str:
        if len(self._nets) != 1:
            raise RuntimeError('extra_args does not provide model_name, but multiple models '
                               f'are loaded ({len(self._nets)})')
        return next(iter(self._nets))

    def _run_one(self, name, feeds):
        net = self._nets[name]
        spec = self._inputs(net)
        for key in feeds:
            if key not in spec:
                raise RuntimeError(f'Input name "{key}" is invalid for model "{name}"')
        if set(feeds) != set(spec):
            raise RuntimeError(f'Input names for model "{name}" are not registered.')
        for key, (shape, kind) in spec.items():
            tensor = np.asarray(feeds[key])
            want = np.dtype(DTYPES[kind])
            if tensor.dtype != want:
                raise RuntimeError(f"Data type mismatch for input tensor '{key}' in model "
                                   f"'{name}': expected numpy dtype format '{want.char}', but "
                                   f"received '{tensor.dtype.char}'")
            if tensor.ndim != len(shape):
                raise RuntimeError(f'Mismatch in tensor dimensions for model: {name}, input: '
                                   f'{key}, input data ndim = {tensor.ndim}, model '
                                   f'numDimensions = {len(shape)}')
            for i, (got, expected) in enumerate(zip(tensor.shape, shape)):
                if got != expected:
                    raise RuntimeError(f'Mismatch in tensor dimension at index {i}. input '
                                       f'data dim = {got}, model expected dim = {expected}')
        if any(core >= net.bpu_cores for core in self._sched[name].bpu_cores):
            raise RuntimeError('UCP Error (code: -100001, desc: invalid core id) '
                               'hbUCPSubmitTask failed')
        nv12 = np.concatenate([np.ascontiguousarray(feeds[k]).reshape(-1) for k in spec])
        raw = net.forward(nv12)
        return dict(zip(self._outputs(net), raw))
