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
SIMULATION ONLY: an NPU stand-in for benchmarks, never a default and never chosen by ``auto``.

It replays a real model's outputs, recorded once from a real run (``record``: the model card's
ONNX file through ONNX Runtime on one image), at a fixed latency per call, so the pipeline's
own cost (pre-processing, decoding, the worker pool, publishing) can be measured on any PC as
if an NPU did the inference. ``SimulatedNpu`` has one lock per simulated core: a call holds its
core's lock and sleeps ``latency_ms`` (``time.sleep`` releases the GIL, as a vendor runtime
does while the NPU runs), so contexts on different cores overlap and contexts sharing a core
queue. Typical latencies: YOLOv8n 640x640 on one RK3588 core 13.6 ms, on an RDK X5 7.0 ms.
The recording stays in memory; nothing is written.
"""

import dataclasses
import threading
import time
from typing import List, Optional, Tuple

import numpy as np

from .base import Backend


@dataclasses.dataclass
class Recording:
    """A real model's outputs for one input, and what the model file declares."""

    outputs: List[np.ndarray]
    input_shape: Tuple[int, ...]
    input_dtype: str
    output_shapes: List[Tuple[int, ...]]
    metadata: dict
    vendor: Optional[str]
    spec: object                # the model card's ModelSpec
    options: object             # its DecodeOptions
    source: str                 # what ran, for describe()


def record(card: str, image_bgr: Optional[np.ndarray] = None) -> Recording:
    """
    Run ``card`` once through ONNX Runtime on ``image_bgr`` and keep its outputs.

    image_bgr: default the first sample picture (scikit-image's camera man).
    """
    from ..model import load_model
    from ..preprocess import preprocess
    if image_bgr is None:
        from ..samples import sample_images
        image_bgr = sample_images()[0][1]
    model = load_model(card, backend='onnxruntime', threads=1)
    try:
        tensor, _ = preprocess(image_bgr, model.input_spec)
        outputs = [np.array(o, copy=True) for o in model.backend.infer(tensor)]
        backend = model.backend
        return Recording(outputs, tuple(tensor.shape), backend.input_dtype,
                         list(backend.output_shapes), dict(backend.metadata), backend.vendor,
                         model.spec, model.options, f'{model.spec.name} via onnxruntime')
    finally:
        model.close()


class SimulatedNpu:
    """Simulated NPU cores: one lock each, a fixed latency per call; counts calls and overlap."""

    def __init__(self, cores: int, latency_ms: float):
        if cores < 1 or latency_ms < 0:
            raise ValueError(f'a simulated NPU needs cores >= 1 and latency >= 0 '
                             f'(got {cores}, {latency_ms})')
        self.cores, self.latency = cores, latency_ms / 1000.0
        self._locks = [threading.Lock() for _ in range(cores)]
        self._count = threading.Lock()
        self.calls = [0] * cores
        self.active = [0] * cores
        self.peak = [0] * cores         # most calls ever inside one core at once (1 = queued)

    def run(self, core: int) -> None:
        """Occupy ``core`` for one call: wait for it, then sleep the latency (GIL released)."""
        with self._locks[core]:
            with self._count:
                self.calls[core] += 1
                self.active[core] += 1
                self.peak[core] = max(self.peak[core], self.active[core])
            try:
                time.sleep(self.latency)
            finally:
                with self._count:
                    self.active[core] -= 1


class NpuStandinBackend(Backend):
    """A context on one simulated core that returns the recorded outputs (simulation)."""

    name = 'npu_standin'

    def __init__(self, recording: Recording, npu: SimulatedNpu, core: int = 0):
        super().__init__()
        if not 0 <= core < npu.cores:
            raise ValueError(f'core {core} is not one of the {npu.cores} simulated cores')
        self.recording, self.npu, self.core = recording, npu, core
        self.input_shape = recording.input_shape
        self.input_dtype = recording.input_dtype
        self.output_shapes = list(recording.output_shapes)
        self.metadata = dict(recording.metadata)
        self.vendor = recording.vendor
        self.closed = False

    def infer(self, tensor):
        if self.closed:
            raise RuntimeError('npu_standin: inference on a released context')
        if tuple(tensor.shape) != self.input_shape or str(tensor.dtype) != self.input_dtype:
            raise ValueError(f'npu_standin: input {tuple(tensor.shape)} {tensor.dtype}, the '
                             f'model takes {self.input_shape} {self.input_dtype}')
        self.npu.run(self.core)
        return [o.copy() for o in self.recording.outputs]     # a runtime hands out new arrays

    def close(self) -> None:
        self.closed = True

    def describe(self) -> str:
        return (f'{self.name} (SIMULATION: {self.recording.source} replayed, '
                f'{self.npu.latency * 1000:g} ms a call on core {self.core})')


def standin_model(recording: Recording, npu: SimulatedNpu, core: int = 0):
    """Return a Model (real pre-processing and decoding) whose inference is the stand-in."""
    from ..model import Model
    return Model(recording.spec, NpuStandinBackend(recording, npu, core), recording.options)
