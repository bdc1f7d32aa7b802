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
Raw head tensors viewed as 2-D planes, thresholded in their raw (logit / quantised) space.

The cheap path every decoder relies on: a probability threshold is converted once into the
tensor's own domain (logit, then int8 with the tensor's scale and zero point), compared with
the raw data in one vectorised pass, and only the few cells above it are dequantised and
activated. Nothing is dequantised or sigmoided for cells that cannot hold an object.
"""

import math
from typing import Optional

import numpy as np

from ..tensors import QuantizedTensor


def logit(p: float) -> float:
    """Inverse sigmoid, clamped away from 0 and 1."""
    p = min(max(float(p), 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function (float32 in, float32 out)."""
    return 1.0 / (1.0 + np.exp(-x))


class Plane:
    """
    One output tensor as a 2-D raw view, channel-major (C, cells) or cell-major (cells, C).

    ``channels`` selects a channel range (the dense layout keeps box and class rows in one
    tensor). Grids are (1, C, H, W) / (1, H, W, C); dense tensors are (1, C, A) / (1, A, C).
    """

    def __init__(self, tensor, channels_last: bool, channels: slice = slice(None)):
        self.quant: Optional[QuantizedTensor] = (
            tensor if isinstance(tensor, QuantizedTensor) else None)
        data = tensor.data if self.quant is not None else np.asarray(tensor)
        if data.ndim == 4:
            n_cells = data.shape[1] * data.shape[2] if channels_last else \
                data.shape[2] * data.shape[3]
            data = data.reshape(n_cells, -1) if channels_last else data.reshape(-1, n_cells)
        elif data.ndim == 3:
            data = data[0]
        else:
            raise ValueError(f'cannot view output of shape {data.shape} as a plane')
        self.channels_last = channels_last
        self.raw = data[:, channels] if channels_last else data[channels]
        self.n_cells = self.raw.shape[0] if channels_last else self.raw.shape[1]
        self.n_channels = self.raw.shape[1] if channels_last else self.raw.shape[0]
        if self.quant is not None and self.quant.per_channel:
            self.scale = np.asarray(self.quant.scale, np.float32)[channels]
            self.zero = np.broadcast_to(np.asarray(self.quant.zero_point, np.float32),
                                        np.shape(self.quant.scale))[channels]
        elif self.quant is not None:
            self.scale, self.zero = np.float32(self.quant.scale), np.float32(self.quant.zero_point)

    def raw_threshold(self, value: float):
        """
        Return the raw threshold equivalent to ``real >= value`` (None: nothing passes).

        Per-tensor quantisation only: real >= v  <=>  q >= ceil(v / scale + zero_point).
        """
        if self.quant is None:
            return value
        q = math.ceil(value / float(self.scale) + float(self.zero) - 1e-6)
        if np.issubdtype(self.raw.dtype, np.integer):
            info = np.iinfo(self.raw.dtype)
            if q > info.max:
                return None
            q = max(q, info.min)
        return q

    def cells_at_least(self, value: float) -> np.ndarray:
        """Sorted unique cell indices where any channel is >= ``value`` (a real number)."""
        if self.quant is not None and self.quant.per_channel:
            # No single raw threshold exists; per-channel scales only occur on box/coefficient
            # heads in practice, so this slow path is for completeness.
            hits = np.flatnonzero(self.rows(np.arange(self.n_cells)) >= value)
            return np.unique(hits // self.n_channels)
        thr = self.raw_threshold(value)
        if thr is None:
            return np.zeros(0, np.intp)
        above = self.raw >= thr
        if not self.channels_last:          # (C, cells): a row-wise OR is one SIMD pass
            return np.flatnonzero(above.any(axis=0))
        # (cells, C): a short-axis reduction is slow, so index the few hits instead, unless
        # there are many (a flood of candidates), where the reduction wins.
        hits = np.flatnonzero(above)
        if len(hits) > self.n_cells // 4:
            return np.flatnonzero(above.any(axis=1))
        return np.unique(hits // self.n_channels)

    def rows(self, cells: np.ndarray) -> np.ndarray:
        """(len(cells), C) float32 values of the given cells, dequantised."""
        raw = self.raw[cells] if self.channels_last else self.raw[:, cells].T
        if self.quant is None:
            return raw.astype(np.float32, copy=False)
        return (raw.astype(np.float32) - self.zero) * self.scale
