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
PC validation of an RDK build: the int8 model hb_mapper made, run on the CPU or in hbdk-sim.

It shows what the BPU will detect before a board is flashed, through the same pre-processing
(NV12 in, as on the board: a BGR frame is letterboxed and converted as the rdk backend does, in
the range the model decodes (``input_yuv_range``: read from its ``HzPreprocess`` or the .bin's
metadata), an NV12 frame of the input size goes in unconverted) and the same decoders. Two
engines, by file:

- ``*_quantized_model.onnx`` (written by ``hb_mapper makertbin`` beside the ``.bin``): run by
  the toolchain's ``HB_ONNXRuntime`` on the BPU's view of the frame (YUV444 int8, chroma
  repeated 2x2, minus 128). Fast (ONNX Runtime); the ``.bin``'s outputs equal it bit for bit
  (``edge-perception verify`` checks that with hbdk-sim).
- ``.bin``: the compiled BPU program itself, extracted and run per frame by ``hbdk-sim`` (the
  vendor's BPU simulator), then dequantised with the .bin's scales. Exact, slower (a process
  per frame).

x86_64 PCs only, in the rdk environment (``scripts/setup_tool_env.sh rdk``, Python 3.10); the
toolchain (``horizon_tc_ui``) is imported only when this backend is created. Reading the
.bin, running hbdk-sim and the BPU's view of NV12 are in ``rdk_sim_io`` (runtime side: this
backend never imports ``edge_perception.tools``).
"""

from typing import Iterable, Optional

import numpy as np

from . import BACKENDS
from .base import Backend
from .rdk_sim_io import bpu_input, read_bin, simulate_bin
from ..affinity import pinned
from ..errors import BackendUnavailableError, ModelLoadError


def preprocess_range(input_type: str) -> str:
    """
    Return the NV12 range an HzPreprocess ``input_type`` decodes ('full' or 'video').

    hb_mapper 1.24.3 writes ``YUV_BT601_VIDEO_RANGE_128`` for input_space_and_range
    bt601_video and ``YUV_BT601_FULL_RANGE_128`` for regular.
    """
    return 'video' if 'VIDEO' in input_type.upper() else 'full'


NOT_QUANTIZED = ('is not a quantized RDK model: give the *_quantized_model.onnx or the .bin '
                 'that `edge-perception convert --target rdk_x5` (hb_mapper makertbin) wrote')


class RdkSimulatorBackend(Backend):
    """
    An RDK int8 build on a PC: its quantized ONNX (HB_ONNXRuntime) or its .bin (hbdk-sim).

    path: ``*_quantized_model.onnx`` or ``.bin`` of an NV12-input model. threads: accepted and
    ignored (neither HB_ONNXRuntime nor hbdk-sim takes a thread setting). cpu_affinity: CPU ids
    the session is created on (its threads inherit them).
    """

    name = 'rdk_sim'
    vendor = 'rdk'

    def __init__(self, path: str, threads: int = 0, cpu_affinity: Optional[Iterable[int]] = None,
                 **options):
        super().__init__()
        if options:
            raise ValueError(f'backend rdk_sim has no options {sorted(options)} (it takes '
                             'threads, cpu_affinity)')
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) \
                or threads < 0:
            raise ValueError(f'backend rdk_sim: threads {threads!r} must be an integer >= 0')
        try:
            import horizon_tc_ui  # noqa: F401  (the toolchain; imported here, never at start-up)
        except ImportError as exc:
            raise BackendUnavailableError(
                f'backend rdk_sim needs the D-Robotics toolchain ({exc}). '
                f'Fix: {BACKENDS["rdk_sim"][2]}') from None
        self.path = str(path)
        #: 'nv12': Model._input_spec feeds NV12, as on the board.
        self.input_color = 'nv12'
        self.input_dtype = 'uint8'
        with pinned(cpu_affinity):
            if self.path.lower().endswith('.bin'):
                self._load_bin()
            else:
                self._load_onnx()
        self._closed = False

    def _load_onnx(self) -> None:
        import onnx
        from horizon_tc_ui.hb_onnxruntime import HB_ONNXRuntime
        try:
            proto = onnx.load(self.path)
        except Exception as exc:  # onnx raises DecodeError, FileNotFoundError, ...
            raise ModelLoadError(f'{self.path} is not a readable ONNX model: {exc}') from None
        preprocess = [n for n in proto.graph.node
                      if n.op_type in ('HzSQuantizedPreprocess', 'HzPreprocess')]
        inputs = list(proto.graph.input)
        if len(inputs) != 1 or not preprocess:
            raise ModelLoadError(f'{self.path} {NOT_QUANTIZED}')
        kind = next((onnx.helper.get_attribute_value(a).decode() for a in
                     preprocess[0].attribute if a.name == 'input_type'), '')
        dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
        if not kind.startswith('YUV') or len(dims) != 4 or dims[3] != 3:
            raise ModelLoadError(f'{self.path}: input {inputs[0].name} {dims} ({kind or "?"}) is '
                                 'not an NV12-compiled model (input_type_rt: nv12); rdk_sim '
                                 'feeds NV12 only')
        self._height, self._width = dims[1], dims[2]
        self.input_yuv_range = preprocess_range(kind)
        self.metadata = {p.key: p.value for p in proto.metadata_props}
        self._session = HB_ONNXRuntime(onnx_model=proto)
        self._input_name = self._session.input_names[0]
        self._output_names = list(self._session.output_names)
        self.output_shapes = [tuple(int(d) for d in s) for s in self._session.output_shapes]
        self.engine = 'HB_ONNXRuntime'
        self.input_shape = (1, 3, self._height, self._width)

    def _load_bin(self) -> None:
        self._info = read_bin(self.path)
        (entry,) = self._info['inputs']
        if entry['tensor_type'] != 'NV12':
            raise ModelLoadError(f'{self.path}: input tensor_type {entry["tensor_type"]}; '
                                 'rdk_sim feeds NV12 models only (input_type_rt: nv12)')
        self._height, self._width = entry['shape'][2:]
        self.input_yuv_range = self._info['yuv_range']
        self.output_shapes = [tuple(o['shape']) for o in self._info['outputs']]
        self.engine = 'hbdk-sim'
        self.input_shape = (1, 3, self._height, self._width)

    def infer(self, tensor):
        if self._closed:
            raise RuntimeError(f'rdk_sim backend for {self.path} is closed')
        nv12 = np.asarray(tensor)
        expected = self._height * self._width * 3 // 2
        if nv12.dtype != np.uint8 or nv12.size != expected:
            raise RuntimeError(f'rdk_sim input for {self.path} must be the flat uint8 NV12 '
                               f'buffer of {expected} bytes; got {nv12.dtype} '
                               f'{tuple(nv12.shape)}')
        if self.engine == 'hbdk-sim':
            return simulate_bin(self.path, nv12, self._info)
        feed = {self._input_name: bpu_input(nv12, self._width, self._height)}
        return self._session.run_direct(self._output_names, feed)

    def close(self) -> None:
        self._closed = True
        self._session = None

    def describe(self) -> str:
        return (f'rdk_sim ({self.engine}) input {tuple(self.input_shape)} {self.input_dtype} '
                'nv12')
