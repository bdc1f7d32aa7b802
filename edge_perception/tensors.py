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
Raw model outputs that are still quantised, and their dequantisation.

int8/uint8 with zero point and scale, or int32 with a per-channel scale: kept raw so decoders
can threshold without dequantising everything.
"""

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

Number = Union[int, float]


@dataclass
class QuantizedTensor:
    """real = (data - zero_point) * scale; per channel when scale is an array along ``axis``."""

    data: np.ndarray
    scale: Union[Number, np.ndarray]
    zero_point: Union[Number, np.ndarray] = 0
    axis: Optional[int] = None

    def __post_init__(self):
        self.data = np.asarray(self.data)
        per_channel = np.ndim(self.scale) > 0 and np.size(self.scale) > 1
        if per_channel:
            if self.axis is None:
                raise ValueError('a per-channel scale needs the channel axis')
            axis = self.axis % self.data.ndim
            if np.size(self.scale) != self.data.shape[axis]:
                raise ValueError(f'{np.size(self.scale)} scales for {self.data.shape[axis]} '
                                 f'channels on axis {axis} of {self.data.shape}')
            self.axis = axis
        else:
            self.scale = float(np.reshape(self.scale, -1)[0])
            self.zero_point = float(np.reshape(self.zero_point, -1)[0])
            self.axis = None

    @property
    def shape(self):
        return self.data.shape

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    def dequantize(self) -> np.ndarray:
        """Return the whole tensor as float32."""
        if not self.per_channel:
            return (self.data.astype(np.float32) - self.zero_point) * np.float32(self.scale)
        shape = [1] * self.data.ndim
        shape[self.axis] = -1
        scale = np.reshape(np.asarray(self.scale, np.float32), shape)
        zero = np.reshape(np.broadcast_to(np.asarray(self.zero_point, np.float32),
                                          np.shape(self.scale)), shape)
        return (self.data.astype(np.float32) - zero) * scale


def quantize(real: np.ndarray, scale: float, zero_point: int, dtype=np.int8) -> QuantizedTensor:
    """Per-tensor affine quantisation with saturation (how NPUs emit int8 outputs)."""
    info = np.iinfo(dtype)
    q = np.clip(np.round(np.asarray(real, np.float32) / scale) + zero_point, info.min, info.max)
    return QuantizedTensor(q.astype(dtype), scale, zero_point)


def to_float(tensor) -> np.ndarray:
    """Return any output (float array of any precision, or QuantizedTensor) as float32."""
    if isinstance(tensor, QuantizedTensor):
        return tensor.dequantize()
    return np.asarray(tensor, dtype=np.float32)


def shape_of(tensor) -> tuple:
    """Shape of a float array or QuantizedTensor."""
    return tuple(tensor.shape)
