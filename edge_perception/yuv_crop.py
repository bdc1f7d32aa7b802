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
The classifier's centre crop of a YUV frame, converting only the window when nothing is resized.

A centre crop scales the frame to cover the input, then cuts out a window. When the frame
already covers it at scale 1 (one side equal), the window is a sub-rectangle of the frame: only
it is converted, widened to even coordinates (NV12 shares chroma over 2x2 blocks, YUYV/UYVY
over pixel pairs, so an aligned sub-rectangle converts to exactly the whole frame's pixels
there), then cut to the window. With a resize the whole frame is converted first, as before:
converting only the rectangle the resize reads (56-75 % of a 4:3 or 16:9 frame for a square
input) into the full-size image OpenCV's resize needs was measured slower (README).
"""

from typing import Tuple

import cv2
import numpy as np

from .yuv_frames import full_range_nv12_to_bgr, Nv12Frame, Yuv422Frame, YuvFrame


def convert_region(frame: YuvFrame, x: int, y: int, width: int, height: int) -> np.ndarray:
    """
    Return the BGR of the frame's sub-rectangle (x, width even; NV12: y, height even too).

    The planes are sliced as views (no copy), then converted as the whole frame would be.
    """
    if isinstance(frame, Nv12Frame):
        image, rows = frame.image, frame.height
        y_part = image[y:y + height, x:x + width]
        uv_part = image[rows + y // 2:rows + (y + height) // 2, x:x + width] \
            .reshape(height // 2, width // 2, 2)                   # U, V pairs (a view)
        if frame.yuv_range == 'full':
            return full_range_nv12_to_bgr(y_part, uv_part, (width, height), False)
        return cv2.cvtColorTwoPlane(y_part, uv_part, cv2.COLOR_YUV2BGR_NV12)
    if isinstance(frame, Yuv422Frame):
        return Yuv422Frame(frame.data[y:y + height, x:x + width], width, height,
                           frame.order).to_bgr()
    raise TypeError(f'cannot convert a region of a {type(frame).__name__}')


def center_crop_frame(frame: YuvFrame, new_size: Tuple[int, int],
                      window: Tuple[int, int, int, int], interpolation: int) -> np.ndarray:
    """
    Return ``frame`` in BGR resized to new_size = (w, h), cut to window = (x, y, w, h).

    The same bytes as ``cv2.resize(frame.to_bgr(), new_size)`` cut to the window (no resize
    when new_size is the frame's size: then only the window is converted).
    """
    x0, y0, width, height = window
    if tuple(new_size) != (frame.width, frame.height):
        resized = cv2.resize(frame.to_bgr(), tuple(new_size), interpolation=interpolation)
        return np.ascontiguousarray(resized[y0:y0 + height, x0:x0 + width])
    lo_x, hi_x = x0 - x0 % 2, x0 + width + (x0 + width) % 2
    lo_y, hi_y = y0, y0 + height
    if isinstance(frame, Nv12Frame):
        lo_y, hi_y = y0 - y0 % 2, y0 + height + (y0 + height) % 2
    part = convert_region(frame, lo_x, lo_y, hi_x - lo_x, hi_y - lo_y)
    if (lo_x, lo_y, hi_x, hi_y) == (x0, y0, x0 + width, y0 + height):
        return part
    return np.ascontiguousarray(part[y0 - lo_y:y0 - lo_y + height,
                                     x0 - lo_x:x0 - lo_x + width])
