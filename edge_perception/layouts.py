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
NCHW or NHWC), which role each tensor plays (box / cls / score_sum / pred), and whether class
scores already went through a sigmoid. ``match_layout`` binds a model's output shapes to one
layout once, at load time; the decoders then only read the binding.
"""

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class LayoutSpec:
    """One vendor's way of laying out a detection head's outputs."""

    name: str
    family: str                 # 'dense' (decoded boxes), 'dfl' (grid DFL), 'anchor' (YOLOv5 grid)
    vendor: str                 # 'ultralytics', 'rknn' or 'rdk'
    channels_last: bool         # grids are (1, H, W, C) rather than (1, C, H, W)
    scores: str                 # 'sigmoid': probabilities already; 'logit': raw, sigmoid on CPU
    level_roles: Tuple[Tuple[str, ...], ...] = ()   # role orders per stride, vendor's first
    pattern: str = ''           # expected shapes, for error messages


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

    def describe(self) -> str:
        """One line for logs: layout name, classes and what each output is."""
        if self.layout.family == 'dense':
            where = f'output {self.output_shapes[0]}'
        else:
            where = '; '.join(
                f'stride {lv.stride}: ' + ', '.join(f'{r}=#{i}' for r, i in lv.outputs.items())
                for lv in self.levels)
        return f'{self.layout.name} ({self.layout.vendor}, {self.num_classes} classes; {where})'


class _NoMatch(Exception):
    pass


def _role_channels(role: str, num_classes: Optional[int], reg_max: int):
    """Channel count a role needs, or a predicate, given what is known."""
    fixed = {'box': 4 * reg_max, 'score_sum': 1}
    if role in fixed:
        return lambda c: c == fixed[role]
    if role == 'cls':
        return (lambda c: c == num_classes) if num_classes else (lambda c: c >= 1)
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


def _assign_level(roles, tensors, num_classes, reg_max):
    """Assign roles to this level's (index, channels) tensors; prefer the vendor's order."""
    if len(roles) != len(tensors):
        raise _NoMatch(f'{len(tensors)} outputs at one stride, layout has {len(roles)}')
    checks = [_role_channels(r, num_classes, reg_max) for r in roles]
    found = []
    for perm in itertools.permutations(tensors):
        if all(check(c) for check, (_, c) in zip(checks, perm)):
            found.append({role: idx for role, (idx, _) in zip(roles, perm)})
    if not found:
        chans = [c for _, c in tensors]
        raise _NoMatch(f'channels {chans} do not fit roles {list(roles)}')
    ordered = [f for f in found if list(f.values()) == sorted(f.values())]
    return (ordered or found)[0], bool(ordered)


def _classes_of(roles: Dict[str, int], channels: Dict[int, int]) -> int:
    if 'cls' in roles:
        return channels[roles['cls']]
    return channels[roles['pred']] // 3 - 5


def _bind_grid(spec, shapes, input_hw, num_classes, reg_max, anchors) -> Binding:
    by_stride: Dict[int, List] = {}
    channels = {}
    for idx, shape in enumerate(shapes):
        stride, h, w, c = _grid_shape(shape, spec.channels_last, input_hw)
        by_stride.setdefault(stride, []).append((idx, c, h, w))
        channels[idx] = c
    errors = []
    for roles in spec.level_roles:
        try:
            levels, in_order, nc = [], True, None
            for stride in sorted(by_stride):
                group = by_stride[stride]
                assigned, ordered = _assign_level(roles, [(i, c) for i, c, _, _ in group],
                                                  num_classes, reg_max)
                level_nc = _classes_of(assigned, channels)
                if nc is not None and level_nc != nc:
                    raise _NoMatch(f'{nc} classes at one stride, {level_nc} at stride {stride}')
                nc = level_nc
                in_order = in_order and ordered
                levels.append(Level(stride, group[0][2], group[0][3], assigned))
            if spec.family == 'anchor' and len(anchors) != len(levels):
                raise _NoMatch(f'{len(levels)} strides but {len(anchors)} anchor sets')
            return Binding(spec, nc, tuple(levels), reg_max=reg_max,
                           anchors=tuple(anchors) if spec.family == 'anchor' else (),
                           in_vendor_order=in_order, output_shapes=tuple(map(tuple, shapes)))
        except _NoMatch as exc:
            errors.append(str(exc))
    raise _NoMatch('; '.join(dict.fromkeys(errors)))


def _bind_dense(spec, shapes, input_hw, num_classes) -> Binding:
    if len(shapes) != 1 or len(shapes[0]) != 3 or shapes[0][0] != 1:
        raise _NoMatch(f'needs 1 output (1, 4+nc, anchors), model has {len(shapes)}')
    _, a, b = shapes[0]
    expected = sum((input_hw[0] // s) * (input_hw[1] // s) for s in DENSE_STRIDES)
    if num_classes:
        transposed = b == 4 + num_classes and a != 4 + num_classes
    else:
        transposed = a == expected and b != expected
    c = b if transposed else a
    if c < 5 or (num_classes and c != 4 + num_classes):
        raise _NoMatch(f'output {tuple(shapes[0])} has no 4+nc axis'
                       + (f' for {num_classes} classes' if num_classes else ''))
    return Binding(spec, c - 4, dense_transposed=transposed,
                   output_shapes=(tuple(shapes[0]),))


def match_layout(shapes: Sequence[Sequence[int]], input_hw: Tuple[int, int],
                 num_classes: Optional[int] = None, layout: str = 'auto',
                 vendor: Optional[str] = None, reg_max: int = DEFAULT_REG_MAX,
                 anchors=YOLOV5_ANCHORS) -> Binding:
    """
    Bind output shapes to a known layout, or raise LayoutError saying why none fits.

    ``layout`` forces one layout by name; ``vendor`` ('rknn', 'rdk') breaks ties between layouts
    whose shapes coincide (RKNN NHWC and RDK 6-output heads); otherwise the layout whose vendor
    output order the model follows wins.
    """
    shapes = [tuple(int(d) for d in s) for s in shapes]
    if layout != 'auto' and layout not in LAYOUTS:
        raise LayoutError(f'unknown layout {layout!r}; known: {", ".join(LAYOUTS)}')
    candidates = [LAYOUTS[layout]] if layout != 'auto' else list(LAYOUTS.values())
    matches, reasons = [], {}
    for spec in candidates:
        try:
            if spec.family == 'dense':
                matches.append(_bind_dense(spec, shapes, input_hw, num_classes))
            else:
                matches.append(_bind_grid(spec, shapes, input_hw, num_classes, reg_max, anchors))
        except _NoMatch as exc:
            reasons[spec.name] = str(exc)
    if not matches:
        lines = '\n'.join(f'  - {name}: {LAYOUTS[name].pattern}\n      not this model: {why}'
                          for name, why in reasons.items())
        raise LayoutError(
            f'the model outputs {shapes} (input {input_hw[0]}x{input_hw[1]}'
            + (f', {num_classes} classes' if num_classes else '')
            + f') match no known detection layout:\n{lines}\n'
            'Set `layout:` in the model card if the shapes are right, or re-export the model.')
    if len(matches) > 1 and vendor:
        matches = [m for m in matches if m.layout.vendor == vendor] or matches
    if len(matches) > 1:
        matches = [m for m in matches if m.in_vendor_order] or matches
    if len(matches) > 1:
        names = ', '.join(m.layout.name for m in matches)
        raise LayoutError(f'the model outputs {shapes} fit several layouts ({names}); '
                          'set `layout:` in the model card to the one it was exported with')
    return matches[0]
