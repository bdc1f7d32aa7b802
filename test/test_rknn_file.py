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
The .rknn file reader (``rknn_version.read_rknn_info``) against a real rknn-toolkit2 file.

``test/data/tiny_conv_rk3588_int8.rknn`` was built by rknn-toolkit2 2.5.0
(``test/data/make_tiny_rknn.py``): file format version 6, so its model blob starts at byte 64.
Files of format version 0 and 1 start it at byte 24 (``RKNNModel.parse_data`` of the 2.5.0
Lite2 wheel: ``64 if version >= 2 else 24``).
"""

import struct

from edge_perception.backends import rknn_version
from edge_perception.backends.rknn_backend import RknnLiteBackend
import numpy as np
import pytest

from .rknn_board import forget_rknnlite, make_board, REAL_RKNN, write_rknn


@pytest.fixture
def board(tmp_path, monkeypatch):
    forget_rknnlite()
    yield make_board(tmp_path, monkeypatch)
    forget_rknnlite()


def test_the_real_file_is_format_6_with_its_data_at_byte_64():
    with open(REAL_RKNN, 'rb') as f:
        data = f.read()
    assert data[:4] == b'RKNN' and struct.unpack_from('<Q', data, 8)[0] == 6
    blob = struct.unpack_from('<Q', data, 16)[0]
    json_size = struct.unpack_from('<Q', data, 64 + blob)[0]
    assert 64 + blob + 8 + json_size == len(data)       # blob at 64, then the JSON, then EOF
    assert data[64 + blob + 8:64 + blob + 9] == b'{'


def test_reader_gets_versions_and_shapes_of_the_real_file():
    info = rknn_version.read_rknn_info(REAL_RKNN)
    assert info.format_version == 6
    assert info.toolkit_version == '2.5.0'
    assert info.target_platforms == ('rk3588',)
    assert info.input_shapes == [(1, 3, 32, 32)]
    assert info.output_shapes == [(1, 2, 32, 32), (1, 4, 16, 16)]
    assert info.note == ''


@pytest.mark.parametrize('format_version', [0, 1, 2, 6])
def test_reader_follows_the_format_version(tmp_path, format_version):
    path = write_rknn(tmp_path / 'm.rknn', toolkit='1.2.0', size=64,
                      format_version=format_version)
    with open(path, 'rb') as f:
        data = f.read()
    start = data.index(b'{"target_platform"') - 8 - 256    # JSON, its size, the 256-byte blob
    assert start == (24 if format_version < 2 else 64)
    info = rknn_version.read_rknn_info(path)
    assert (info.format_version, info.toolkit_version) == (format_version, '1.2.0')
    assert info.input_shapes == [(1, 3, 64, 64)] and len(info.output_shapes) == 9


def test_the_real_file_loads_through_the_real_rknn_lite(board):
    backend = RknnLiteBackend(REAL_RKNN)
    try:
        assert backend.input_shape == (1, 32, 32, 3)
        assert backend.output_shapes == [(1, 2, 32, 32), (1, 4, 16, 16)]
        assert backend.report.toolkit_version == '2.5.0' and backend.findings == []
        from rknnlite.api import RKNNLite
        assert RKNNLite().list_support_target_platform(REAL_RKNN)['filled_target_platform'] \
            == ['RK3588']
        outputs = backend.infer(np.full((1, 32, 32, 3), 51, np.uint8))
        assert [o.dtype for o in outputs] == [np.float32] * 2
    finally:
        backend.close()
