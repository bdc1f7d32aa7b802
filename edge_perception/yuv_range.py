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
The two BT.601 ranges an NV12 model input can be compiled for, and BGR -> I420 in each.

``video`` (Y 16..235, U/V 16..240): OpenCV's ``COLOR_BGR2YUV_I420``, what the D-Robotics demos
feed; an RDK model built with hb_mapper ``input_space_and_range: bt601_video`` decodes it.
``full`` (Y, U, V 0..255, JPEG's): what an RDK model built with hb_mapper's default
``regular`` decodes (its ``HzPreprocess`` is ``YUV_BT601_FULL_RANGE``). Both work on each 2x2
block alone (``full``: OpenCV's ``COLOR_BGR2YCrCb``, JPEG's full-range BT.601, per pixel, the
chroma averaged over the block; OpenCV's ``COLOR_BGR2YUV`` is not it: its U, V are analogue
PAL's 0.492 (B - Y) and 0.877 (R - Y)), so a letterbox's pad blocks are one constant colour in
either range.
"""

import cv2
import numpy as np

YUV_RANGES = ('video', 'full')
# hb_mapper input_space_and_range value of each range
MAPPER_SPACE_AND_RANGE = {'video': 'bt601_video', 'full': 'regular'}


def check_yuv_range(value: str) -> None:
    """Raise ValueError unless ``value`` is one of YUV_RANGES."""
    if value not in YUV_RANGES:
        raise ValueError(f'yuv_range {value!r} is not one of {YUV_RANGES}')


def bgr_to_i420(image: np.ndarray, yuv_range: str = 'video') -> np.ndarray:
    """Return the (h*3/2, w) I420 of a BGR image with even sides, in ``yuv_range``."""
    check_yuv_range(yuv_range)
    if yuv_range == 'video':
        return cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
    height, width = image.shape[:2]
    ycrcb = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2YCrCb)
    # an exact halving with INTER_AREA is the rounded mean of each 2x2 block
    chroma = cv2.resize(ycrcb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    i420 = np.empty((height * 3 // 2, width), np.uint8)
    flat = i420.reshape(-1)
    area, quarter = height * width, height * width // 4
    flat[:area] = ycrcb[..., 0].reshape(-1)
    flat[area:area + quarter] = chroma[..., 2].reshape(-1)        # Cb = U
    flat[area + quarter:] = chroma[..., 1].reshape(-1)            # Cr = V
    return i420


def bgr_to_nv12_in(image: np.ndarray, yuv_range: str = 'video') -> np.ndarray:
    """Convert a BGR image with even sides to a flat NV12 buffer in ``yuv_range``."""
    from .yuv_frames import check_nv12_size, i420_into_nv12, nv12_planes
    height, width = image.shape[:2]
    check_nv12_size(width, height)
    nv12 = np.empty(height * width * 3 // 2, np.uint8)
    y_plane, uv_plane = nv12_planes(nv12, width, height)
    i420_into_nv12(bgr_to_i420(image, yuv_range), y_plane, uv_plane)
    return nv12
