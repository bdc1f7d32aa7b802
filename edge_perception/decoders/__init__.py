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
Decoding of raw detection outputs into Detections, for any supported head layout.

``Decoder`` binds a layout once (from output shapes) and is then called per frame;
``decode`` is the one-call form for users who run the model with their own runtime.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from .anchor_based import decode_anchor
from .anchor_free import decode_dense, decode_dfl
from .nms import nms
from ..layouts import Binding, DEFAULT_REG_MAX, match_layout, YOLOV5_ANCHORS
from ..preprocess import Letterbox
from ..results import Detections
from ..tensors import shape_of

FAMILIES = {'dense': decode_dense, 'dfl': decode_dfl, 'anchor': decode_anchor}


@dataclass(frozen=True)
class DecodeOptions:
    """Per-frame decoding settings; thresholds are probabilities in [0, 1]."""

    confidence_threshold: float = 0.25
    nms_threshold: float = 0.45
    max_detections: int = 300
    classes: Tuple[int, ...] = ()        # keep only these class ids; empty keeps all
    agnostic_nms: bool = False

    def __post_init__(self):
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f'confidence_threshold {self.confidence_threshold} not in [0, 1]')
        if not 0.0 <= self.nms_threshold <= 1.0:
            raise ValueError(f'nms_threshold {self.nms_threshold} not in [0, 1]')
        if self.max_detections < 1:
            raise ValueError(f'max_detections {self.max_detections} must be >= 1')
        object.__setattr__(self, 'classes', tuple(int(c) for c in self.classes))


class Decoder:
    """Raw outputs of one model -> Detections in source-image pixels."""

    def __init__(self, binding: Binding, class_names: Sequence[str] = ()):
        self.binding = binding
        self.class_names = tuple(class_names) or tuple(
            str(i) for i in range(binding.num_classes))
        self._family = FAMILIES[binding.layout.family]

    def __call__(self, outputs, letterbox: Optional[Letterbox] = None,
                 options: DecodeOptions = DecodeOptions()) -> Detections:
        """Decode one frame's outputs; boxes map to source pixels through ``letterbox``."""
        xyxy, score, class_id = self._family(outputs, self.binding, options.confidence_threshold)
        if options.classes and len(class_id):
            keep = np.isin(class_id, options.classes)
            xyxy, score, class_id = xyxy[keep], score[keep], class_id[keep]
        keep = nms(xyxy, score, class_id, options.nms_threshold, options.max_detections,
                   options.agnostic_nms)
        xyxy, score, class_id = xyxy[keep], score[keep], class_id[keep]
        if letterbox is not None:
            xyxy = letterbox.boxes_to_source(xyxy)
        return Detections(xyxy, score, class_id, self.class_names)


def decode(outputs: Sequence, input_size: Tuple[int, int] = (640, 640), layout: str = 'auto',
           class_names: Sequence[str] = (), letterbox: Optional[Letterbox] = None,
           vendor: Optional[str] = None, reg_max: int = DEFAULT_REG_MAX,
           anchors=YOLOV5_ANCHORS, **options) -> Detections:
    """
    Decode raw outputs of a YOLO detection head run by any runtime.

    outputs: the model's outputs in order, float arrays or ``QuantizedTensor`` (int8 + scale).
    input_size: the network input (height, width). layout: a name from ``LAYOUTS`` or 'auto'
    (recognised from the shapes). letterbox: the transform ``preprocess`` returned, to get
    boxes in source pixels (None: input pixels). options: ``DecodeOptions`` fields.
    For repeated calls build a ``Decoder`` once instead (the layout is bound once).
    """
    binding = match_layout([shape_of(o) for o in outputs], tuple(input_size),
                           len(class_names) or None, layout, vendor, reg_max, anchors)
    return Decoder(binding, class_names)(outputs, letterbox, DecodeOptions(**options))
