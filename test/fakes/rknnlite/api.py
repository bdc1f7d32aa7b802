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
Fake ``rknnlite.api.RKNNLite``: the documented RKNN-Toolkit Lite2 API, nothing more.

Surface and behaviour as documented (RKNPU User Guide, RKNN-Toolkit Lite2 API) and as the
2.3.2 wheel's ``rknnlite/api/rknn_lite.py`` implements it: the NPU_CORE_* constants;
``load_rknn`` only reads the file (0, or -1 when it is missing); ``init_runtime`` parses the
model and returns 0 or -1 (not loaded, not an RKNN file, model built for another SoC, model
newer than librknnrt, a core mask a single-core SoC cannot take; on RK3576 the masks with core
2 are replaced by the runtime with a warning); ``inference`` returns a list of float32 ndarrays
(NCHW as the model declares them) or None (not initialised, wrong inputs, or the board's
``inference_returns_none`` switch); ``get_sdk_version`` returns the ``RKNN VERSION`` text or
None before ``init_runtime``; ``release`` frees the runtime and may be called again.

Outputs are computed from the input: the bright region of the image (max channel > 128) is
the one object, its class the dominant RGB channel (red 0, green 1, blue 2, modulo the class
count), planted by ``edge_perception.synthetic.make_outputs('rknn', ...)``.
"""

import json
import os
import re
import struct
import sys

from edge_perception.synthetic import make_outputs, SyntheticObject
import numpy as np

from ._fake_board import BOARD, CORES


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def _version(text: str):
    match = re.search(r'(\d+)\.(\d+)\.(\d+)', text or '')
    return tuple(int(g) for g in match.groups()) if match else None


def _parse_model(data: bytes):
    """Return the model's JSON (as librknnrt would read it), or None when it is no RKNN model."""
    if len(data) < 64 or data[:4] != b'RKNN':
        return None
    blob = struct.unpack('<Q', data[16:24])[0]
    start = 64 + blob
    if len(data) < start + 8:
        return None
    size = struct.unpack('<Q', data[start:start + 8])[0]
    try:
        meta = json.loads(data[start + 8:start + 8 + size].decode('utf-8'))
    except ValueError:
        return None
    sizes = {t['tensor_id']: tuple(t['size']) for t in meta['norm_tensor']}
    ports = {'input': {}, 'output': {}}
    for edge in meta['graph']:
        ports[edge['left']][edge['left_tensor_id']] = sizes[edge['right_tensor_id']]
    meta['inputs'] = [s for _, s in sorted(ports['input'].items())]
    meta['outputs'] = [s for _, s in sorted(ports['output'].items())]
    return meta


class RKNNLite:
    """Fake of the RKNN-Toolkit Lite2 runtime object."""

    NPU_CORE_AUTO = 0
    NPU_CORE_0 = 1
    NPU_CORE_1 = 2
    NPU_CORE_2 = 4
    NPU_CORE_0_1 = 3
    NPU_CORE_0_1_2 = 7
    NPU_CORE_ALL = 0xffff

    def __init__(self, verbose=False, verbose_file=None):
        self.verbose = verbose
        self.rknn_data = None
        self.rknn_runtime = None

    def load_rknn(self, path):
        """Load RKNN model; return 0 on success, -1 on failure."""
        BOARD.record('load_rknn', path)
        if BOARD.fail_load or not os.path.exists(path):
            _log(f'E Invalid RKNN model path: {path}')
            return -1
        with open(path, 'rb') as f:
            self.rknn_data = f.read()
        return 0

    def init_runtime(self, target=None, device_id=None, async_mode=False,
                     core_mask=NPU_CORE_AUTO):
        """Init the runtime environment; return 0 on success, -1 on failure."""
        BOARD.record('init_runtime', core_mask)
        if self.rknn_data is None:
            _log('E Model is not loaded yet, this interface should be called after load_rknn!')
            return -1
        if self.rknn_runtime is not None:
            self.release()
        meta = _parse_model(self.rknn_data)
        if meta is None:
            _log('E RKNN: parseRKNN from buffer: Invalid RKNN format!')
            return -1
        platforms = [p.lower() for p in meta['target_platform']]
        same = {'rk3566', 'rk3568'}
        if BOARD.soc not in platforms and not (BOARD.soc in same and same & set(platforms)):
            _log(f'E RKNN: This rknn model is for {platforms[0]}, but current platform is '
                 f'{BOARD.soc}')
            return -1
        if _version(BOARD.runtime_version)[:2] < _version(meta['version'])[:2]:
            _log('E RKNN: Invalid RKNN model version 6')
            return -1
        masks = {self.NPU_CORE_AUTO, self.NPU_CORE_0, self.NPU_CORE_1, self.NPU_CORE_2,
                 self.NPU_CORE_0_1, self.NPU_CORE_0_1_2, self.NPU_CORE_ALL}
        if core_mask not in masks:
            return -1
        if core_mask != self.NPU_CORE_AUTO and BOARD.npu_cores == 1:
            _log('E The core_mask is only supported by RK3576/RK3588. Please do not set this '
                 'parameter on other platforms.')
            return -1
        if BOARD.npu_cores == 2 and core_mask in (self.NPU_CORE_2, self.NPU_CORE_0_1_2):
            _log('W The RK3576 platform has only two NPU cores; core mask replaced.')
            core_mask = self.NPU_CORE_0 if core_mask == self.NPU_CORE_2 else self.NPU_CORE_0_1
        self.rknn_runtime = {'meta': meta, 'core_mask': core_mask, 'frame': 0}
        return 0

    def inference(self, inputs, data_type=None, data_format=None, inputs_pass_through=None,
                  get_frame_id=False):
        """Run model inference; return the outputs (list of ndarray) or None on failure."""
        BOARD.record('inference')
        if self.rknn_runtime is None:
            _log('E Runtime environment is not inited, please call init_runtime to init it '
                 'first!')
            return None
        meta = self.rknn_runtime['meta']
        if BOARD.inference_returns_none or not isinstance(inputs, (list, tuple)) \
                or len(inputs) != len(meta['inputs']):
            _log('E Catch exception when setting inputs.')
            return None
        image = np.asarray(inputs[0])
        formats = data_format if isinstance(data_format, (list, tuple)) else [data_format]
        if formats[0] == 'nchw' and image.ndim == 4:
            image = image.transpose(0, 2, 3, 1)
        n, c, h, w = meta['inputs'][0]
        if image.shape != (n, h, w, c) or image.dtype not in (np.uint8, np.float32):
            _log(f'E Catch exception when setting inputs: input shape {image.shape} '
                 f'{image.dtype}, model wants {(n, h, w, c)}')
            return None
        self.rknn_runtime['frame'] += 1
        outputs = self._outputs(image[0], meta['outputs'], (h, w))
        if get_frame_id:
            outputs.append(self.rknn_runtime['frame'])
        return outputs

    @staticmethod
    def _outputs(image, shapes, input_hw):
        num_classes = shapes[1][1]
        bright = image.max(axis=2) > 128
        objects = []
        if bright.any():
            ys, xs = np.nonzero(bright)
            colour = image[bright].astype(np.float32).mean(axis=0)
            objects.append(SyntheticObject(
                (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)),
                int(np.argmax(colour)) % num_classes, 0.9))
        outputs = make_outputs('rknn', objects, num_classes=num_classes, input_hw=input_hw,
                               score_sum=len(shapes) == 9)
        assert [o.shape for o in outputs] == [tuple(s) for s in shapes], 'fake model mismatch'
        return [np.asarray(o, np.float32) for o in outputs]

    def get_sdk_version(self):
        """Return the API (librknnrt) and driver versions, or None before init_runtime."""
        if self.rknn_runtime is None:
            _log('E Runtime environment is not inited, please call init_runtime to init it '
                 'first!')
            return None
        line = '=' * 46
        return (f'{line}\nRKNN VERSION:\n  API: {BOARD.runtime_version}\n'
                f'  DRV: {BOARD.driver_version}\n{line}')

    def list_support_target_platform(self, rknn_model=None):
        """Return the platforms a model can run on (dict), or None when the path is missing."""
        if rknn_model is None:
            return {'support_target_platform': sorted(p.upper() for p in CORES)}
        if not os.path.exists(rknn_model):
            return None
        with open(rknn_model, 'rb') as f:
            meta = _parse_model(f.read())
        filled = [p.lower() for p in meta['target_platform']] if meta else []
        supported = {'rk3566': ['RK3566', 'RK3568'], 'rk3568': ['RK3566', 'RK3568']}
        return {'filled_target_platform': filled,
                'support_target_platform': [s for p in filled
                                            for s in supported.get(p, [p.upper()])]}

    def release(self):
        """Release the RKNN resources (safe to call more than once)."""
        BOARD.record('release')
        self.rknn_runtime = None
