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
Fake of ``hbm_runtime`` (RDK S100 / X5 >= 3.5) with its documented surface (contract tests).

Documented in D-Robotics/rdk_doc (03_Basic_Application/06_multi_media_sp_dev_api/RDK_X5/
pydev_multimedia_api_x5/pydev_hbdnn_demo.md, 04_Algorithm_Application/01_model_zoo/
infer_api_ref.md) and the type stub quoted there: ``HB_HBMRuntime(model_file | model_files)``;
read-only dicts keyed by model name (model_names, model_count, input_counts, input_names,
input_descs, input_shapes, input_dtypes, input_quants, input_strides, the output_* twins,
model_descs, hbm_descs, sched_params); ``set_scheduling_params(priority=, bpu_cores=,
custom_id=, device_id=)``; ``run(tensor | {input: tensor} | {model: {input: tensor}},
model_name=)`` returning ``{model: {output: ndarray}}``, ValueError when a tensor's shape or
type does not match. Enums hbDNNDataType / hbDNNQuantiType; QuantParams (quant_type, axis,
scale, zero_point); SchedParam (priority, customId, bpu_cores, deviceId). S100 NV12 models
have a Y (1, H, W, 1) and a UV (1, H/2, W/2, 2) uint8 input. Not documented, assumed here:
asking for a BPU core the board lacks makes set_scheduling_params raise ValueError.
"""

import enum

from _rdk_fake_bpu import FakeNetwork
import numpy as np


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
    """Quantisation parameters of one tensor."""

    def __init__(self, quant_type=hbDNNQuantiType.NONE, axis=0, scale=(), zero_point=()):
        self.quant_type = quant_type
        self.axis = axis
        self.scale = np.asarray(scale, np.float32)
        self.zero_point = np.asarray(zero_point, np.int32)


class SchedParam:
    """Scheduling parameters of one model."""

    def __init__(self, priority=0, customId=0, bpu_cores=(-1,), deviceId=0):
        self.priority = priority
        self.customId = customId
        self.bpu_cores = list(bpu_cores)
        self.deviceId = deviceId


class HB_HBMRuntime:
    """Loads one or more model files and runs them."""

    def __init__(self, model_file):
        files = [model_file] if isinstance(model_file, str) else list(model_file)
        self._nets = {}
        self._files = {}
        for path in files:
            net = FakeNetwork(path)
            self._nets[net.name] = net
            self._files[net.name] = path
        self._sched = {name: SchedParam() for name in self._nets}

    @staticmethod
    def version() -> str:
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
        for i, (raw, scale) in enumerate(zip(net.outputs, net.scales)):
            if scale is None:
                out[f'output{i}'] = (list(raw.shape), hbDNNDataType.F32, QuantParams())
            else:
                out[f'output{i}'] = (list(raw.shape), hbDNNDataType.S32, QuantParams(
                    hbDNNQuantiType.SCALE, 3, scale, np.zeros(len(scale))))
        return out

    model_names = property(lambda self: list(self._nets))
    model_count = property(lambda self: len(self._nets))
    model_descs = property(lambda self: {n: '' for n in self._nets})
    hbm_descs = property(lambda self: {self._files[n]: '' for n in self._nets})
    input_counts = property(lambda self: {n: len(self._inputs(t)) for n, t in self._nets.items()})
    input_names = property(lambda self: {n: list(self._inputs(t)) for n, t in self._nets.items()})
    input_descs = property(lambda self: {n: {k: '' for k in self._inputs(t)}
                                         for n, t in self._nets.items()})
    input_shapes = property(lambda self: {n: {k: list(v[0]) for k, v in self._inputs(t).items()}
                                          for n, t in self._nets.items()})
    input_dtypes = property(lambda self: {n: {k: v[1] for k, v in self._inputs(t).items()}
                                          for n, t in self._nets.items()})
    input_quants = property(lambda self: {n: {k: QuantParams() for k in self._inputs(t)}
                                          for n, t in self._nets.items()})
    input_strides = property(lambda self: {n: {k: [-1] * 4 for k in self._inputs(t)}
                                           for n, t in self._nets.items()})
    output_counts = property(lambda self: {n: len(self._outputs(t))
                                           for n, t in self._nets.items()})
    output_names = property(lambda self: {n: list(self._outputs(t))
                                          for n, t in self._nets.items()})
    output_descs = property(lambda self: {n: {k: '' for k in self._outputs(t)}
                                          for n, t in self._nets.items()})
    output_shapes = property(lambda self: {n: {k: list(v[0]) for k, v in self._outputs(t).items()}
                                           for n, t in self._nets.items()})
    output_dtypes = property(lambda self: {n: {k: v[1] for k, v in self._outputs(t).items()}
                                           for n, t in self._nets.items()})
    output_quants = property(lambda self: {n: {k: v[2] for k, v in self._outputs(t).items()}
                                           for n, t in self._nets.items()})
    output_strides = property(lambda self: {n: {k: [-1] * len(v[0])
                                                for k, v in self._outputs(t).items()}
                                            for n, t in self._nets.items()})
    sched_params = property(lambda self: dict(self._sched))

    # scheduling and inference -------------------------------------------------------------

    def set_scheduling_params(self, priority=None, bpu_cores=None, custom_id=None,
                              device_id=None) -> None:
        for name, cores in (bpu_cores or {}).items():
            net = self._nets[name]
            if any(c != -1 and not 0 <= c < net.bpu_cores for c in cores):
                raise ValueError(f'bpu core {cores} not available (board has {net.bpu_cores})')
            self._sched[name].bpu_cores = list(cores)
        for name, value in (priority or {}).items():
            if not 0 <= value <= 255:
                raise ValueError(f'priority {value} out of 0..255')
            self._sched[name].priority = value
        for name, value in (custom_id or {}).items():
            self._sched[name].customId = value
        for name, value in (device_id or {}).items():
            self._sched[name].deviceId = value

    def run(self, inputs, **kwargs):
        model_name = kwargs.pop('model_name', None)
        if kwargs:
            raise TypeError(f'unexpected keyword arguments {sorted(kwargs)}')
        if isinstance(inputs, dict) and inputs and all(isinstance(v, dict)
                                                       for v in inputs.values()):
            per_model = {n: v for n, v in inputs.items() if model_name in (None, n)}
        else:
            name = model_name or self._only_model()
            if isinstance(inputs, np.ndarray):
                names = list(self._inputs(self._nets[name]))
                if len(names) != 1:
                    raise ValueError(f'model {name} has {len(names)} inputs; pass a dict')
                inputs = {names[0]: inputs}
            per_model = {name: inputs}
        return {name: self._run_one(name, feeds) for name, feeds in per_model.items()}

    def _only_model(self) -> str:
        if len(self._nets) != 1:
            raise ValueError('several models are loaded: give model_name')
        return next(iter(self._nets))

    def _run_one(self, name, feeds):
        if name not in self._nets:
            raise ValueError(f'unknown model {name}')
        net = self._nets[name]
        spec = self._inputs(net)
        if set(feeds) != set(spec):
            raise ValueError(f'model {name} inputs are {sorted(spec)}, got {sorted(feeds)}')
        for key, (shape, _) in spec.items():
            tensor = feeds[key]
            if not isinstance(tensor, np.ndarray) or tensor.dtype != np.uint8 \
                    or list(tensor.shape) != shape:
                raise ValueError(f'input {key} must be uint8 {shape}, got '
                                 f'{getattr(tensor, "dtype", type(tensor))} '
                                 f'{list(getattr(tensor, "shape", ()))}')
        nv12 = np.concatenate([np.ascontiguousarray(feeds[k]).reshape(-1) for k in spec])
        raw = net.forward(nv12)
        return dict(zip(self._outputs(net), raw))
