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
Head layouts of every supported vendor, as data, and their recognition from output shapes.

A layout says how a model's raw outputs are arranged (one dense tensor, or per-stride grids in
NCHW or NHWC), which role each tensor plays (box / cls / score_sum / pred / coef / kpt), which
outputs are global rather than per stride (mask prototypes, decoded keypoints), and whether
scores already went through their activation. ``match_layout`` binds a model's output shapes to
one layout of the model's task once, at load time; the decoders then only read the binding.

``LAYOUTS`` holds the detection layouts (the original table); ``TASK_LAYOUTS`` has one table per
task and ``ALL_LAYOUTS`` every layout by name.
"""

from dataclasses import dataclass, field, replace
import itertools
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import LayoutError

# Box channels of a DFL head are 4 sides x reg_max bins (16 in YOLOv8/YOLO11).
DEFAULT_REG_MAX = 16
# YOLOv5 anchors (width, height in input pixels) for strides 8, 16, 32.
YOLOV5_ANCHORS = (((10, 13), (16, 30), (33, 23)),
                  ((30, 61), (62, 45), (59, 119)),
                  ((116, 90), (156, 198), (373, 326)))
DENSE_STRIDES = (8, 16, 32)
# 'obb' (ultralytics' name for oriented boxes) selects the oriented detection layouts; their
# results are detections (OrientedDetections), served by the detector node.
TASKS = ('detect', 'segment', 'pose', 'classify', 'semantic', 'obb')
# Mask prototypes of YOLO segmentation heads come at stride 4 (160x160 for a 640 input): any
# 4-D output finer than the finest detection stride is taken for the prototypes.
PROTO_MAX_STRIDE = min(DENSE_STRIDES) - 1
DEFAULT_KEYPOINTS = 17


@dataclass(frozen=True)
class LayoutSpec:
    """
    One vendor's way of laying out a head's outputs, for one task.

    family: 'dense' (decoded boxes, one tensor), 'dfl' (grid DFL), 'anchor' (YOLOv5 grid),
    'vector' (classification scores), 'semantic' (per-pixel class logits).
    scores: 'sigmoid' probabilities already; 'logit' raw, activated on the CPU; 'softmax'
    (classification) probabilities already.
    global_roles: outputs that belong to no stride: 'protos' (mask prototypes, at stride 4) and
    'kpts' ((1, K, 3, anchors) keypoints already decoded).
    keypoints: how keypoints are encoded: 'decoded' (x, y in input pixels, visibility a
    probability) or 'grid' (raw: x = (2 * raw + column) * stride, visibility a logit).
    resize: the pre-processing the vendor's own flow uses when the model card names none.
    rank: classification outputs: 2 for (1, nc), 4 for (1, nc, 1, 1).
    """

    name: str
    family: str
    vendor: str                 # 'ultralytics', 'rknn', 'rdk' ('onnx', 'paddle': other exports)
    channels_last: bool         # grids are (1, H, W, C) rather than (1, C, H, W)
    scores: str
    level_roles: Tuple[Tuple[str, ...], ...] = ()   # role orders per stride, vendor's first
    pattern: str = ''           # expected shapes, for error messages
    task: str = 'detect'
    global_roles: Tuple[str, ...] = ()
    keypoints: str = ''
    resize: str = ''
    rank: int = 0
    # Heads beyond the YOLOv5/v8 families (see ``MORE_DETECT``); the defaults are v5/v8's.
    reg_max: int = 0            # the head's own DFL bins (0: the card's / match_layout's)
    anchors: Tuple = ()         # the head's own anchors (YOLOv7), else the card's
    box: str = ''               # box coding when not the family's default (see MORE_DETECT)
    select: str = 'nms'         # 'nms', 'topk' (end-to-end, no NMS), 'rotated' (rotated NMS)
    same_shapes_as: str = ''    # shapes equal that layout's: matched only by name (`layout:`)
    strides: Tuple[int, ...] = DENSE_STRIDES


LAYOUTS: Dict[str, LayoutSpec] = {spec.name: spec for spec in (
    LayoutSpec('ultralytics', 'dense', 'ultralytics', False, 'sigmoid',
               pattern='1 output (1, 4+nc, anchors): cx, cy, w, h in input pixels + class scores'),
    LayoutSpec('rknn', 'dfl', 'rknn', False, 'sigmoid',
               (('box', 'cls', 'score_sum'), ('box', 'cls')),
               'per stride box (1,64,H,W), cls (1,nc,H,W) [, score_sum (1,1,H,W)]: '
               '9 or 6 outputs'),
    LayoutSpec('rknn_nhwc', 'dfl', 'rknn', True, 'sigmoid',
               (('box', 'cls', 'score_sum'), ('box', 'cls')),
               'per stride box (1,H,W,64), cls (1,H,W,nc) [, score_sum (1,H,W,1)] '
               '(RV1103/RV1106)'),
    LayoutSpec('rdk', 'dfl', 'rdk', True, 'logit', (('cls', 'box'),),
               'per stride cls (1,H,W,nc) logits, box (1,H,W,64): 6 outputs'),
    LayoutSpec('rknn_yolov5', 'anchor', 'rknn', False, 'sigmoid', (('pred',),),
               'per stride (1, 3*(5+nc), H, W), sigmoid applied: 3 outputs'),
    LayoutSpec('rdk_yolov5', 'anchor', 'rdk', True, 'logit', (('pred',),),
               'per stride (1, H, W, 3*(5+nc)) logits: 3 outputs'),
)}

# YOLOv7 anchors (width, height in input pixels) for strides 8, 16, 32 (rknn_model_zoo
# examples/yolov7/model/anchors_yolov7.txt, the YOLOv7 repository's cfg/deploy anchors).
YOLOV7_ANCHORS = (((12, 16), (19, 36), (40, 28)),
                  ((36, 75), (76, 55), (72, 146)),
                  ((142, 110), (192, 243), (459, 401)))
PICODET_STRIDES = (8, 16, 32, 64)

# Detection heads beyond the YOLOv5/v8/v11 families (issue 12). Box codings: 'ltrb' four
# distances in grid units (YOLOv6-N/S, no DFL); 'yolox' xy offset from the cell + log wh in
# grid units; 'xywh' cx, cy, w, h in input pixels; 'xyxy' corners in input pixels; 'xywhr'
# oriented boxes (centre, size, angle in radians: OrientedDetections).
# ``same_shapes_as``: the shapes cannot tell this head from that one; `layout:` names it.
MORE_DETECT = (
    LayoutSpec('rknn_yolov6', 'dfl', 'rknn', False, 'sigmoid',
               (('box', 'cls', 'score_sum'), ('box', 'cls')),
               'per stride box (1,4,H,W) distances, cls (1,nc,H,W) [, score_sum (1,1,H,W)]: '
               '9 or 6 outputs (YOLOv6-N/S; YOLOv6-M/L have DFL boxes: the `rknn` layout)',
               reg_max=1, box='ltrb'),
    LayoutSpec('rknn_ppyoloe', 'dfl', 'rknn', False, 'sigmoid',
               (('box', 'cls', 'score_sum'), ('box', 'cls')),
               'per stride box (1,68,H,W) DFL logits (17 bins), cls (1,nc,H,W) '
               '[, score_sum (1,1,H,W)]: 9 or 6 outputs (PP-YOLOE(+))', reg_max=17),
    LayoutSpec('rknn_yolox', 'objectness', 'rknn', False, 'sigmoid', (('pred1',),),
               'per stride (1, 5+nc, H, W): xy offset, log wh, objectness and class '
               'probabilities: 3 outputs (YOLOX)', box='yolox'),
    LayoutSpec('rknn_yolov7', 'anchor', 'rknn', False, 'sigmoid', (('pred',),),
               'per stride (1, 3*(5+nc), H, W), sigmoid applied, YOLOv7 anchors: 3 outputs',
               anchors=YOLOV7_ANCHORS, same_shapes_as='rknn_yolov5'),
    LayoutSpec('rknn_yolov10', 'dfl_topk', 'rknn', False, 'sigmoid',
               (('box', 'cls', 'score_sum'), ('box', 'cls')),
               'per stride box (1,64,H,W), cls (1,nc,H,W) [, score_sum]: 9 or 6 outputs of '
               'the one-to-one head, top-k without NMS (YOLOv10)',
               select='topk', same_shapes_as='rknn'),
    LayoutSpec('onnx_yolov5', 'dense_obj', 'onnx', False, 'sigmoid',
               pattern='1 output (1, anchors, 5+nc): cx, cy, w, h in input pixels, objectness, '
               "class probabilities (YOLOv5/YOLOv7/YOLOv6 repositories' ONNX exports)",
               box='xywh'),
    LayoutSpec('onnx_yolox', 'dense_obj', 'onnx', False, 'sigmoid',
               pattern='1 output (1, anchors, 5+nc) not decoded: xy offset, log wh, '
               'objectness, class probabilities (YOLOX export_onnx.py)',
               box='yolox', same_shapes_as='onnx_yolov5'),
    LayoutSpec('ultralytics_e2e', 'end_to_end', 'ultralytics', False, 'sigmoid',
               pattern='1 output (1, max_det, 6): x1, y1, x2, y2 in input pixels, score, class '
               '(YOLOv10, YOLO26 end-to-end heads: no NMS)', box='xyxy', select='topk'),
    # every class above the threshold is a candidate, NMS per class (Paddle's multiclass NMS)
    LayoutSpec('paddle_picodet', 'dfl_topk', 'paddle', True, 'sigmoid',
               (('cls', 'box'),),
               'per stride scores (1, cells, nc) and DFL boxes (1, cells, 32): 8 outputs, '
               'strides 8-64, grids rounded up (PP-PicoDet via paddle2onnx, no NMS inside)',
               reg_max=8, strides=PICODET_STRIDES),   # reg_max 7 in Paddle: 8 bins
    LayoutSpec('rknn_obb', 'obb', 'rknn', False, 'logit', (('boxcls',),),
               'per stride (1, 64+nc, H, W) DFL logits + class logits, then the angle '
               '(1, 1, anchors) sigmoided: 4 outputs (YOLOv8-OBB)',
               global_roles=('angle',), box='xywhr', select='rotated'),
    LayoutSpec('ultralytics_obb', 'obb_dense', 'ultralytics', False, 'sigmoid',
               pattern='1 output (1, 4+nc+1, anchors): cx, cy, w, h in input pixels, class '
               'scores, angle in radians (YOLOv8/YOLO11-OBB)', box='xywhr', select='rotated',
               same_shapes_as='ultralytics'),     # 4+nc+1 rows: nc+1 classes of the plain head
    LayoutSpec('ultralytics_e2e_obb', 'end_to_end', 'ultralytics', False, 'sigmoid',
               pattern='1 output (1, max_det, 7): cx, cy, w, h in input pixels, score, class, '
               'angle in radians (YOLO26-OBB end-to-end head: no NMS)', box='xywhr',
               select='topk'),
    # rdk_model_zoo samples/vision/ultralytics_yolo26 (export_yolo26_*_bpu.py): the one-to-one
    # branch's raw convolutions, NHWC; no DFL (reg_max 1), top-k over (cell, class) pairs as
    # ultralytics' end-to-end predict (the zoo's yolo26_det.py keeps each cell's best class and
    # adds NMS at IoU 0.7, which an NMS-free head's boxes rarely reach)
    LayoutSpec('rdk_yolo26', 'dfl_topk', 'rdk', True, 'logit', (('cls', 'box'),),
               'per stride cls (1,H,W,nc) logits, box (1,H,W,4) distances l, t, r, b in grid '
               'units: 6 outputs (YOLO26 one-to-one head, no NMS)',
               reg_max=1, box='ltrb', select='topk'),
    # the angle output per stride is raw radians (ultralytics OBB26; the zoo's yolo26_obb.py
    # reads (sigmoid(raw) - 0.5) * pi: see test/golden/rdk_yolo26/README.md)
    LayoutSpec('rdk_yolo26_obb', 'obb', 'rdk', True, 'logit', (('cls', 'box', 'angle'),),
               'per stride cls (1,H,W,nc) logits, box (1,H,W,4) distances, angle (1,H,W,1) '
               'in radians: 9 outputs (YOLO26-OBB one-to-one head, no NMS)',
               reg_max=1, box='xywhr', select='topk'),
    # rdk_model_zoo samples/vision/ultralytics_yolo (reference logs of yolov8n/yolo11n-obb .bin
    # models: no Python post-processing there): the OBB head's three convolutions per stride
    LayoutSpec('rdk_obb', 'obb', 'rdk', True, 'logit', (('cls', 'box', 'angle_logit'),),
               'per stride cls (1,H,W,nc) logits, box (1,H,W,64) DFL, angle (1,H,W,1) logit '
               '(angle = (sigmoid - 0.25) x pi): 9 outputs (YOLOv8/YOLO11-OBB)',
               box='xywhr', select='rotated'),
    # PaddleDetection exports via paddle2onnx (PP-YOLOE(+), PicoDet; deploy/EXPORT_ONNX_MODEL):
    # inputs image, scale_factor (and im_shape), fed as 1 so boxes stay in input pixels
    LayoutSpec('paddle_nms', 'paddle_nms', 'paddle', False, 'sigmoid',
               pattern='2 outputs: multiclass_nms3 rows (N, 6) class, score, x1, y1, x2, y2 '
               '(class -1: padding) and their count (1,) (PaddleDetection export with NMS)',
               box='xyxy', select='topk', resize='stretch'),
    LayoutSpec('paddle_boxes_scores', 'paddle_boxes_scores', 'paddle', False, 'sigmoid',
               pattern='2 outputs: boxes (1, N, 4) x1, y1, x2, y2 and scores (1, nc, N) '
               'probabilities (PaddleDetection export with exclude_nms=True)',
               box='xyxy', resize='stretch'),
)

_SEGMENT = (
    LayoutSpec('ultralytics_seg', 'dense', 'ultralytics', False, 'sigmoid',
               pattern='output (1, 4+nc+32, anchors) + protos (1, 32, H/4, W/4)',
               task='segment', global_roles=('protos',)),
    LayoutSpec('rknn_seg', 'dfl', 'rknn', False, 'sigmoid',
               (('box', 'cls', 'score_sum', 'coef'), ('box', 'cls', 'coef')),
               'per stride box (1,64,H,W), cls (1,nc,H,W), score_sum (1,1,H,W), mask '
               'coefficients (1,32,H,W) + protos (1,32,H/4,W/4): 13 (or 10) outputs',
               task='segment', global_roles=('protos',)),
    LayoutSpec('rdk_seg', 'dfl', 'rdk', True, 'logit', (('cls', 'box', 'coef'),),
               'per stride cls (1,H,W,nc) logits, box (1,H,W,64), mask coefficients '
               '(1,H,W,32) + protos (1,H/4,W/4,32): 10 outputs',
               task='segment', global_roles=('protos',)),
)
_POSE = (
    LayoutSpec('ultralytics_pose', 'dense', 'ultralytics', False, 'sigmoid',
               pattern='1 output (1, 4+nc+K*3, anchors), keypoints decoded (x, y px, visibility)',
               task='pose', keypoints='decoded'),
    LayoutSpec('rknn_pose', 'dfl', 'rknn', False, 'logit', (('boxcls',),),
               'per stride (1, 64+nc, H, W) DFL logits + class logits, then keypoints '
               '(1, K, 3, anchors) decoded: 4 outputs',
               task='pose', global_roles=('kpts',), keypoints='decoded'),
    LayoutSpec('rdk_pose', 'dfl', 'rdk', True, 'logit', (('cls', 'box', 'kpt'),),
               'per stride cls (1,H,W,nc) logits, box (1,H,W,64), keypoints (1,H,W,K*3) raw: '
               '9 outputs', task='pose', keypoints='grid'),
)
_CLASSIFY = (
    LayoutSpec('ultralytics_cls', 'vector', 'ultralytics', False, 'softmax',
               pattern='1 output (1, nc), softmax inside', task='classify',
               resize='center_crop', rank=2),
    LayoutSpec('rknn_cls', 'vector', 'rknn', False, 'logit',
               pattern='1 output (1, nc) logits', task='classify', resize='stretch', rank=2),
    LayoutSpec('rdk_cls', 'vector', 'rdk', False, 'logit',
               pattern='1 output (1, nc, 1, 1) logits', task='classify', resize='letterbox',
               rank=4),
)
_SEMANTIC = (
    LayoutSpec('semantic', 'semantic', 'rknn', False, 'logit',
               pattern='1 output (1, C, H, W) class logits (PP-LiteSeg)', task='semantic',
               resize='stretch'),
    LayoutSpec('semantic_nhwc', 'semantic', 'rknn', True, 'logit',
               pattern='1 output (1, H, W, C) class logits (DeepLabV3)', task='semantic',
               resize='stretch'),
)
TASK_LAYOUTS: Dict[str, Dict[str, LayoutSpec]] = {
    'detect': dict(LAYOUTS, **{spec.name: spec for spec in MORE_DETECT}),
    'segment': {spec.name: spec for spec in _SEGMENT},
    'pose': {spec.name: spec for spec in _POSE},
    'classify': {spec.name: spec for spec in _CLASSIFY},
    'semantic': {spec.name: spec for spec in _SEMANTIC},
    # task 'obb' (ultralytics metadata, or the card): the oriented heads, all by shape
    'obb': {spec.name: replace(spec, same_shapes_as='') for spec in MORE_DETECT
            if spec.box == 'xywhr'},
}
ALL_LAYOUTS: Dict[str, LayoutSpec] = {
    name: spec for table in TASK_LAYOUTS.values() for name, spec in table.items()}


@dataclass(frozen=True)
class Level:
    """One stride of a grid head: which output index plays which role."""

    stride: int
    grid_h: int
    grid_w: int
    outputs: Dict[str, int]


@dataclass(frozen=True)
class Binding:
    """A layout bound to one model's outputs (computed once, at load time)."""

    layout: LayoutSpec
    num_classes: int
    levels: Tuple[Level, ...] = ()
    dense_transposed: bool = False          # dense output is (1, anchors, 4+nc)
    reg_max: int = DEFAULT_REG_MAX
    anchors: Tuple = ()
    in_vendor_order: bool = True
    output_shapes: Tuple[Tuple[int, ...], ...] = field(default=())
    global_outputs: Dict[str, int] = field(default_factory=dict)   # 'dense'/'protos'/'kpts'
    num_keypoints: int = 0
    mask_dim: int = 0               # mask coefficients per object (prototype channels)

    @property
    def task(self) -> str:
        """Return the task of the bound layout."""
        return self.layout.task

    def describe(self) -> str:
        """One line for logs: layout name, classes and what each output is."""
        if 'dense' in self.global_outputs:
            where = f'output {self.output_shapes[self.global_outputs.get("dense", 0)]}'
        else:
            where = '; '.join(
                f'stride {lv.stride}: ' + ', '.join(f'{r}=#{i}' for r, i in lv.outputs.items())
                for lv in self.levels)
        extra = ''.join(f', {role} {self.output_shapes[i]}'
                        for role, i in self.global_outputs.items() if role != 'dense')
        if self.num_keypoints:
            extra += f', {self.num_keypoints} keypoints'
        return (f'{self.layout.name} ({self.layout.vendor}, {self.num_classes} classes; '
                f'{where}{extra})')


class _NoMatch(Exception):
    pass


def _role_channels(role: str, num_classes: Optional[int], reg_max: int, mask_dim: int = 0,
                   num_keypoints: Optional[int] = None):
    """Channel count a role needs, or a predicate, given what is known."""
    fixed = {'box': 4 * reg_max, 'score_sum': 1, 'coef': mask_dim, 'angle': 1,
             'angle_logit': 1}
    if role in fixed:
        return lambda c: c == fixed[role]
    if role == 'cls':
        return (lambda c: c == num_classes) if num_classes else (lambda c: c >= 1)
    if role == 'boxcls':
        if num_classes:
            return lambda c: c == 4 * reg_max + num_classes
        return lambda c: c > 4 * reg_max
    if role == 'kpt':
        if num_keypoints:
            return lambda c: c == 3 * num_keypoints
        return lambda c: c > 0 and c % 3 == 0
    if role == 'pred1':         # one anchor per cell: box, objectness, classes (YOLOX)
        if num_classes:
            return lambda c: c == 5 + num_classes
        # a channel count a YOLOv5 head (3 anchors) also has needs the class count
        return lambda c: c > 5 and not (c % 3 == 0 and c // 3 > 5)
    if role == 'pred':
        if num_classes:
            return lambda c: c == 3 * (5 + num_classes)
        return lambda c: c % 3 == 0 and c // 3 > 5
    raise ValueError(role)


def _grid_shape(shape, channels_last: bool, input_hw) -> Tuple[int, int, int, int]:
    """(stride, h, w, channels) of a (1, C, H, W) / (1, H, W, C) output, or _NoMatch."""
    if len(shape) != 4 or shape[0] != 1:
        raise _NoMatch(f'output {tuple(shape)} is not a 4-D batch-1 grid')
    h, w, c = (shape[1], shape[2], shape[3]) if channels_last else (shape[2], shape[3], shape[1])
    in_h, in_w = input_hw
    if h <= 0 or w <= 0 or in_h % h or in_w % w or in_h // h != in_w // w:
        raise _NoMatch(f'output {tuple(shape)} read as {"NHWC" if channels_last else "NCHW"} '
                       f'has a {h}x{w} grid that is no stride of the {in_h}x{in_w} input')
    return in_h // h, h, w, c


def _assign_level(roles, tensors, num_classes, reg_max, mask_dim=0, num_keypoints=None):
    """Assign roles to this level's (index, channels) tensors; prefer the vendor's order."""
    if len(roles) != len(tensors):
        raise _NoMatch(f'{len(tensors)} outputs at one stride, layout has {len(roles)}')
    checks = [_role_channels(r, num_classes, reg_max, mask_dim, num_keypoints) for r in roles]
    found = []
    for perm in itertools.permutations(tensors):
        if all(check(c) for check, (_, c) in zip(checks, perm)):
            found.append({role: idx for role, (idx, _) in zip(roles, perm)})
    if not found:
        chans = [c for _, c in tensors]
        raise _NoMatch(f'channels {chans} do not fit roles {list(roles)}')
    ordered = [f for f in found if list(f.values()) == sorted(f.values())]
    return (ordered or found)[0], bool(ordered)


def _classes_of(roles: Dict[str, int], channels: Dict[int, int], reg_max: int) -> int:
    if 'cls' in roles:
        return channels[roles['cls']]
    if 'boxcls' in roles:
        return channels[roles['boxcls']] - 4 * reg_max
    if 'pred1' in roles:
        return channels[roles['pred1']] - 5
    return channels[roles['pred']] // 3 - 5


def _total_anchors(input_hw, strides=DENSE_STRIDES) -> int:
    return sum((input_hw[0] // s) * (input_hw[1] // s) for s in strides)


def _flat_grids(input_hw, strides) -> Dict[int, Tuple[int, int, int]]:
    """Cells -> (stride, h, w) of per-stride (1, cells, C) outputs (grids rounded up)."""
    h, w = input_hw
    return {-(-h // s) * -(-w // s): (s, -(-h // s), -(-w // s)) for s in strides}


def _flat_shape(shape, input_hw, strides) -> Tuple[int, int, int, int]:
    """(stride, h, w, channels) of a (1, cells, C) per-stride output, or _NoMatch."""
    grids = _flat_grids(input_hw, strides)
    if len(shape) != 3 or shape[0] != 1 or shape[1] not in grids:
        raise _NoMatch(f'output {tuple(shape)} is no (1, cells, C) output of strides '
                       f'{list(strides)} (cells {sorted(grids, reverse=True)})')
    return grids[shape[1]] + (shape[2],)


def _find_globals(spec, shapes, input_hw, num_keypoints) -> Dict[str, int]:
    """Pick the outputs of the layout's global roles (prototypes, decoded keypoints)."""
    found = {}
    for role in spec.global_roles:
        if role == 'protos':
            hits = []
            for idx, shape in enumerate(shapes):
                try:
                    stride, _, _, _ = _grid_shape(shape, spec.channels_last, input_hw)
                except _NoMatch:
                    continue
                if stride <= PROTO_MAX_STRIDE:
                    hits.append(idx)
            what = 'one mask prototype output ' + (
                '(1, H/4, W/4, 32)' if spec.channels_last else '(1, 32, H/4, W/4)')
        elif role == 'angle':       # (1, 1, anchors): OBB rotation, one per anchor
            anchors = _total_anchors(input_hw)
            hits = [idx for idx, s in enumerate(shapes) if tuple(s) == (1, 1, anchors)]
            what = f'one angle output (1, 1, {anchors})'
        else:       # 'kpts': (1, K, 3, anchors)
            anchors = _total_anchors(input_hw)
            hits = [idx for idx, s in enumerate(shapes)
                    if len(s) == 4 and s[0] == 1 and s[2] == 3 and s[3] == anchors
                    and (not num_keypoints or s[1] == num_keypoints)]
            what = f'one keypoint output (1, K, 3, {anchors})'
        if len(hits) != 1:
            raise _NoMatch(f'needs {what}, found {len(hits)}')
        found[role] = hits[0]
    return found


def _bind_grid(spec, shapes, input_hw, num_classes, reg_max, anchors,
               num_keypoints=None) -> Binding:
    if spec.reg_max and reg_max == DEFAULT_REG_MAX:
        reg_max = spec.reg_max          # the head's own bins, unless the card names others
    if spec.anchors and _as_anchors(anchors) == YOLOV5_ANCHORS:
        anchors = spec.anchors
    flat = spec.strides != DENSE_STRIDES
    globals_ = _find_globals(spec, shapes, input_hw, num_keypoints)
    mask_dim = 0
    if 'protos' in globals_:
        mask_dim = shapes[globals_['protos']][3 if spec.channels_last else 1]
    by_stride: Dict[int, List] = {}
    channels = {}
    for idx, shape in enumerate(shapes):
        if idx in globals_.values():
            continue
        stride, h, w, c = _flat_shape(shape, input_hw, spec.strides) if flat else \
            _grid_shape(shape, spec.channels_last, input_hw)
        by_stride.setdefault(stride, []).append((idx, c, h, w))
        channels[idx] = c
    errors = []
    for roles in spec.level_roles:
        try:
            levels, in_order, nc = [], True, None
            for stride in sorted(by_stride):
                group = by_stride[stride]
                assigned, ordered = _assign_level(roles, [(i, c) for i, c, _, _ in group],
                                                  num_classes, reg_max, mask_dim, num_keypoints)
                level_nc = _classes_of(assigned, channels, reg_max)
                if nc is not None and level_nc != nc:
                    raise _NoMatch(f'{nc} classes at one stride, {level_nc} at stride {stride}')
                nc = level_nc
                in_order = in_order and ordered
                levels.append(Level(stride, group[0][2], group[0][3], assigned))
            if spec.family == 'anchor' and len(anchors) != len(levels):
                raise _NoMatch(f'{len(levels)} strides but {len(anchors)} anchor sets')
            if flat and [lv.stride for lv in levels] != list(spec.strides):
                raise _NoMatch(f'strides {[lv.stride for lv in levels]}, expected '
                               f'{list(spec.strides)}')
            if globals_ and [lv.stride for lv in levels] != list(DENSE_STRIDES):
                raise _NoMatch(f'strides {[lv.stride for lv in levels]}, expected '
                               f'{list(DENSE_STRIDES)}')
            kpts = 0
            if 'kpts' in globals_:
                kpts = shapes[globals_['kpts']][1]
            elif 'kpt' in levels[0].outputs:
                kpts = channels[levels[0].outputs['kpt']] // 3
            return Binding(spec, nc, tuple(levels), reg_max=reg_max,
                           anchors=tuple(anchors) if spec.family == 'anchor' else (),
                           in_vendor_order=in_order, output_shapes=tuple(map(tuple, shapes)),
                           global_outputs=globals_, num_keypoints=kpts, mask_dim=mask_dim)
        except _NoMatch as exc:
            errors.append(str(exc))
    raise _NoMatch('; '.join(dict.fromkeys(errors)))


def _bind_dense(spec, shapes, input_hw, num_classes, num_keypoints=None) -> Binding:
    globals_ = _find_globals(spec, shapes, input_hw, num_keypoints)
    rest = [i for i in range(len(shapes)) if i not in globals_.values()]
    if len(rest) != 1 or len(shapes[rest[0]]) != 3 or shapes[rest[0]][0] != 1:
        besides = f' besides {", ".join(globals_)}' if globals_ else ''
        raise _NoMatch(f'needs 1 output (1, 4+nc, anchors){besides}, model has {len(rest)}')
    index = rest[0]
    _, a, b = shapes[index]
    # per-anchor channels after the classes: mask coefficients or K x (x, y, visibility)
    extra_name, extra = '', 0
    if 'protos' in globals_:
        extra_name, extra = '32', shapes[globals_['protos']][1]
    elif spec.task == 'pose':
        extra_name = 'K*3'
        if num_keypoints:
            extra = 3 * num_keypoints
    expected = _total_anchors(input_hw)
    if num_classes and (extra or spec.task != 'pose'):
        transposed = b == 4 + num_classes + extra and a != 4 + num_classes + extra
    else:
        transposed = a == expected and b != expected
        if not transposed and b != expected:
            raise _NoMatch(f'output {tuple(shapes[index])} has no axis of the {expected} '
                           'anchors')
    c = b if transposed else a
    if spec.task == 'pose' and not extra:
        # K unknown: with the classes known it follows, else assume the COCO 17
        extra = c - 4 - num_classes if num_classes else 3 * DEFAULT_KEYPOINTS
        if extra <= 0 or extra % 3:
            raise _NoMatch(f'output {tuple(shapes[index])} has no 4+nc+K*3 axis')
    if c < 5 + extra or (num_classes and c != 4 + num_classes + extra):
        axis = '4+nc' + (f'+{extra_name}' if extra_name else '')
        raise _NoMatch(f'output {tuple(shapes[index])} has no {axis} axis'
                       + (f' for {num_classes} classes' if num_classes else ''))
    return Binding(spec, c - 4 - extra, dense_transposed=transposed,
                   output_shapes=tuple(map(tuple, shapes)),
                   global_outputs=dict(globals_, dense=index),
                   num_keypoints=extra // 3 if spec.task == 'pose' else 0,
                   mask_dim=extra if 'protos' in globals_ else 0)


def _as_anchors(anchors) -> Tuple:
    return tuple(tuple(tuple(int(v) for v in a) for a in level) for level in anchors)


def _one_output(spec, shapes, what) -> Tuple[int, ...]:
    if len(shapes) != 1 or len(shapes[0]) != 3 or shapes[0][0] != 1:
        raise _NoMatch(f'needs 1 output {what}, model has {[tuple(s) for s in shapes]}')
    return tuple(shapes[0])


def _dense_levels(input_hw) -> Tuple[Level, ...]:
    """Strides 8, 16, 32 of a dense output (its anchor axis: finest stride first)."""
    h, w = input_hw
    return tuple(Level(s, h // s, w // s, {}) for s in DENSE_STRIDES)


def _bind_dense_obj(spec, shapes, input_hw, num_classes) -> Binding:
    """(1, anchors, 5+nc): one anchor per cell, or three (YOLOv5/YOLOv7 repositories)."""
    _, a, c = _one_output(spec, shapes, '(1, anchors, 5+nc)')
    cells = _total_anchors(input_hw)
    allowed = (cells,) if spec.box == 'yolox' else (cells, 3 * cells)
    if a not in allowed:
        raise _NoMatch(f'output {(1, a, c)}: {a} anchors, expected '
                       + ' or '.join(map(str, allowed)) + f' for a {input_hw[0]}x{input_hw[1]} '
                       'input')
    if c < 6 or (num_classes and c != 5 + num_classes):
        raise _NoMatch(f'output {(1, a, c)} has no 5+nc axis'
                       + (f' for {num_classes} classes' if num_classes else ''))
    return Binding(spec, c - 5, _dense_levels(input_hw), dense_transposed=True,
                   output_shapes=(tuple(shapes[0]),), global_outputs={'dense': 0})


def _bind_end_to_end(spec, shapes, num_classes) -> Binding:
    """(1, max_det, 6) (7 with an angle): boxes, score, class after the model's own top-k."""
    want = 7 if spec.box == 'xywhr' else 6
    _, n, c = _one_output(spec, shapes, f'(1, max_det, {want})')
    if c != want or n < 1:
        raise _NoMatch(f'output {(1, n, c)} is not (1, max_det, {want})')
    return Binding(spec, num_classes or 0, dense_transposed=True,
                   output_shapes=(tuple(shapes[0]),), global_outputs={'dense': 0})


def _bind_obb_dense(spec, shapes, input_hw, num_classes) -> Binding:
    """(1, 4+nc+1, anchors), as the ultralytics OBB export gives it (never transposed)."""
    _, c, b = _one_output(spec, shapes, '(1, 4+nc+1, anchors)')
    expected = _total_anchors(input_hw)
    a, transposed = c, False
    if b != expected:
        raise _NoMatch(f'output {(1, a, b)} has no axis of the {expected} anchors')
    if not num_classes:
        raise _NoMatch(f'output {(1, a, b)}: without the class count it is read as the plain '
                       "ultralytics head (4+nc rows); the card's classes tell them apart")
    if c != 5 + num_classes:
        raise _NoMatch(f'output {(1, a, b)} has no 4+nc+1 axis'
                       + (f' for {num_classes} classes' if num_classes else ''))
    return Binding(spec, c - 5, dense_transposed=transposed, output_shapes=(tuple(shapes[0]),),
                   global_outputs={'dense': 0})


def _bind_paddle(spec, shapes, num_classes) -> Binding:
    """paddle_nms: (N, 6) rows + (1,) count; paddle_boxes_scores: (1, N, 4) + (1, nc, N)."""
    shapes = [tuple(s) for s in shapes]
    if len(shapes) != 2:
        raise _NoMatch(f'needs 2 outputs, model has {len(shapes)}')
    if spec.family == 'paddle_nms':
        rows = [i for i, s in enumerate(shapes) if len(s) == 2 and s[1] == 6]
        count = [i for i, s in enumerate(shapes) if len(s) == 1 and s[0] in (1, -1)]
        if len(rows) != 1 or len(count) != 1:
            raise _NoMatch(f'outputs {shapes} are not (N, 6) rows and a (1,) count')
        return Binding(spec, num_classes or 0, output_shapes=tuple(shapes),
                       global_outputs={'dense': rows[0], 'count': count[0]})
    boxes = [i for i, s in enumerate(shapes) if len(s) == 3 and s[0] == 1 and s[2] == 4]
    scores = [i for i in range(2) if i not in boxes]
    if len(boxes) != 1 or len(shapes[scores[0]]) != 3:
        raise _NoMatch(f'outputs {shapes} are not boxes (1, N, 4) and scores (1, nc, N)')
    n, (_, nc, n_scores) = shapes[boxes[0]][1], shapes[scores[0]]
    if n != n_scores or nc < 1 or (num_classes and nc != num_classes):
        raise _NoMatch(f'scores {shapes[scores[0]]} are not (1, nc, {n}) for boxes '
                       f'{shapes[boxes[0]]}' + (f' and {num_classes} classes'
                                                if num_classes else ''))
    return Binding(spec, nc, output_shapes=tuple(shapes),
                   global_outputs={'dense': boxes[0], 'scores': scores[0]})


def _bind_vector(spec, shapes, num_classes) -> Binding:
    shape = shapes[0] if len(shapes) == 1 else ()
    want = '(1, nc)' if spec.rank == 2 else '(1, nc, 1, 1)'
    if len(shape) != spec.rank or shape[0] != 1 or any(d != 1 for d in shape[2:]):
        raise _NoMatch(f'needs 1 output {want}, model has {[tuple(s) for s in shapes]}')
    if shape[1] < 2 or (num_classes and shape[1] != num_classes):
        raise _NoMatch(f'output {tuple(shape)} does not have '
                       f'{num_classes or "2 or more"} classes')
    return Binding(spec, shape[1], output_shapes=(tuple(shape),), global_outputs={'dense': 0})


def _bind_semantic(spec, shapes, input_hw, num_classes) -> Binding:
    if len(shapes) != 1 or len(shapes[0]) != 4 or shapes[0][0] != 1:
        raise _NoMatch(f'needs 1 output (1, C, H, W) / (1, H, W, C), model has '
                       f'{[tuple(s) for s in shapes]}')
    shape = shapes[0]
    h, w, c = (shape[1], shape[2], shape[3]) if spec.channels_last else \
        (shape[2], shape[3], shape[1])
    in_h, in_w = input_hw
    # the map covers the input at some (not necessarily integer) scale, e.g. 65x65 for 513x513
    if h < 2 or w < 2 or h > in_h or w > in_w or abs(h / w - in_h / in_w) > max(1 / h, 1 / w):
        raise _NoMatch(f'output {tuple(shape)} read as {"NHWC" if spec.channels_last else "NCHW"}'
                       f' is a {h}x{w} map, not the shape of the {in_h}x{in_w} input')
    if c < 2 or (num_classes and c != num_classes):
        raise _NoMatch(f'output {tuple(shape)} does not have {num_classes or "2 or more"} '
                       'classes on its channel axis')
    return Binding(spec, c, output_shapes=(tuple(shape),), global_outputs={'dense': 0})


def _bind(spec, shapes, input_hw, num_classes, reg_max, anchors, num_keypoints) -> Binding:
    if spec.family == 'dense':
        return _bind_dense(spec, shapes, input_hw, num_classes, num_keypoints)
    if spec.family == 'dense_obj':
        return _bind_dense_obj(spec, shapes, input_hw, num_classes)
    if spec.family == 'end_to_end':
        return _bind_end_to_end(spec, shapes, num_classes)
    if spec.family == 'obb_dense':
        return _bind_obb_dense(spec, shapes, input_hw, num_classes)
    if spec.family == 'vector':
        return _bind_vector(spec, shapes, num_classes)
    if spec.family in ('paddle_nms', 'paddle_boxes_scores'):
        return _bind_paddle(spec, shapes, num_classes)
    if spec.family == 'semantic':
        return _bind_semantic(spec, shapes, input_hw, num_classes)
    return _bind_grid(spec, shapes, input_hw, num_classes, reg_max, anchors, num_keypoints)


def match_layout(shapes: Sequence[Sequence[int]], input_hw: Tuple[int, int],
                 num_classes: Optional[int] = None, layout: str = 'auto',
                 vendor: Optional[str] = None, reg_max: int = DEFAULT_REG_MAX,
                 anchors=YOLOV5_ANCHORS, task: str = 'detect',
                 num_keypoints: Optional[int] = None) -> Binding:
    """
    Bind output shapes to a known layout of ``task``, or raise LayoutError saying why none fits.

    ``layout`` forces one layout by name; ``vendor`` ('rknn', 'rdk') breaks ties between layouts
    whose shapes coincide (RKNN NHWC and RDK 6-output heads, (1, nc) classifiers); otherwise the
    layout whose vendor output order the model follows wins, then the plain ultralytics export.
    num_keypoints: K of a pose model when known (the card's keypoint names, export metadata).
    """
    shapes = [tuple(int(d) for d in s) for s in shapes]
    if task not in TASK_LAYOUTS:
        raise LayoutError(f'unknown task {task!r}; known: {", ".join(TASKS)}')
    table = TASK_LAYOUTS[task]
    if layout != 'auto' and layout not in table:
        if layout in ALL_LAYOUTS:
            raise LayoutError(f'layout {layout!r} is a {ALL_LAYOUTS[layout].task} layout, but '
                              f'the model\'s task is {task}; {task} layouts: {", ".join(table)}')
        raise LayoutError(f'unknown layout {layout!r}; known: {", ".join(ALL_LAYOUTS)}')
    candidates = [table[layout]] if layout != 'auto' else \
        [spec for spec in table.values() if not spec.same_shapes_as]
    matches, reasons = [], {}
    for spec in candidates:
        try:
            matches.append(_bind(spec, shapes, input_hw, num_classes, reg_max, anchors,
                                 num_keypoints))
        except _NoMatch as exc:
            reasons[spec.name] = str(exc)
    if not matches:
        lines = '\n'.join(f'  - {name}: {table[name].pattern}\n      not this model: {why}'
                          for name, why in reasons.items())
        by_name = [f'{s.name} (shapes of {s.same_shapes_as})' for s in table.values()
                   if s.same_shapes_as and layout == 'auto']
        if by_name:
            lines += '\n  chosen only by name (`layout:`), same shapes as another: ' + \
                ', '.join(by_name)
        kind = 'detection' if task == 'detect' else task
        raise LayoutError(
            f'the model outputs {shapes} (input {input_hw[0]}x{input_hw[1]}'
            + (f', {num_classes} classes' if num_classes else '')
            + f') match no known {kind} layout:\n{lines}\n'
            'Set `layout:` in the model card if the shapes are right, or re-export the model.')
    if len(matches) > 1 and vendor:
        matches = [m for m in matches if m.layout.vendor == vendor] or matches
    if len(matches) > 1:
        matches = [m for m in matches if m.in_vendor_order] or matches
    if len(matches) > 1:
        # a shape a YOLOv5/v8 head also fits (the class count unknown) stays read as theirs
        matches = [m for m in matches if m.layout not in MORE_DETECT] or matches
    if len(matches) > 1 and all(m.layout.family == 'vector' for m in matches):
        # plain ONNX of a (1, nc) classifier: the ultralytics export, softmax inside
        matches = [m for m in matches if m.layout.vendor == 'ultralytics'] or matches
    if len(matches) > 1:
        names = ', '.join(m.layout.name for m in matches)
        raise LayoutError(f'the model outputs {shapes} fit several layouts ({names}); '
                          'set `layout:` in the model card to the one it was exported with')
    return matches[0]
