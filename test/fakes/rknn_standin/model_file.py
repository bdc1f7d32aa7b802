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
How librknnrt reads a ``.rknn`` file (stand-in side; our own reader is rknn_version.py).

Layout, as the wheel's ``RKNNModel.parse_data`` (``rknn_model.so``) reads it and as files built
by rknn-toolkit2 2.5.0 are: ``RKNN`` magic (4 bytes) and 4 more, the file format version
(``<Q`` at 8), the model blob size (``<Q`` at 16); the blob starts at byte 24 when the format
version is below 2, at byte 64 otherwise; then the JSON size (``<Q``) and the JSON.
"""

import json
import struct


class ModelFileError(Exception):
    """The buffer is not a .rknn model librknnrt can read."""


def data_offset(format_version: int) -> int:
    """Return where the model blob starts for a file format version."""
    return 64 if format_version >= 2 else 24


def parse(data: bytes) -> dict:
    """Return the model's JSON plus 'format_version', 'inputs' and 'outputs' (shapes)."""
    if len(data) < 24 or data[:4] != b'RKNN':
        raise ModelFileError('Invalid RKNN format: no RKNN magic')
    version, blob = struct.unpack_from('<QQ', data, 8)
    start = data_offset(version) + blob
    if len(data) < start + 8:
        raise ModelFileError('Invalid RKNN format: the file ends inside the model blob')
    size = struct.unpack_from('<Q', data, start)[0]
    try:
        meta = json.loads(data[start + 8:start + 8 + size].decode('utf-8'))
    except ValueError:
        raise ModelFileError('Invalid RKNN format: unreadable model description') from None
    sizes = {t['tensor_id']: tuple(int(d) for d in t['size']) for t in meta['norm_tensor']}
    ports = {'input': {}, 'output': {}}
    for edge in meta['graph']:
        if edge['left'] in ports:
            ports[edge['left']][edge['left_tensor_id']] = sizes[edge['right_tensor_id']]
    meta['format_version'] = version
    meta['inputs'] = [s for _, s in sorted(ports['input'].items())]
    meta['outputs'] = [s for _, s in sorted(ports['output'].items())]
    return meta
