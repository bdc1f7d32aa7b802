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
Decoding of raw outputs into results, for any supported head layout of any task.

``Decoder`` (detect, segment, pose), ``ClassDecoder`` (classify) and ``SemanticDecoder``
(semantic) bind a layout once (from output shapes) and are then called per frame;
``make_decoder`` picks the one for a binding's task, and ``decode`` is the one-call form for
users who run the model with their own runtime.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .anchor_based import _decode_anchor_native, decode_anchor
from .anchor_free import (_decode_dense_native, _decode_dfl_native, decode_dense, decode_dfl,
                          fused_nms)
from .classify import ClassScores, decode_classes
from .end_to_end import decode_dfl_topk, decode_end_to_end, select_top_k
from .instances import gather_rows, instance_masks, keypoints
from .nms import nms
from .objectness import decode_dense_obj, decode_objectness
from .oriented import (box_angles, decode_obb, obb_to_source,
                       OrientedDetections, rotated_nms)
from .paddle import decode_paddle_boxes_scores, decode_paddle_nms
from .semantic import decode_semantic
from ..keypoints import keypoint_names as _keypoint_names
from ..layouts import Binding, DEFAULT_REG_MAX, match_layout, YOLOV5_ANCHORS
from ..preprocess import Letterbox
from ..results import Classifications, Detections, SemanticMap
from ..tensors import shape_of

Result = Union[Detections, Classifications, SemanticMap]

FAMILIES = {'dense': decode_dense, 'dfl': decode_dfl, 'anchor': decode_anchor,
            'objectness': decode_objectness, 'dense_obj': decode_dense_obj,
            'dfl_topk': decode_dfl_topk, 'end_to_end': decode_end_to_end,
            'obb': decode_obb, 'paddle_nms': decode_paddle_nms,
            'paddle_boxes_scores': decode_paddle_boxes_scores,
            # the angle row after the classes is read later, from the kept anchors
            'obb_dense': decode_dense}
# families whose decode and NMS can run as one compiled call (``native``)
FUSED_NMS = {'dfl': fused_nms(_decode_dfl_native), 'dense': fused_nms(_decode_dense_native),
             'anchor': fused_nms(_decode_anchor_native)}


@dataclass(frozen=True)
class DecodeOptions:
    """Per-frame decoding settings; thresholds are probabilities in [0, 1]."""

    confidence_threshold: float = 0.25
    nms_threshold: float = 0.45
    max_detections: int = 300
    classes: Tuple[int, ...] = ()        # keep only these class ids; empty keeps all
    agnostic_nms: bool = False
    top_k: int = 5                       # classification: how many classes to report

    def __post_init__(self):
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f'confidence_threshold {self.confidence_threshold} not in [0, 1]')
        if not 0.0 <= self.nms_threshold <= 1.0:
            raise ValueError(f'nms_threshold {self.nms_threshold} not in [0, 1]')
        if self.max_detections < 1:
            raise ValueError(f'max_detections {self.max_detections} must be >= 1')
        if self.top_k < 1:
            raise ValueError(f'top_k {self.top_k} must be >= 1')
        object.__setattr__(self, 'classes', tuple(int(c) for c in self.classes))


def _names(binding: Binding, class_names: Sequence[str]) -> Tuple[str, ...]:
    return tuple(class_names) or tuple(str(i) for i in range(binding.num_classes))


class Decoder:
    """
    Raw outputs of one detection, segmentation or pose model -> Detections in source pixels.

    Segmentation: ``masks`` (``InstanceMasks``, at source resolution, each computed and kept
    inside its box; ``.dense()`` for the (N, H, W) bool array), for the detections NMS kept
    only. Pose: ``keypoints`` (N, K, 3), x, y in source pixels and a confidence.
    """

    def __init__(self, binding: Binding, class_names: Sequence[str] = (),
                 input_hw: Optional[Tuple[int, int]] = None,
                 keypoint_names: Sequence[str] = ()):
        self.binding = binding
        self.class_names = _names(binding, class_names)
        self.keypoint_names = _keypoint_names(binding.num_keypoints, keypoint_names) \
            if binding.num_keypoints else ()
        self.input_hw = tuple(input_hw) if input_hw else None
        self._family = FAMILIES[binding.layout.family]
        self._fused = FUSED_NMS.get(binding.layout.family) \
            if binding.layout.select == 'nms' and binding.layout.box != 'xywhr' else None
        if binding.mask_dim and self.input_hw is None:
            raise ValueError('a segmentation Decoder needs input_hw (the network input size)')

    def __call__(self, outputs, letterbox: Optional[Letterbox] = None,
                 options: DecodeOptions = DecodeOptions()) -> Detections:
        """Decode one frame's outputs; boxes map to source pixels through ``letterbox``."""
        binding = self.binding
        select = binding.layout.select
        oriented = binding.layout.box == 'xywhr'
        kept = self._fused(outputs, binding, options.confidence_threshold,
                           options.nms_threshold, options.max_detections,
                           options.agnostic_nms) if self._fused and not options.classes else None
        angle = None
        if kept is not None:            # decoded and suppressed in one compiled call
            xyxy, score, class_id, anchor = kept
        else:
            xyxy, score, class_id, anchor = self._family(outputs, binding,
                                                         options.confidence_threshold)
            if options.classes and len(class_id):
                keep = np.isin(class_id, options.classes)
                xyxy, score, class_id, anchor = (xyxy[keep], score[keep], class_id[keep],
                                                 anchor[keep])
            angle = box_angles(outputs, binding, anchor) if oriented else None
            if select == 'topk':            # end-to-end heads: no NMS
                keep = select_top_k(score, options.max_detections)
            elif select == 'rotated':
                keep = rotated_nms(xyxy, angle, score, class_id, options.nms_threshold,
                                   options.max_detections, options.agnostic_nms)
            else:
                keep = nms(xyxy, score, class_id, options.nms_threshold,
                           options.max_detections, options.agnostic_nms)
            xyxy, score, class_id = xyxy[keep], score[keep], class_id[keep]
            if binding.mask_dim or binding.num_keypoints:     # rows gathered by anchor
                anchor = anchor[keep]
        if angle is not None:
            angle = angle[keep]
            if letterbox is not None:
                xyxy = obb_to_source(letterbox, xyxy)
            return OrientedDetections(xyxy, score, class_id, self.class_names, angle=angle)
        if letterbox is not None:
            xyxy = letterbox.boxes_to_source(xyxy)
        masks = points = None
        if binding.mask_dim:
            coef = gather_rows(outputs, binding, 'coef', anchor, binding.mask_dim)
            protos = outputs[binding.global_outputs['protos']]
            masks = instance_masks(coef, protos, binding.layout.channels_last, xyxy,
                                   self.input_hw, letterbox)
        if binding.num_keypoints:
            points = keypoints(outputs, binding, anchor)
            if letterbox is not None:
                points[..., :2] = letterbox.points_to_source(points[..., :2])
        return Detections(xyxy, score, class_id, self.class_names, masks, points,
                          self.keypoint_names)


class ClassDecoder:
    """
    Raw outputs of one classifier -> the top-k Classifications.

    scores: whether the outputs are probabilities or logits (a ``ClassScores``; default: the
    layout's convention), checked on the first frame.
    """

    def __init__(self, binding: Binding, class_names: Sequence[str] = (),
                 scores: Optional[ClassScores] = None):
        self.binding = binding
        self.class_names = _names(binding, class_names)
        self.scores = scores or ClassScores(binding.layout.scores,
                                            f'the layout {binding.layout.name}')

    def __call__(self, outputs, letterbox: Optional[Letterbox] = None,
                 options: DecodeOptions = DecodeOptions()) -> Classifications:
        """Decode one frame's outputs (``letterbox`` is not needed, accepted for symmetry)."""
        return decode_classes(outputs, self.binding, options.top_k, self.class_names,
                              self.scores)


class SemanticDecoder:
    """Raw outputs of one semantic segmentation model -> a SemanticMap at source size."""

    def __init__(self, binding: Binding, class_names: Sequence[str] = (),
                 input_hw: Tuple[int, int] = (640, 640)):
        self.binding = binding
        self.class_names = _names(binding, class_names)
        self.input_hw = tuple(input_hw)

    def __call__(self, outputs, letterbox: Optional[Letterbox] = None,
                 options: DecodeOptions = DecodeOptions()) -> SemanticMap:
        """Decode one frame's outputs; the map has the source size through ``letterbox``."""
        return decode_semantic(outputs, self.binding, self.input_hw, letterbox,
                               self.class_names)


def make_decoder(binding: Binding, class_names: Sequence[str] = (),
                 input_hw: Tuple[int, int] = (640, 640), keypoint_names: Sequence[str] = ()):
    """Return the decoder for the binding's task."""
    if binding.task == 'classify':
        return ClassDecoder(binding, class_names)
    if binding.task == 'semantic':
        return SemanticDecoder(binding, class_names, input_hw)
    return Decoder(binding, class_names, input_hw, keypoint_names)


def decode(outputs: Sequence, input_size: Tuple[int, int] = (640, 640), layout: str = 'auto',
           class_names: Sequence[str] = (), letterbox: Optional[Letterbox] = None,
           vendor: Optional[str] = None, reg_max: int = DEFAULT_REG_MAX,
           anchors=YOLOV5_ANCHORS, task: str = 'detect', keypoint_names: Sequence[str] = (),
           **options) -> Result:
    """
    Decode raw outputs of a model of any supported task and layout, run by any runtime.

    outputs: the model's outputs in order, float arrays or ``QuantizedTensor`` (int8 + scale).
    input_size: the network input (height, width). layout: a layout name of the task or 'auto'
    (recognised from the shapes). letterbox: the transform ``preprocess`` returned, to get
    boxes, masks, keypoints and maps in source pixels (None: input pixels). task: 'detect',
    'segment', 'pose' (Detections), 'classify' (Classifications) or 'semantic' (SemanticMap).
    keypoint_names: pose keypoint names (default: COCO's 17). options: ``DecodeOptions`` fields.
    For repeated calls build a decoder once instead (``make_decoder``: the layout is bound once).
    """
    binding = match_layout([shape_of(o) for o in outputs], tuple(input_size),
                           len(class_names) or None, layout, vendor, reg_max, anchors, task,
                           len(keypoint_names) or None)
    decoder = make_decoder(binding, class_names, tuple(input_size), keypoint_names)
    return decoder(outputs, letterbox, DecodeOptions(**options))
