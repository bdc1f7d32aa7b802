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
The fake BPU "network" shared by the hobot_dnn and hbm_runtime fakes (test support only).

A fake model file is JSON (a real .bin/.hbm is a compiled binary): input size, classes, whether
the box heads are int32 with a per-channel scale, how many BPU cores the fake board has, and for
hbm_runtime whether NV12 comes as separate Y/UV inputs (S100) or one packed input. The network
"detects" the bright region of the Y plane (Y > 180) and classifies it by its chroma (class 1
when U exceeds V by more than 40, e.g. cyan; class 0 otherwise, e.g. white), then emits the RDK
6-output head for it with ``edge_perception.synthetic.make_outputs('rdk', ...)``.

``box_type`` re-quantises the box heads to another integer type (int16, int8: per-channel
scale) or declares a type the runtimes cannot hand back faithfully (float16, uint16, ...), to
test that the backend refuses it. ``input_type`` RGB / BGR models take H*W*3 bytes; the fake
network finds nothing in them (it reads NV12 only).
"""

import json

from edge_perception.synthetic import make_outputs, SyntheticObject
from edge_perception.tensors import QuantizedTensor
import numpy as np

SEED = 0


class FakeNetwork:
    """A parsed fake model file and its forward pass."""

    def __init__(self, path: str):
        try:
            with open(path, 'rb') as f:
                desc = json.loads(f.read().decode('utf-8'))
            if desc.get('fake_bpu') != 1:
                raise ValueError('not a fake BPU model')
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise RuntimeError(f'[BPU] failed to load model {path}: {exc}') from None
        self.name = str(desc.get('name', 'fake_yolo_detect_nv12'))
        self.height, self.width = (int(v) for v in desc.get('input', (320, 320)))
        self.classes = int(desc.get('classes', 2))
        self.int32_boxes = bool(desc.get('int32_boxes', False))
        self.bpu_cores = int(desc.get('bpu_cores', 1))
        self.input_type = str(desc.get('input_type', 'NV12'))
        self.nv12_inputs = str(desc.get('nv12_inputs', 'separate'))
        self.box_type = str(desc.get('box_type', 'int32' if self.int32_boxes else 'float32'))
        if self.box_type not in ('float32', 'int32') and not self.int32_boxes:
            self.int32_boxes = True         # re-quantised from the int32 heads below
        self.outputs = self._run(None)
        self.scales = [o.scale if isinstance(o, QuantizedTensor) else None
                       for o in self.outputs]
        self.output_types = ['float32' if scale is None else self.box_type
                             for scale in self.scales]

    @property
    def nv12_size(self) -> int:
        return self.height * self.width * 3 // 2

    @property
    def input_bytes(self) -> int:
        """Bytes of the input tensor: NV12 H*W*3/2, RGB / BGR H*W*3."""
        if self.input_type in ('NV12', 'NV12_SEPARATE'):
            return self.nv12_size
        return self.height * self.width * 3

    def detect(self, nv12: np.ndarray):
        """Return the SyntheticObject the bright region of an NV12 buffer stands for, or None."""
        area = self.height * self.width
        y = nv12[:area].reshape(self.height, self.width)
        uv = nv12[area:].reshape(self.height // 2, self.width // 2, 2)
        ys, xs = np.nonzero(y > 180)
        if not len(xs):
            return None
        x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        chroma = uv[y1 // 2:(y2 + 1) // 2, x1 // 2:(x2 + 1) // 2].reshape(-1, 2).astype(float)
        u, v = chroma.mean(axis=0)
        return SyntheticObject((x1, y1, x2, y2), 1 if u - v > 40 else 0, 0.9)

    def _run(self, obj):
        outputs = make_outputs('rdk', [obj] if obj else [], num_classes=self.classes,
                               input_hw=(self.height, self.width),
                               int32_boxes=self.int32_boxes, seed=SEED)
        return [_requantize(o, self.box_type) if isinstance(o, QuantizedTensor) else o
                for o in outputs]

    def forward(self, data: np.ndarray) -> list:
        """Raw outputs in vendor order: float32, or the box heads' integer type."""
        flat = np.asarray(data).reshape(-1)
        obj = self.detect(flat) if self.input_type in ('NV12', 'NV12_SEPARATE') else None
        raw = []
        for out, scale in zip(self._run(obj), self.scales):
            if isinstance(out, QuantizedTensor):
                assert np.array_equal(out.scale, scale), 'fake scales must not change'
                raw.append(out.data)
            else:
                raw.append(np.ascontiguousarray(out, np.float32))
        return raw


# int32 scale factor that keeps the heads' largest values (DFL logits up to ~28) in range.
REQUANTIZE = {'int16': (16, 32767), 'int8': (2400, 127)}


def _requantize(tensor: QuantizedTensor, kind: str) -> QuantizedTensor:
    """Return the int32 head as int16 / int8 with a coarser fixed scale (else as is)."""
    if kind not in REQUANTIZE:
        return tensor       # int32; or a type only declared (the backend refuses it at load)
    factor, limit = REQUANTIZE[kind]
    data = np.clip(np.round(tensor.data / factor), -limit, limit).astype(kind)
    return QuantizedTensor(data, np.asarray(tensor.scale, np.float32) * factor, 0, tensor.axis)
