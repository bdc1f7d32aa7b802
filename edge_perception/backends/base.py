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
"""The backend interface every runtime implements (ONNX Runtime, RKNNLite, RDK BPU)."""

from abc import ABC, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple


class Backend(ABC):
    """
    Runs one model file. Subclasses fill the attributes in ``__init__``.

    input_shape: the model's input tensor shape (dims may be -1 when dynamic).
    input_dtype: 'float32', 'float16' or 'uint8'.
    output_shapes: static output shapes, in output order.
    vendor: layout tie-break hint ('rknn', 'rdk' or None).
    metadata: key/value metadata stored in the model file (ultralytics writes names, imgsz).
    """

    name = 'base'
    vendor: Optional[str] = None
    #: InputSpec fields of the model card the backend needs as options, because it builds the
    #: model itself (the simulator bakes mean/std into the model it builds).
    card_input_options: Tuple[str, ...] = ()

    def __init__(self):
        self.input_shape: Tuple[int, ...] = ()
        self.input_dtype = 'float32'
        self.output_shapes: List[Tuple[int, ...]] = []
        self.metadata: Dict[str, str] = {}

    @abstractmethod
    def infer(self, tensor) -> Sequence:
        """Run one input tensor; return the outputs (arrays or QuantizedTensor) in order."""

    def close(self) -> None:
        """Release the runtime's resources (idempotent)."""

    def describe(self) -> str:
        return f'{self.name} input {tuple(self.input_shape)} {self.input_dtype}'
