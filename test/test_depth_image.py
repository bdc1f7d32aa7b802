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
"""Depth Image decoding: 16UC1 millimetres and 32FC1 metres to float32 metres, NaN invalid."""

import math
import struct
from types import SimpleNamespace

from edge_perception.depth import decode_depth
import numpy as np
import pytest


def image(encoding, rows, fmt, bigendian=False, padding=0):
    """Build an Image-like message whose bytes are packed by struct, row by row."""
    order = '>' if bigendian else '<'
    data = b''.join(struct.pack(order + fmt * len(r), *r) + b'\xab' * padding for r in rows)
    return SimpleNamespace(encoding=encoding, height=len(rows), width=len(rows[0]),
                           step=len(data) // len(rows), is_bigendian=int(bigendian), data=data)


@pytest.mark.parametrize('bigendian', [False, True])
def test_16uc1_millimetres_with_zero_invalid_and_row_padding(bigendian):
    rows = [[0, 1, 1500], [65535, 250, 0]]
    depth = decode_depth(image('16UC1', rows, 'H', bigendian, padding=2))
    assert depth.dtype == np.float32 and depth.shape == (2, 3)
    expected = [[math.nan, 0.001, 1.5], [65.535, 0.25, math.nan]]
    np.testing.assert_allclose(depth, expected, rtol=1e-6)   # NaN == NaN here


def test_32fc1_metres_nan_inf_and_non_positive_are_invalid():
    rows = [[1.25, math.nan, math.inf], [-1.0, 0.0, 3.5]]
    depth = decode_depth(image('32FC1', rows, 'f'))
    np.testing.assert_array_equal(np.isnan(depth), [[False, True, True], [True, True, False]])
    assert depth[0, 0] == 1.25 and depth[1, 2] == 3.5


def test_bad_depth_images_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="'mono16' is not a depth encoding"):
        decode_depth(image('mono16', [[1, 2]], 'H'))
    short = image('16UC1', [[1, 2], [3, 4]], 'H')
    short.data = short.data[:-1]
    with pytest.raises(ValueError, match='data has 7 bytes, expected 2 rows x 4 = 8'):
        decode_depth(short)
    odd = image('32FC1', [[1.0, 2.0]], 'f')
    odd.step = 7
    with pytest.raises(ValueError, match='step 7'):
        decode_depth(odd)
    empty = image('16UC1', [[1]], 'H')
    empty.width = 0
    with pytest.raises(ValueError, match='empty'):
        decode_depth(empty)


def test_a_real_sensor_msgs_image_with_row_padding():
    from .helpers import raw_image
    mm = np.array([[0, 800, 1200], [4000, 0, 65535]], np.uint16)
    for bigendian in (False, True):
        msg = raw_image(mm, '16UC1', padding=3, bigendian=bigendian)
        depth = decode_depth(msg)
        np.testing.assert_allclose(depth, [[math.nan, 0.8, 1.2], [4.0, math.nan, 65.535]],
                                   rtol=1e-6)
