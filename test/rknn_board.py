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
The simulated Rockchip board for the RKNN contract tests: files, .rknn writer, set-up.

``make_board`` makes ``import rknnlite`` load the REAL ``rknnlite`` package of
rknn-toolkit-lite2 2.5.0 (``<repo>/.vendor``, from ``scripts/fetch_vendor_wheels.sh``) with
only its compiled helpers replaced by the stand-ins in ``test/fakes/rknn_standin``, and lays
out the board's files (device-tree compatible, NPU driver version, ``librknnrt.so``) in a
temporary directory. A missing vendor package fails the test, naming the script that fetches it.
"""

import json
import os
import struct
import sys

from edge_perception.backends import rknn_version
import pytest

FAKES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fakes')
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
REAL_RKNN = os.path.join(DATA, 'tiny_conv_rk3588_int8.rknn')
SIZE = 320
COMMIT = '(429f97ae6b@2025-04-09T09:09:27)'


def write_rknn(path, platform='rk3588', toolkit='2.5.0', size=SIZE, num_classes=3,
               score_sum=True, with_json=True, format_version=6):
    """
    Write a .rknn container (header, model blob, JSON) laid out as rknn-toolkit2 2.5.0 does.

    The layout is that of ``test/data/tiny_conv_rk3588_int8.rknn``: ``RKNN``, 4 zero bytes,
    ``<Q`` format version, ``<Q`` blob size, zeros up to byte 64 (byte 24 for a format version
    below 2), the blob, ``<Q`` JSON size, the JSON (``norm_tensor`` and ``graph`` as the
    toolkit writes them). The tensors are an RKNN YOLOv8 split head (9 or 6 outputs).
    """
    tensors = [(1, 3, size, size)]
    for stride in (8, 16, 32):
        g = size // stride
        tensors += [(1, 64, g, g), (1, num_classes, g, g)] + ([(1, 1, g, g)] if score_sum else [])
    meta = {'target_platform': [platform], 'version': toolkit, 'input_num': 1,
            'output_num': len(tensors) - 1,
            'norm_tensor': [{'tensor_id': i, 'size': list(s), 'dim_num': len(s)}
                            for i, s in enumerate(tensors)],
            'graph': [{'left': 'input' if i == 0 else 'output',
                       'left_tensor_id': 0 if i == 0 else i - 1,
                       'right': 'norm_tensor', 'right_tensor_id': i}
                      for i in range(len(tensors))]}
    blob = bytes(256)
    header = b'RKNN' + bytes(4) + struct.pack('<QQ', format_version, len(blob))
    header += bytes((64 if format_version >= 2 else 24) - len(header))
    text = json.dumps(meta).encode() if with_json else b''
    with open(path, 'wb') as f:
        f.write(header + blob + struct.pack('<Q', len(text)) + text)
    return str(path)


class Harness:
    """The stand-in board (``rknn_standin.board.BOARD``) and its files in ``root``."""

    def __init__(self, board, root):
        self.board, self.root = board, root
        sysroot = root / 'sys'
        sysroot.mkdir()
        self.paths = rknn_version.SystemPaths(
            compatible=str(sysroot / 'compatible'),
            driver_version=(str(sysroot / 'rknpu_version'),),
            runtime_library=(str(sysroot / 'librknnrt.so'),))
        board.compatible = self.paths.compatible
        board.librknnrt = self.paths.runtime_library[0]
        self.set_soc('rk3588')
        self.set_driver('0.9.8')
        self.set_runtime('2.5.0')

    def set_soc(self, soc, compatible=True):
        """Make the board this SoC; compatible=False hides it from the device tree."""
        self.board.soc = soc
        path = self.paths.compatible
        if compatible:
            with open(path, 'wb') as f:
                f.write(f'vendor,{soc}-board\0rockchip,{soc}\0'.encode())
        elif os.path.exists(path):
            os.remove(path)

    def set_driver(self, version, readable=True):
        """Set the NPU driver version; readable=False removes the debugfs file (no root)."""
        self.board.driver_version = version
        path = self.paths.driver_version[0]
        if readable:
            with open(path, 'w') as f:
                f.write(f'RKNPU driver: v{version}\n')
        elif os.path.exists(path):
            os.remove(path)

    def set_runtime(self, version):
        """Install a librknnrt.so of this version (the file the runtime loads and reports)."""
        with open(self.paths.runtime_library[0], 'wb') as f:
            f.write(b'\x7fELF' + bytes(100) + f'librknnrt version: {version} {COMMIT}\0'.encode()
                    + bytes(100))

    def model(self, name='model.rknn', **kwargs):
        return write_rknn(self.root / name, **kwargs)

    def card(self, files=None, **kwargs):
        self.model(**kwargs)
        files = files or {'onnxruntime': 'missing.onnx', 'rknn': 'model.rknn'}
        path = self.root / 'card.yaml'
        path.write_text('name: fake_rknn\nclasses: [red, green, blue]\n'
                        f'files: {json.dumps(files)}\n')
        return str(path)


def make_board(tmp_path, monkeypatch, machine='aarch64'):
    """Load the real rknnlite with the stand-ins (this test only); return the Harness."""
    monkeypatch.syspath_prepend(FAKES)
    from rknn_standin import board, loader
    missing = loader.vendor_missing_message()
    if missing:
        pytest.fail(missing)
    loader.activate(monkeypatch, machine=machine)
    harness = Harness(board.reset(), tmp_path)
    monkeypatch.setattr(rknn_version, 'DEFAULT_PATHS', harness.paths)
    return harness


def forget_rknnlite():
    """Drop the rknnlite modules (real package and stand-ins) after a test."""
    for name in [m for m in sys.modules if m == 'rknnlite' or m.startswith('rknnlite.')]:
        del sys.modules[name]
