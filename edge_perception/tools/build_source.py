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
What an RKNN build is made from: an ONNX file, or a model card that names one.

A bare ONNX file is built with the YOLO convention (mean 0, std 255, letterbox, pad 114). A card
(``.yaml``) gives its ``onnxruntime`` file and its ``input:`` convention, which the build must
bake in: mean/std (e.g. PP-PicoDet's ImageNet normalisation), pad value, interpolation and the
resize (``stretch``, ``letterbox``, ``center_crop``). Calibration images are then made exactly as
the runtime makes the NPU's input (``preprocess`` into an NHWC uint8 BGR image of the input
size, which rknn-toolkit2 reads and turns to RGB), so the build's own letterbox leaves them as
they are. ``convert`` writes a card next to the .rknn that keeps the source card's fields.
"""

from dataclasses import dataclass, field
import os
from typing import Dict, List, Optional

import yaml

from ..errors import ConfigError

CARD_SUFFIXES = ('.yaml', '.yml')
# the card's input keys the rknn_sim backend bakes into the build (its OPTIONS)
BUILD_OPTIONS = ('mean', 'std', 'pad_value', 'interpolation')
YOLO_DEFAULTS = {'mean': (0.0, 0.0, 0.0), 'std': (255.0, 255.0, 255.0), 'resize': 'letterbox'}


@dataclass
class BuildSource:
    """The ONNX file to build, the card it came from, and the input convention to bake in."""

    onnx: str
    card: Optional[str] = None
    options: Dict[str, object] = field(default_factory=dict)
    resize: str = 'letterbox'

    @property
    def yolo_input(self) -> bool:
        """Tell whether the input convention is the YOLO default the hybrid builds assume."""
        values = dict(self.options, resize=self.resize)
        return all(tuple(values[k]) == v if isinstance(v, tuple) else values[k] == v
                   for k, v in YOLO_DEFAULTS.items() if k in values)


def is_card(model) -> bool:
    """Tell whether ``model`` names a model card (.yaml / .yml)."""
    return str(model).lower().endswith(CARD_SUFFIXES)


def build_source(model) -> BuildSource:
    """Return what to build for ``model`` (an ONNX file or a model card)."""
    if not is_card(model):
        return BuildSource(os.path.abspath(str(model)))
    from ..spec import load_card, resolve_path
    card = os.path.abspath(str(model))
    spec = load_card(card)
    if 'onnxruntime' not in spec.files:
        raise ConfigError(f'{card}: the card names no ONNX file (model: X.onnx or files: '
                          '{onnxruntime: X.onnx}); the NPU build starts from the ONNX')
    color = spec.input.get('color', 'rgb')
    if color != 'rgb':
        raise ConfigError(f'{card}: input.color {color!r}; the RKNN input is RGB (the toolkit '
                          'reads the calibration images as RGB): export the model for RGB input')
    onnx = resolve_path(spec.files['onnxruntime'], os.path.dirname(card), spec.install_hint)
    options = {k: spec.input[k] for k in BUILD_OPTIONS if k in spec.input}
    return BuildSource(onnx, card, options, spec.input.get('resize', 'letterbox'))


def runtime_images(calibration, source: BuildSource) -> object:
    """
    Return calibration for the build: as given for a bare ONNX, else made as the runtime does.

    For a card each image becomes the NPU's input picture (the card's resize, pad value and
    interpolation, at the ONNX input size), as a BGR array of that size.
    """
    if source.card is None:
        return calibration
    from ..backends.rknn_sim_backend import _onnx_input
    from ..image_sets import calibration_images
    from ..preprocess import InputSpec, preprocess
    _, (height, width), _ = _onnx_input(source.onnx)
    spec = InputSpec(height=height, width=width, layout='nhwc', dtype='uint8', color='bgr',
                     resize=source.resize, pad_value=int(source.options.get('pad_value', 114)),
                     interpolation=str(source.options.get('interpolation', 'linear')))
    pictures: List = [preprocess(image, spec)[0][0] for image in calibration_images(calibration)]
    return pictures


def write_card(source: BuildSource, card_dir: str, backend: str, reference: str) -> str:
    """
    Write ``<card_dir>/<card name>.yaml``: the source card plus ``files: {backend: reference}``.

    The card's file references are rebased on ``card_dir`` (``python-package://`` and absolute
    ones stay as they are); ``model:`` becomes ``files: {onnxruntime: ...}``.
    """
    with open(source.card, encoding='utf-8') as f:
        card = yaml.safe_load(f) or {}
    base = os.path.dirname(source.card)
    target = os.path.join(card_dir, os.path.basename(source.card))
    from ..spec import backend_for_file
    files = dict(card.pop('files', None) or {})
    model = card.pop('model', None)
    if model:
        files.setdefault(backend_for_file(str(model)), model)
    for key in ('labels_file',):
        if card.get(key):
            card[key] = _rebased(card[key], base, card_dir)
    files = {k: _rebased(v, base, card_dir) for k, v in files.items()}
    files[backend] = reference
    card['files'] = files
    with open(target, 'w', encoding='utf-8') as f:
        yaml.safe_dump(card, f, sort_keys=False)
    return target


def _rebased(reference, base: str, card_dir: str) -> str:
    reference = str(reference)
    if '://' in reference or os.path.isabs(reference):
        return reference
    return os.path.relpath(os.path.join(base, reference), card_dir)
