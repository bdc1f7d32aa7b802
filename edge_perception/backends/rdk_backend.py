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
D-Robotics RDK BPU backend: ``hobot_dnn.pyeasy_dnn`` (RDK X3/X5/Ultra) or ``hbm_runtime`` (S100).

Written against the vendors' real packages (hobot-dnn-rdkx5 3.0.6 ``pyeasy_dnn.so``, read
from the binary; hbm-runtime 0.1.0.post1, its type stub and ``__init__.py``). Image models take
NV12: pyeasy_dnn reports the input as (1, 3, H, W) NCHW with tensor_type NV12 / NV12_SEPARATE
and takes the flat H*W*3/2 buffer; hbm_runtime on the S100 loads ``.hbm`` files only and takes
a Y input (1, H, W, 1) and a UV input (1, H/2, W/2, 2), fed here as views of the same flat
buffer.

What pyeasy_dnn does not do, this backend does: ``Model.forward`` casts any array to uint8 and
copies exactly ``arr.size`` bytes from its data pointer into the BPU buffer, without checking
its dtype, size or contiguity (a wrong size overruns or under-fills the buffer), so inputs are
checked here first; for RGB-input models it rewrites the caller's array in place, so it gets
a copy. ``TensorProperties.alignedShape`` / ``validShape`` are ints (the address of a C
struct), never shapes: only ``shape`` is read. Output ``buffer`` arrays are float32 (F32),
int32 (S32), int16 (S16) and int8 for every other type, so other output types are refused at
load. Its errors arrive as SystemError (an exception set and None returned) and are re-raised
with context. Outputs are returned as the model emits them (NHWC
grids for the rdk_model_zoo detection heads): float arrays, or ``QuantizedTensor`` for integer
outputs with a scale (the int32 box heads with a per-channel ``scale_data``), so only the cells
a decoder selects are dequantised.
"""

import importlib
import importlib.util
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from . import BACKENDS
from .base import Backend
from ..affinity import pinned
from ..errors import BackendUnavailableError, ModelLoadError
from ..tensors import QuantizedTensor

RUNTIMES = ('pyeasy_dnn', 'hbm_runtime')
HBM_FIX = ("install the board's 'hobot-dnn' system package (sudo apt-get install -y "
           'hobot-dnn), which provides libdnn.so and libhbucp.so')
# pyeasy_dnn output tensor_type -> the dtype of the buffer it returns (buffer_2_pyarray).
PYEASY_OUTPUT_DTYPES = {'float32': np.float32, 'int32': np.int32, 'int16': np.int16,
                        'int8': np.int8}
RUNTIME_MODULES = {'pyeasy_dnn': 'hobot_dnn.pyeasy_dnn', 'hbm_runtime': 'hbm_runtime'}
# pyeasy_dnn forward(core_id=...): 0 lets the runtime choose, 1 = BPU core 0, 2 = BPU core 1.
PYEASY_CORES = (0, 1)
# hbm_runtime set_scheduling_params(bpu_cores=...) takes core indices 0..3, as the board has them.
HBM_CORES = (0, 1, 2, 3)
AUTO_CORE = ('auto', -1, None)
NV12_TYPES = ('NV12', 'NV12_SEPARATE')
INT_TYPES = ('S4', 'U4', 'S8', 'U8', 'S16', 'U16', 'S32', 'U32', 'S64', 'U64')
LOAD_FIX = ("Fix: the model must be compiled for this board's BPU (X3: bernoulli2, X5: "
            'bayes-e, Ultra: bayes, S100: nash-e .hbm) by an OpenExplorer toolchain whose '
            "version matches the board's libdnn / hbrt (rdk_model_zoo lists models per board)")


class _Output:
    """How one output is turned into what ``infer`` returns (worked out once, at load)."""

    __slots__ = ('name', 'shape', 'aligned', 'integer', 'scale', 'zero_point', 'axis')

    def __init__(self, name, shape, aligned, integer, scale, zero_point, axis):
        self.name, self.shape, self.aligned = name, shape, aligned
        self.integer, self.scale, self.zero_point, self.axis = integer, scale, zero_point, axis

    def convert(self, data) -> object:
        """Return the raw output as a float array or a QuantizedTensor of this output's shape."""
        data = np.asarray(data)
        if data.shape != self.shape:
            data = self._unpad(data)
        if not self.integer:
            return data
        if self.scale.size == 0:
            return data.astype(np.float32)
        if self.scale.size == 1:
            return QuantizedTensor(data, float(self.scale[0]), self.zero_point)
        return QuantizedTensor(data, self.scale, self.zero_point, self.axis)

    def _unpad(self, data: np.ndarray) -> np.ndarray:
        if data.size == int(np.prod(self.shape)):
            return data.reshape(self.shape)
        if self.aligned and data.size == int(np.prod(self.aligned)):
            # The BPU pads some dims to its alignment (alignedShape); keep the valid part.
            return data.reshape(self.aligned)[tuple(slice(0, d) for d in self.shape)]
        raise RuntimeError(f'RDK output {self.name!r} has {data.shape}, the model declares '
                           f'{self.shape}')


def _channel_axis(shape: Tuple[int, ...], layout: str) -> int:
    if len(shape) == 4:
        return 1 if layout == 'NCHW' else 3
    return len(shape) - 1


def _output(name, shape, aligned, integer, scale, zero_point, axis, where) -> _Output:
    scale = np.asarray(scale if scale is not None else (), np.float32).reshape(-1)
    zero = np.asarray(zero_point if zero_point is not None else (), np.float32).reshape(-1)
    if integer and scale.size > 1 and scale.size != shape[axis]:
        raise ModelLoadError(f'{where}: output {name!r} {shape} has {scale.size} scales for '
                             f'{shape[axis]} channels on axis {axis}')
    zero_point = 0 if zero.size == 0 or not zero.any() else (
        float(zero[0]) if scale.size <= 1 else np.broadcast_to(zero, scale.shape).copy())
    return _Output(name, shape, aligned, integer, scale, zero_point, axis)


def _pick_runtime(runtime: str, path: str) -> str:
    """Resolve 'auto' by the file: .hbm goes to hbm_runtime (it loads nothing else)."""
    if runtime not in ('auto',) + RUNTIMES:
        raise ValueError(f'backend rdk: runtime {runtime!r} is not one of auto, '
                         f'{", ".join(RUNTIMES)}')
    hbm = path.lower().endswith('.hbm')
    if runtime == 'auto':
        runtime = 'hbm_runtime' if hbm else 'pyeasy_dnn'
    elif runtime == 'hbm_runtime' and not hbm:
        raise ValueError(f'backend rdk: hbm_runtime loads .hbm files only, not {path}; a .bin '
                         "model needs runtime 'pyeasy_dnn' (RDK X3/X5/Ultra)")
    if importlib.util.find_spec(RUNTIME_MODULES[runtime].split('.')[0]) is None:
        raise BackendUnavailableError(f'backend rdk needs {RUNTIME_MODULES[runtime]} for '
                                      f'{path}, which is not importable here. '
                                      f'Fix: {BACKENDS["rdk"][2]}')
    return runtime


def _import(runtime: str):
    try:
        return importlib.import_module(RUNTIME_MODULES[runtime])
    except ImportError as exc:
        raise BackendUnavailableError(
            f'backend rdk cannot import {RUNTIME_MODULES[runtime]} ({exc}). '
            f'Fix: {BACKENDS["rdk"][2]}') from None
    except RuntimeError as exc:
        # hbm_runtime's __init__ loads libhbucp.so and libdnn.so and raises RuntimeError
        # (several lines) when they are missing: the runtime is unavailable.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise BackendUnavailableError(
            f'backend rdk: {RUNTIME_MODULES[runtime]} is installed but cannot load its system '
            f'libraries libdnn.so / libhbucp.so ("{first}"). Fix: {HBM_FIX}') from None


def hbm_runtime_problem() -> Optional[str]:
    """One line saying why an installed hbm_runtime cannot be imported, or None when it can."""
    try:
        _import('hbm_runtime')
    except BackendUnavailableError as exc:
        return str(exc)
    return None


def _bpu_core(value, runtime: str) -> Optional[int]:
    """Validate a BPU core request: 'auto' / -1 (the runtime schedules) or a core index."""
    if isinstance(value, str) and value.strip().lstrip('-').isdigit():
        value = int(value)
    if value in AUTO_CORE:
        return None
    allowed = PYEASY_CORES if runtime == 'pyeasy_dnn' else HBM_CORES
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or int(value) not in allowed:
        why = ('pyeasy_dnn addresses BPU core 0 or 1 (forward core_id 1 or 2; RDK X3 and RDK '
               'Ultra have two BPU cores, RDK X5 one)' if runtime == 'pyeasy_dnn' else
               'hbm_runtime takes BPU core indices 0..3, as many as the board has')
        raise ValueError(f"backend rdk: bpu_core {value!r} is invalid: {why}; use 'auto' "
                         'to let the runtime schedule')
    return int(value)


def _priority(value) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value <= 255:
        raise ValueError(f'backend rdk: priority {value!r} must be an integer 0..255 '
                         '(higher runs first)')
    return int(value)


def _hw(shape: Tuple[int, ...], layout: str) -> Tuple[int, int]:
    if len(shape) != 4:
        raise ValueError(f'input shape {shape} is not 4-D')
    return (shape[2], shape[3]) if layout == 'NCHW' else (shape[1], shape[2])


def _type_name(value) -> str:
    """Enum member (pybind11 hbDNNDataType / hbDNNQuantiType) or string -> upper-case name."""
    return str(getattr(value, 'name', value)).upper()


class RdkBpuBackend(Backend):
    """
    One BPU model (.bin for pyeasy_dnn on RDK X3/X5/Ultra, .hbm for hbm_runtime on the S100).

    threads: accepted for a uniform interface and ignored (the BPU runs the network; the
    runtimes have no CPU thread pool setting). cpu_affinity: CPU ids the calling thread is
    pinned to while the runtime loads (threads it starts inherit them).
    bpu_core: 'auto' (or -1) lets the runtime schedule; an index selects one BPU core.
    runtime: 'auto', 'pyeasy_dnn' or 'hbm_runtime'. priority: BPU task priority 0..255.
    """

    name = 'rdk'
    vendor = 'rdk'

    def __init__(self, path: str, threads: int = 0, cpu_affinity: Optional[Iterable[int]] = None,
                 bpu_core='auto', runtime: str = 'auto', priority: Optional[int] = None,
                 **options):
        super().__init__()
        if options:
            raise ValueError(f'backend rdk has no options {sorted(options)} (it takes threads, '
                             'cpu_affinity, bpu_core, runtime, priority)')
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) \
                or threads < 0:
            raise ValueError(f'backend rdk: threads {threads!r} must be an integer >= 0')
        #: 'nv12' for NV12 image models; Model._input_spec reads it.
        self.input_color: Optional[str] = None
        #: the BT.601 range the model decodes NV12 in: 'full' is what hb_mapper's default
        #: (input_space_and_range: regular, the vendor's model zoo builds) compiles; a card's
        #: input.yuv_range ('video' for a bt601_video build) overrides it.
        self.input_yuv_range = 'full'
        self.path = str(path)
        self.runtime = _pick_runtime(runtime, self.path)
        self.bpu_core = _bpu_core(bpu_core, self.runtime)
        self.priority = _priority(priority)
        if not os.path.isfile(self.path):
            raise ModelLoadError(f'RDK model file {self.path} does not exist')
        module = _import(self.runtime)
        self._outputs: List[_Output] = []
        with pinned(cpu_affinity):
            if self.runtime == 'pyeasy_dnn':
                self._load_pyeasy(module)
            else:
                self._load_hbm(module)
        self.output_shapes = [o.shape for o in self._outputs]

    # -- hobot_dnn.pyeasy_dnn -----------------------------------------------------------------

    def _load_pyeasy(self, dnn) -> None:
        try:
            models = dnn.load(self.path)
        except Exception as exc:  # the runtime raises RuntimeError (documented) or its own
            raise ModelLoadError(f'hobot_dnn.pyeasy_dnn cannot load {self.path}: {exc}. '
                                 f'{LOAD_FIX}') from None
        if not models:
            raise ModelLoadError(f'hobot_dnn.pyeasy_dnn.load({self.path!r}) returned '
                                 f'{models!r}, no model. {LOAD_FIX}')
        self._model = models[0]
        inputs, outputs = list(self._model.inputs), list(self._model.outputs)
        if len(inputs) != 1:
            raise ModelLoadError(f'{self.path} has {len(inputs)} inputs; image models have one')
        props = inputs[0].properties
        shape, layout = tuple(int(d) for d in props.shape), str(props.layout).upper()
        kind = str(props.tensor_type).upper()
        try:
            h, w = _hw(shape, layout)
        except ValueError as exc:
            raise ModelLoadError(f'{self.path}: {exc}') from None
        if kind in NV12_TYPES:
            self.input_color, self.input_shape = 'nv12', (1, 3, h, w)
            self._input_bytes = h * w * 3 // 2
        elif kind in ('RGB', 'BGR'):
            self.input_color, self.input_shape = kind.lower(), shape
            self._input_bytes = int(np.prod(shape))
        else:
            raise ModelLoadError(
                f'{self.path}: input tensor_type {kind} is not an image input this backend '
                'feeds (NV12, NV12_SEPARATE, RGB, BGR); compile with input_type_rt: nv12')
        # forward rewrites an RGB input in place (each byte b -> max(b - 128, 0)): copy it.
        self._copy_input = kind == 'RGB'
        self.input_dtype = 'uint8'
        self._buffer_dtypes = []
        for i, out in enumerate(outputs):
            p = out.properties
            # Only shape: alignedShape / validShape are ints (a C struct's address), and the
            # buffer pyeasy_dnn returns already has the valid shape.
            oshape = tuple(int(d) for d in p.shape)
            olayout = str(p.layout).upper()
            name = getattr(out, 'name', str(i))
            kind = str(p.tensor_type).lower()
            if kind not in PYEASY_OUTPUT_DTYPES:
                raise ModelLoadError(
                    f'{self.path}: output {name!r} {oshape} is {p.tensor_type}; '
                    'hobot_dnn.pyeasy_dnn returns buffers as float32 (F32), int32 (S32), int16 '
                    '(S16) and int8 for everything else, so a ' + str(p.tensor_type) +
                    ' output would arrive reinterpreted. Fix: compile the model with float32 '
                    'outputs (as rdk_model_zoo models have) or S32 / S16 / S8 ones')
            self._buffer_dtypes.append(np.dtype(PYEASY_OUTPUT_DTYPES[kind]))
            self._outputs.append(_output(
                name, oshape, (), kind != 'float32', p.scale_data, None,
                _channel_axis(oshape, olayout), self.path))

    def _pyeasy_input(self, tensor) -> np.ndarray:
        """Check the input here and return what forward gets: forward checks nothing."""
        if not isinstance(tensor, np.ndarray) or tensor.dtype != np.uint8 \
                or tensor.nbytes != self._input_bytes:
            raise RuntimeError(
                f'RDK input for {self.path} must be a uint8 array of exactly '
                f'{self._input_bytes} bytes ({self.describe()}); got '
                f'{getattr(tensor, "dtype", type(tensor).__name__)} '
                f'{tuple(np.shape(tensor))} of {getattr(tensor, "nbytes", "?")} bytes. '
                'hobot_dnn.pyeasy_dnn.forward does not check it: it would cast it to uint8 and '
                'overrun or under-fill the BPU input buffer')
        if self._copy_input:
            return np.array(tensor, order='C', copy=True)
        # forward copies from the data pointer as if the array were C-contiguous.
        return np.ascontiguousarray(tensor)

    def _infer_pyeasy(self, tensor):
        kwargs = {}
        if self.bpu_core is not None:
            kwargs['core_id'] = self.bpu_core + 1
        if self.priority is not None:
            kwargs['priority'] = self.priority
        tensor = self._pyeasy_input(tensor)
        try:
            outputs = self._model.forward(tensor, **kwargs)
        except Exception as exc:    # SystemError, caused by the RuntimeError / TypeError it set
            raise RuntimeError(self._forward_message('hobot_dnn.pyeasy_dnn forward', exc)) \
                from None
        if outputs is None or len(outputs) != len(self._outputs):
            raise RuntimeError(f'hobot_dnn.pyeasy_dnn forward on {self.path} returned '
                               f'{0 if outputs is None else len(outputs)} outputs, the model '
                               f'declares {len(self._outputs)}')
        results = []
        for plan, dtype, out in zip(self._outputs, self._buffer_dtypes, outputs):
            buffer = out.buffer
            if np.asarray(buffer).dtype != dtype:
                raise RuntimeError(f'hobot_dnn.pyeasy_dnn returned output {plan.name!r} as '
                                   f'{np.asarray(buffer).dtype}, expected {dtype}')
            results.append(plan.convert(buffer))
        return results

    # -- hbm_runtime ---------------------------------------------------------------------------

    def _load_hbm(self, hbm) -> None:
        try:
            runtime = hbm.HB_HBMRuntime(self.path)
            names = list(runtime.model_names or ())
        except Exception as exc:
            raise ModelLoadError(f'hbm_runtime cannot load {self.path}: {exc}. {LOAD_FIX}') \
                from None
        if not names:
            raise ModelLoadError(f'hbm_runtime loaded no model from {self.path}. {LOAD_FIX}')
        self._runtime, self._model_name = runtime, names[0]
        self._bind_hbm_inputs()
        quants = runtime.output_quants[self._model_name]
        for oname in runtime.output_names[self._model_name]:
            shape = tuple(int(d) for d in runtime.output_shapes[self._model_name][oname])
            dtype = _type_name(runtime.output_dtypes[self._model_name][oname])
            quant = quants.get(oname) if hasattr(quants, 'get') else None
            scaled = quant is not None and _type_name(quant.quant_type) in ('SCALE', '1')
            axis = int(quant.axis) if scaled and quant.axis is not None else \
                _channel_axis(shape, 'NHWC')
            self._outputs.append(_output(
                oname, shape, (), dtype in INT_TYPES, quant.scale if scaled else None,
                quant.zero_point if scaled else None, axis % max(len(shape), 1), self.path))
        if self.bpu_core is not None or self.priority is not None:
            params = {}
            if self.bpu_core is not None:
                params['bpu_cores'] = {self._model_name: [self.bpu_core]}
            if self.priority is not None:
                params['priority'] = {self._model_name: self.priority}
            try:
                runtime.set_scheduling_params(**params)
            except Exception as exc:
                raise ValueError(f'backend rdk: hbm_runtime refused bpu_core {self.bpu_core} / '
                                 f'priority {self.priority}: {exc} (does this board have that '
                                 "BPU core? use bpu_core 'auto')") from None

    def _bind_hbm_inputs(self) -> None:
        rt, name = self._runtime, self._model_name
        in_names = list(rt.input_names[name])
        shapes = {n: tuple(int(d) for d in rt.input_shapes[name][n]) for n in in_names}
        kinds = {n: _type_name(rt.input_dtypes[name][n]) for n in in_names}
        self._in_names, self._in_shapes = in_names, shapes
        self.input_dtype = 'uint8'
        if len(in_names) == 2:       # S100: separate Y (1, H, W, 1) and UV (1, H/2, W/2, 2)
            by_channels = {shapes[n][-1]: n for n in in_names if len(shapes[n]) == 4}
            if set(by_channels) != {1, 2}:
                raise ModelLoadError(f'{self.path}: two inputs {shapes} are not an NV12 Y '
                                     '(1,H,W,1) and UV (1,H/2,W/2,2) pair')
            y_name, uv_name = by_channels[1], by_channels[2]
            h, w = shapes[y_name][1:3]
            if shapes[uv_name][1:3] != (h // 2, w // 2):
                raise ModelLoadError(f'{self.path}: UV input {shapes[uv_name]} does not match '
                                     f'Y input {shapes[y_name]}')
            self._feed_order = (y_name, uv_name)
            self.input_color, self.input_shape = 'nv12', (1, 3, h, w)
            return
        if len(in_names) != 1:
            raise ModelLoadError(f'{self.path} has {len(in_names)} inputs; image models have '
                                 'one (packed NV12) or two (Y and UV)')
        shape, kind = shapes[in_names[0]], kinds[in_names[0]]
        if kind not in NV12_TYPES + ('U8',) or len(shape) != 4:
            raise ModelLoadError(f'{self.path}: input {in_names[0]!r} {shape} {kind} is not an '
                                 'image input (NV12 or uint8)')
        self._feed_order = (in_names[0],)
        if shape[3] == 1 and shape[1] % 3 == 0:     # packed NV12 as (1, H*3/2, W, 1)
            self.input_color, self.input_shape = 'nv12', (1, 3, shape[1] * 2 // 3, shape[2])
        else:
            nv12 = kind in NV12_TYPES or 'nv12' in f'{name} {self.path}'.lower()
            self.input_color = 'nv12' if nv12 else None
            self.input_shape = shape

    def _hbm_feeds(self, tensor: np.ndarray) -> Dict[str, np.ndarray]:
        if len(self._feed_order) == 2:
            y_name, uv_name = self._feed_order
            flat = tensor.reshape(-1)
            area = int(np.prod(self._in_shapes[y_name]))
            return {y_name: flat[:area].reshape(self._in_shapes[y_name]),
                    uv_name: flat[area:].reshape(self._in_shapes[uv_name])}
        (only,) = self._feed_order
        shape = self._in_shapes[only]
        if tensor.size == int(np.prod(shape)):
            tensor = tensor.reshape(shape)
        return {only: tensor}      # X5 packed NV12: the flat buffer, as the vendor docs feed it

    def _infer_hbm(self, tensor):
        try:
            feeds = self._hbm_feeds(np.asarray(tensor))
        except ValueError as exc:
            raise RuntimeError(f'RDK input of {np.shape(tensor)} does not fit the model inputs '
                               f'{self._in_shapes}: {exc}') from None
        try:
            result = self._runtime.run({self._model_name: feeds})[self._model_name]
            raw = [result[o.name] for o in self._outputs]
        except Exception as exc:
            raise RuntimeError(self._forward_message('hbm_runtime run', exc)) from None
        return [plan.convert(data) for plan, data in zip(self._outputs, raw)]

    # -- common ---------------------------------------------------------------------------------

    def _forward_message(self, what: str, exc: Exception) -> str:
        core = 'auto' if self.bpu_core is None else self.bpu_core
        # pyeasy_dnn's SystemError carries what went wrong in its cause.
        cause = exc.__cause__ or exc.__context__
        why = f'{type(cause).__name__}: {cause}' if cause is not None else str(exc)
        return (f'{what} failed on {self.path} (bpu_core {core}): {why}. An input that does not '
                f'match the model ({self.describe()}) or a BPU core the board lacks are the '
                'usual causes')

    def infer(self, tensor) -> Sequence:
        if getattr(self, '_closed', False):
            raise RuntimeError(f'backend rdk for {self.path} is closed')
        if self.runtime == 'pyeasy_dnn':
            return self._infer_pyeasy(tensor)
        return self._infer_hbm(tensor)

    def close(self) -> None:
        # Neither runtime has a release call (pyeasy_dnn's Model type has no close method;
        # hbm_runtime's stub declares none): this only drops our references, and the runtime
        # frees the model if and when it is garbage collected.
        self._closed = True
        self._model = None
        self._runtime = None

    def describe(self) -> str:
        core = 'auto' if self.bpu_core is None else self.bpu_core
        return (f'rdk ({self.runtime}, bpu_core {core}) input {tuple(self.input_shape)} '
                f'{self.input_dtype} {self.input_color or ""}'.rstrip())
