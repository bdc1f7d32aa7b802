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
"""ONNX Runtime on the CPU: the default backend, which runs on any PC and in CI."""

from typing import Iterable, Optional

import numpy as np

from .base import Backend
from .onnx_graph import output_operators
from ..affinity import pinned
from ..errors import BackendUnavailableError, ModelLoadError

ORT_TYPES = {'tensor(float)': 'float32', 'tensor(float16)': 'float16', 'tensor(uint8)': 'uint8'}
# PaddleDetection exports (paddle2onnx) take these beside the image. Fed as the network input
# size and a scale of 1, the boxes stay in network-input pixels (the letterbox maps them back).
PADDLE_INPUTS = ('im_shape', 'scale_factor')


class OnnxRuntimeBackend(Backend):
    """
    One InferenceSession on the CPU execution provider.

    threads: intra-op threads (0 = ONNX Runtime's default, one per core).
    cpu_affinity: CPU ids for the session's worker threads; they are created pinned, and the
    thread that calls ``infer`` should pin itself too (the node's worker does).
    """

    name = 'onnxruntime'

    def __init__(self, path: str, threads: int = 0, cpu_affinity: Optional[Iterable[int]] = None,
                 **options):
        super().__init__()
        if options:
            raise ValueError(f'backend onnxruntime has no options {sorted(options)} '
                             '(it takes threads and cpu_affinity)')
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailableError(
                f'backend onnxruntime needs the Python package onnxruntime ({exc}). '
                'Fix: pip install onnxruntime') from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # A robot's CPUs are shared with the rest of the graph: idle pool threads must sleep,
        # not spin.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        options.log_severity_level = 3
        try:
            with pinned(cpu_affinity):
                self.session = ort.InferenceSession(path, options,
                                                    providers=['CPUExecutionProvider'])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelLoadError(f'onnxruntime cannot load {path}: {exc}') from None
        inp = self.session.get_inputs()
        extra = [i for i in inp if i.name in PADDLE_INPUTS]
        inp = [i for i in inp if i.name not in PADDLE_INPUTS]
        if len(inp) != 1:
            raise ModelLoadError(f'{path} has {len(inp)} inputs; image models have one')
        self.input_name = inp[0].name
        self.input_shape = tuple(d if isinstance(d, int) else -1 for d in inp[0].shape)
        if inp[0].type not in ORT_TYPES:
            raise ModelLoadError(f'{path}: input type {inp[0].type} is not supported '
                                 f'({", ".join(ORT_TYPES)})')
        self.input_dtype = ORT_TYPES[inp[0].type]
        size = [float(d) if isinstance(d, int) and d > 0 else 0.0 for d in inp[0].shape[2:4]]
        self._extra_feed = {i.name: np.asarray([size if i.name == 'im_shape' else [1.0, 1.0]],
                                               np.float32) for i in extra}
        self.output_shapes = [tuple(d if isinstance(d, int) else -1 for d in o.shape)
                              for o in self.session.get_outputs()]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        #: Per output, the graph operator computing it (e.g. 'Softmax'), None when unknown.
        try:
            operators = output_operators(path)
        except (OSError, ValueError, IndexError):
            operators = []
        names = [o.name for o in self.session.get_outputs()]
        self.output_operators = operators if len(operators) == len(names) else [None] * len(names)

    def infer(self, tensor):
        return self.session.run(None, {self.input_name: tensor, **self._extra_feed})

    def close(self) -> None:
        self.session = None
