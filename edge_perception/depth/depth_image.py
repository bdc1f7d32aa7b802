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
Depth images (``sensor_msgs/Image`` fields) to float32 metres, invalid pixels NaN.

``16UC1``: unsigned millimetres, 0 = no measurement (REP-118). ``32FC1``: metres; NaN, +-inf
and values <= 0 are no measurement. Anything else is refused with the reason: ``mono16`` is
a grey image, not a depth unit. Works on any object with the Image fields (height, width,
encoding, is_bigendian, step, data), so it needs no ROS import.
"""

import numpy as np

__all__ = ['DEPTH_ENCODINGS', 'decode_depth', 'depth_from_array']

#: encoding -> (element dtype, little endian, metres per unit)
DEPTH_ENCODINGS = {'16UC1': ('u2', 0.001), '32FC1': ('f4', 1.0)}


def decode_depth(msg) -> np.ndarray:
    """
    Return the (height, width) float32 depth in metres of a depth Image, NaN where invalid.

    Raises ValueError naming what is wrong: unknown encoding, empty image, a step shorter
    than a row, data shorter than height x step.
    """
    encoding = str(msg.encoding)
    if encoding not in DEPTH_ENCODINGS:
        raise ValueError(f'depth image encoding {encoding!r} is not a depth encoding '
                         f'(expected one of {sorted(DEPTH_ENCODINGS)})')
    kind, unit = DEPTH_ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ValueError(f'depth image is empty ({width}x{height})')
    itemsize = np.dtype(kind).itemsize
    if step < width * itemsize:        # any padding after a row is allowed, odd too
        raise ValueError(f'depth image step {step} is shorter than {width} {encoding} pixels '
                         f'({width * itemsize} bytes)')
    data = msg.data
    buffer = np.frombuffer(data if isinstance(data, (bytes, bytearray)) else memoryview(data),
                           dtype=np.uint8)
    if buffer.size < height * step:
        raise ValueError(f'depth image data has {buffer.size} bytes, expected '
                         f'{height} rows x {step} = {height * step}')
    dtype = np.dtype(('>' if msg.is_bigendian else '<') + kind)
    rows = buffer[:height * step].reshape(height, step)[:, :width * itemsize]
    values = np.ascontiguousarray(rows).view(dtype).reshape(height, width)
    return depth_from_array(values, unit)


def depth_from_array(values: np.ndarray, metres_per_unit: float) -> np.ndarray:
    """Scale raw depth values to float32 metres; 0, negative, NaN and inf become NaN."""
    depth = values.astype(np.float32) * np.float32(metres_per_unit)
    depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth
