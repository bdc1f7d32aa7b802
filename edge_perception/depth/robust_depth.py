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
Robust depth of an image region: the median of its valid pixels and their spread.

A box's inner region (the central ``inner_fraction`` of its width and height) keeps most of
the background out; a mask keeps only the object's pixels. Edge pixels (flying pixels of
time-of-flight and stereo cameras, half object, half background) are why the spread is
measured between two percentiles instead of min..max.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

__all__ = ['DepthStats', 'inner_region', 'pixel_range', 'region_stats', 'window_depth']


@dataclass(frozen=True)
class DepthStats:
    """Median depth, the low..high percentiles of the depths (metres) and the valid count."""

    median: float
    low: float
    high: float
    valid: int

    @property
    def spread(self) -> float:
        """Depth extent of the region, high - low percentile (metres)."""
        return self.high - self.low


def inner_region(x1, y1, x2, y2, fraction: float):
    """Return the central ``fraction`` of a box (edge coordinates), same centre."""
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
    return cx - hw * fraction, cy - hh * fraction, cx + hw * fraction, cy + hh * fraction


def pixel_range(lo: float, hi: float, size: int) -> Tuple[int, int]:
    """Return indices [a, b) of the pixels whose centres (i + 0.5) lie in lo..hi (edges)."""
    a = max(int(np.ceil(lo - 0.5)), 0)
    b = min(int(np.floor(hi - 0.5)) + 1, size)
    return a, max(a, b)


def region_stats(values: np.ndarray, percentiles=(10.0, 90.0),
                 min_valid: int = 1) -> Optional[DepthStats]:
    """Stats of the finite values of ``values`` (any shape), or None with fewer than min_valid."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size < max(1, int(min_valid)):
        return None
    low, median, high = np.percentile(values, [percentiles[0], 50.0, percentiles[1]])
    return DepthStats(float(median), float(low), float(high), int(values.size))


def window_depth(depth: np.ndarray, u: float, v: float, radius: int) -> float:
    """Median of the valid depths in the (2 radius + 1)^2 window around pixel (u, v), or NaN."""
    h, w = depth.shape
    i, j = int(round(float(u))), int(round(float(v)))
    if not (0 <= i < w and 0 <= j < h):
        return float('nan')
    patch = depth[max(j - radius, 0):j + radius + 1, max(i - radius, 0):i + radius + 1]
    patch = patch[np.isfinite(patch)]
    return float(np.median(patch)) if patch.size else float('nan')
