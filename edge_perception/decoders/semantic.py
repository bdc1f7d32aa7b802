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
Semantic segmentation logits, (1, C, H, W) or (1, H, W, C), into a class per source pixel.

When the map is coarser than the input, the logits are upsampled bilinearly to the input size
first (what the vendors' DeepLabV3 flow does), then the argmax is taken, then the class map is
mapped through the inverse letterbox to the source size with nearest-neighbour sampling. The
argmax of quantised outputs runs on the raw integers (a per-tensor affine map keeps the order),
and NCHW maps are reduced channel by channel (no transposed copy).
"""

from typing import Optional, Tuple

import cv2
import numpy as np

from ..layouts import Binding
from ..preprocess import Letterbox
from ..results import SemanticMap
from ..tensors import QuantizedTensor

# cv2.resize handles at most this many channels at once (CV_CN_MAX)
_CV_MAX_CHANNELS = 512


def _argmax_channels_first(maps: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W) uint16 index of the largest channel (the first one on ties)."""
    best = maps[0].copy()
    index = np.zeros(best.shape, np.uint16)
    for c in range(1, len(maps)):
        higher = maps[c] > best
        index[higher] = c
        np.maximum(best, maps[c], out=best)
    return index


def _upsample(hwc: np.ndarray, size_hw: Tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an (h, w, C) float32 map, in channel blocks cv2 can take."""
    h, w = size_hw
    if hwc.shape[2] <= _CV_MAX_CHANNELS:
        out = cv2.resize(hwc, (w, h), interpolation=cv2.INTER_LINEAR)
        return out.reshape(h, w, -1)
    blocks = [cv2.resize(np.ascontiguousarray(hwc[:, :, i:i + _CV_MAX_CHANNELS]), (w, h),
                         interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
              for i in range(0, hwc.shape[2], _CV_MAX_CHANNELS)]
    return np.concatenate(blocks, axis=2)


def class_map_at_input(output, binding: Binding, input_hw: Tuple[int, int]) -> np.ndarray:
    """(H_in, W_in) uint16 argmax of the logits, upsampled bilinearly when coarser."""
    quant = isinstance(output, QuantizedTensor)
    if quant and output.per_channel:
        raw = output.dequantize()        # per-channel scales change the order: real values
    else:
        raw = output.data if quant else np.asarray(output)
    maps = raw[0]
    channels_last = binding.layout.channels_last
    h, w = maps.shape[:2] if channels_last else maps.shape[1:]
    if (h, w) != tuple(input_hw):
        hwc = maps if channels_last else maps.transpose(1, 2, 0)
        up = _upsample(np.ascontiguousarray(hwc, np.float32), input_hw)
        return up.argmax(axis=2).astype(np.uint16)
    if channels_last:
        return maps.argmax(axis=2).astype(np.uint16)
    return _argmax_channels_first(maps)


def to_source(class_map: np.ndarray, letterbox: Optional[Letterbox]) -> np.ndarray:
    """Map an input-sized class map to the source image (nearest neighbour, 0 outside)."""
    if letterbox is None:
        return class_map
    # source pixel centre u + 0.5 -> input coordinate, in pixel-index units (centres at ints)
    warp = np.array([[letterbox.scale_x, 0, 0.5 * letterbox.scale_x + letterbox.pad_x - 0.5],
                     [0, letterbox.scale_y, 0.5 * letterbox.scale_y + letterbox.pad_y - 0.5]],
                    np.float64)
    return cv2.warpAffine(class_map, warp, (letterbox.src_width, letterbox.src_height),
                          flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def decode_semantic(outputs, binding: Binding, input_hw: Tuple[int, int],
                    letterbox: Optional[Letterbox], class_names) -> SemanticMap:
    """Return the class of every source pixel."""
    output = outputs[binding.global_outputs.get('dense', 0)]
    return SemanticMap(to_source(class_map_at_input(output, binding, input_hw), letterbox),
                       class_names)
