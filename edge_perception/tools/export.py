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
Export ultralytics YOLO checkpoints (.pt) to ONNX in a chosen head layout, with a model card.

Layouts (``--layout``), for detect / segment / pose / classify checkpoints:

- ``ultralytics``: ultralytics' own ONNX export (one dense output, decoded boxes).
- ``rknn``: the Rockchip model zoo's split head: per stride box (1,64,H,W) raw DFL logits, cls
  (1,nc,H,W) sigmoided, score_sum (1,1,H,W); segment adds mask coefficients (1,32,H,W) per
  stride and the prototypes; pose has per stride (1,64+nc,H,W) (DFL + raw class logits) and
  keypoints (1,K,3,anchors) decoded in input pixels; classify gives (1,nc) logits; OBB
  (YOLOv8/YOLO11-OBB) has per stride (1,64+nc,H,W) (DFL + raw class logits), then the angle
  (1,1,anchors) sigmoided (rknn_model_zoo's yolov8_obb form: angle = (value - 0.25) x pi).
- ``rdk``: the D-Robotics model zoo's NHWC head: per stride cls (1,H,W,nc) raw logits and box
  (1,H,W,64) raw DFL; segment adds coefficients (1,H,W,32) and prototypes (1,H/4,W/4,32); pose
  has cls, box and raw keypoints (1,H,W,K*3); classify gives (1,nc,1,1) logits. YOLO26 heads
  give the zoo's BPU form of their one-to-one branch: cls and box (1,H,W,4) distances per
  stride (``rdk_yolo26``; OBB adds the angle (1,H,W,1) in radians: ``rdk_yolo26_obb``);
  YOLOv8/YOLO11-OBB gives cls, box (1,H,W,64) and the angle logit (1,H,W,1) (``rdk_obb``).

The vendor heads are a wrapper around the checkpoint's own modules: the backbone and neck run
as trained, then the head's per-stride convolutions are called one by one and their outputs
arranged as the vendor wants. Every export is checked with ``edge_perception.layouts`` (the
same recognition the runtime does) and gets a model card (``<name>.yaml``) next to it, which
``load_model`` reads directly.

ultralytics (AGPL-3.0) and torch are tool dependencies only, imported inside the functions here
(install them with scripts/setup_export_env.sh). ultralytics is kept offline: no update checks,
no analytics, no automatic pip installs, settings in a temporary folder.
"""

from dataclasses import dataclass, field
import os
import shutil
import tempfile
from typing import Dict, Optional, Sequence, Tuple
import warnings

from ..errors import ConfigError, LayoutError, ModelLoadError
from ..keypoints import keypoint_names as default_keypoint_names
from ..layouts import DENSE_STRIDES, match_layout

LAYOUT_CHOICES = ('ultralytics', 'rknn', 'rdk')
# (task, --layout) -> the name edge_perception.layouts gives that layout
LAYOUT_NAMES = {
    ('detect', 'ultralytics'): 'ultralytics', ('detect', 'rknn'): 'rknn',
    ('detect', 'rdk'): 'rdk',
    ('segment', 'ultralytics'): 'ultralytics_seg', ('segment', 'rknn'): 'rknn_seg',
    ('segment', 'rdk'): 'rdk_seg',
    ('pose', 'ultralytics'): 'ultralytics_pose', ('pose', 'rknn'): 'rknn_pose',
    ('pose', 'rdk'): 'rdk_pose',
    ('classify', 'ultralytics'): 'ultralytics_cls', ('classify', 'rknn'): 'rknn_cls',
    ('classify', 'rdk'): 'rdk_cls',
    ('obb', 'ultralytics'): 'ultralytics_obb', ('obb', 'rknn'): 'rknn_obb',
}
# end-to-end (one-to-one, no NMS) exports of YOLOv10/YOLO26 heads: task -> layout
END2END_NAMES = {'detect': 'ultralytics_e2e', 'obb': 'ultralytics_e2e_obb'}
# rdk_model_zoo's BPU forms of the heads beyond YOLOv8's (samples/vision/ultralytics_yolo26
# export_yolo26_{detect,obb}_bpu.py: the one-to-one branch; ultralytics_yolo: YOLOv8/11-OBB):
# (task, head has a one-to-one branch and no DFL) -> layout
RDK_HEAD_NAMES = {('detect', True): 'rdk_yolo26', ('obb', True): 'rdk_yolo26_obb',
                  ('obb', False): 'rdk_obb'}
# head module class (exact name) -> task. YOLOv10 heads export in the ultralytics layout only,
# YOLO26 and OBB heads also in rdk, YOLOv8/YOLO11-OBB in rknn (no YOLO26 form in the zoo);
# YOLO26's Detect is YOLOv8's class with a one-to-one branch.
HEADS = {'Detect': 'detect', 'Segment': 'segment', 'Pose': 'pose', 'Classify': 'classify',
         'v10Detect': 'detect', 'OBB': 'obb', 'OBB26': 'obb'}
# RDK's toolchain takes opset 10/11; rknn-toolkit2 takes 11 too, so the vendor heads use it
VENDOR_OPSET = 11
INSTALL_HINT = ('the export tool needs torch and ultralytics: run scripts/setup_export_env.sh '
                'and use .venv-export/bin/edge-perception')


@dataclass
class ExportResult:
    """What ``export`` wrote and what it found."""

    onnx: str
    card: str
    task: str
    layout: str                     # the edge_perception layout name, e.g. 'rknn_seg'
    input_hw: Tuple[int, int]
    class_names: Tuple[str, ...]
    keypoint_names: Tuple[str, ...] = ()
    output_shapes: Tuple[Tuple[int, ...], ...] = field(default=())


def offline_ultralytics() -> None:
    """Set ultralytics' environment so that it never reaches for the network."""
    os.environ.setdefault('YOLO_OFFLINE', '1')          # no update checks, no events
    os.environ.setdefault('YOLO_AUTOINSTALL', 'False')  # never pip-installs a requirement
    os.environ.setdefault('YOLO_VERBOSE', 'False')      # our own summary says what was written
    os.environ.setdefault('YOLO_CONFIG_DIR', os.path.join(tempfile.gettempdir(),
                                                          'edge_perception_ultralytics'))


def _imports():
    """Import torch and ultralytics (tool dependencies) or raise with the fix."""
    offline_ultralytics()
    try:
        import torch
        import ultralytics
    except ImportError as exc:
        raise RuntimeError(f'{exc}; {INSTALL_HINT}') from None
    return torch, ultralytics


def _imgsz(value, default: int) -> Tuple[int, int]:
    if value is None:
        value = default
    if isinstance(value, (int, float)):
        size = (int(value), int(value))
    else:
        size = tuple(int(v) for v in value)
        size = size * 2 if len(size) == 1 else size
    if len(size) != 2 or min(size) <= 0 or any(s % max(DENSE_STRIDES) for s in size):
        raise ConfigError(f'imgsz {value!r}: give N or (height, width), multiples of '
                          f'{max(DENSE_STRIDES)}')
    return size


def load_checkpoint(weights: str):
    """Load an ultralytics checkpoint; return (YOLO object, task, class names, default imgsz)."""
    _, ultralytics = _imports()
    if not os.path.isfile(weights):
        raise ModelLoadError(f'checkpoint not found: {weights}')
    try:
        yolo = ultralytics.YOLO(weights)
    except Exception as exc:       # noqa: B902  (ultralytics raises many kinds)
        raise ModelLoadError(f'{weights}: ultralytics cannot load it: {exc}') from None
    head = yolo.model.model[-1]
    kind = type(head).__name__
    if kind not in HEADS:
        raise ModelLoadError(f'{weights}: head {kind} is not supported; export handles the '
                             f'YOLOv8/YOLO11-style heads {", ".join(HEADS)}')
    task = HEADS[kind]
    names = yolo.model.names
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    args = (getattr(yolo, 'ckpt', None) or {}).get('train_args') or {}
    default = args.get('imgsz') or (224 if task == 'classify' else 640)
    return yolo, task, tuple(str(n) for n in names), default


def _keypoint_names(model, count: int) -> Tuple[str, ...]:
    names = getattr(model, 'kpt_names', None)
    if isinstance(names, dict):      # {class id: [names]} in recent ultralytics
        names = next(iter(names.values()), None)
    if names and len(names) == count:
        return tuple(str(n) for n in names)
    return default_keypoint_names(count)


def _rdk_head_name(head, task: str) -> Optional[str]:
    """Return the rdk layout of a YOLO26 (one-to-one, reg_max 1) or OBB head, else None."""
    yolo26 = getattr(head, 'one2one_cv2', None) is not None and getattr(head, 'reg_max', 0) == 1
    if task == 'obb' or yolo26:
        return RDK_HEAD_NAMES.get((task, yolo26))
    return None


def _head_wrapper(torch, model, task: str, vendor: str, input_hw: Tuple[int, int]):
    """
    Return a module: the trained backbone and neck, then the head's modules in vendor layout.

    Only the head's own submodules are called (cv2 box, cv3 class, cv4 mask coefficient or
    keypoint convolutions, proto, and the classifier's conv/pool/linear); nothing of
    ultralytics' decode runs.
    """
    layers = model.model
    head = layers[-1]
    channels_last = vendor == 'rdk'
    # YOLO26's rdk forms: the one-to-one branch (as the zoo's export scripts take it)
    one2one = vendor == 'rdk' and _rdk_head_name(head, task) in ('rdk_yolo26', 'rdk_yolo26_obb')
    prefix = 'one2one_' if one2one else ''
    branches = [getattr(head, prefix + n, None) for n in ('cv2', 'cv3', 'cv4')]
    if task != 'classify':
        strides = [int(s) for s in head.stride.tolist()]
        if tuple(strides) != DENSE_STRIDES or head.reg_max != (1 if one2one else 16):
            raise ModelLoadError(f'head with strides {strides} and reg_max {head.reg_max}; the '
                                 f'vendor layouts need strides {list(DENSE_STRIDES)} and 16')
    if task == 'pose' and head.kpt_shape[1] != 3:
        raise ModelLoadError(f'pose head with kpt_shape {list(head.kpt_shape)}; the vendor '
                             'layouts need (K, 3) keypoints (x, y, visibility)')

    def nhwc(t):
        return t.permute(0, 2, 3, 1) if channels_last else t

    class VendorHead(torch.nn.Module):
        """The checkpoint's backbone and neck, then its head's convolutions, vendor layout."""

        def __init__(self):
            super().__init__()
            self.layers = layers
            if task == 'pose' and vendor == 'rknn':
                # per anchor (stride blocks, row-major): column, row, stride, for decoding
                cols, rows, steps = [], [], []
                for s in strides:
                    h, w = input_hw[0] // s, input_hw[1] // s
                    cols.append(torch.arange(w, dtype=torch.float32).repeat(h))
                    rows.append(torch.arange(h, dtype=torch.float32).repeat_interleave(w))
                    steps.append(torch.full((h * w,), float(s)))
                self.register_buffer('col', torch.cat(cols))
                self.register_buffer('row', torch.cat(rows))
                self.register_buffer('step', torch.cat(steps))

        def features(self, images):
            saved, x = [], images
            for m in self.layers[:-1]:
                if m.f != -1:
                    x = saved[m.f] if isinstance(m.f, int) else \
                        [x if j == -1 else saved[j] for j in m.f]
                x = m(x)
                saved.append(x)
            if task == 'classify':
                return x
            return [x if j == -1 else saved[j] for j in head.f]

        def forward(self, images):
            feats = self.features(images)
            if task == 'classify':
                logits = head.linear(head.pool(head.conv(feats)).flatten(1))
                return logits.reshape(1, -1, 1, 1) if vendor == 'rdk' else logits
            outputs = []
            box_convs, cls_convs, extra_convs = branches
            for i, x in enumerate(feats):
                box, cls = box_convs[i](x), cls_convs[i](x)
                if vendor == 'rdk':
                    outputs += [nhwc(cls), nhwc(box)]
                    if task != 'detect':        # coef, kpt, or the OBB angle convolution
                        outputs.append(nhwc(extra_convs[i](x)))
                elif task in ('pose', 'obb'):            # DFL + raw class logits
                    outputs.append(torch.cat([box, cls], 1))
                else:
                    cls = cls.sigmoid()
                    outputs += [box, cls, cls.sum(1, keepdim=True).clamp(0.0, 1.0)]
                    if task == 'segment':
                        outputs.append(head.cv4[i](x))
            if task == 'segment':
                outputs.append(nhwc(head.proto(feats[0])))
            if task == 'obb' and vendor == 'rknn':   # (1, 1, anchors): strides, row-major
                outputs.append(torch.cat([extra_convs[i](x).reshape(1, head.ne, -1)
                                          for i, x in enumerate(feats)], -1).sigmoid())
            if task == 'pose' and vendor == 'rknn':
                k = head.kpt_shape[0]
                raw = torch.cat([head.cv4[i](x).reshape(1, k, 3, -1)
                                 for i, x in enumerate(feats)], -1)
                px = (raw[:, :, 0:1] * 2.0 + self.col) * self.step
                py = (raw[:, :, 1:2] * 2.0 + self.row) * self.step
                outputs.append(torch.cat([px, py, raw[:, :, 2:3].sigmoid()], 2))
            return tuple(outputs)

    return VendorHead().eval()


def _output_names(task: str, vendor: str) -> Sequence[str]:
    if task == 'classify':
        return ['output0']
    if vendor == 'rdk':
        roles = ['cls', 'box'] + {'detect': [], 'segment': ['coef'], 'pose': ['kpt'],
                                  'obb': ['angle']}[task]
    elif task in ('pose', 'obb'):
        roles = ['boxcls']
    else:
        roles = ['box', 'cls', 'score_sum'] + (['coef'] if task == 'segment' else [])
    names = [f'{role}_s{s}' for s in DENSE_STRIDES for role in roles]
    if task == 'segment':
        names.append('protos')
    if task == 'pose' and vendor == 'rknn':
        names.append('kpts')
    if task == 'obb' and vendor == 'rknn':
        names.append('angle')
    return names


def _export_vendor(yolo, task, vendor, input_hw, path, opset) -> None:
    import copy

    torch, _ = _imports()
    model = copy.deepcopy(yolo.model).float().eval()
    head = model.model[-1]
    if vendor == 'rdk' and _rdk_head_name(head, task) in ('rdk_yolo26', 'rdk_yolo26_obb'):
        head.end2end = True     # fuse() keeps the one-to-one branch (and drops the other)
    model = model.fuse(verbose=False) if hasattr(model, 'fuse') else model
    for p in model.parameters():
        p.requires_grad_(False)
    wrapper = _head_wrapper(torch, model, task, vendor, input_hw)
    dummy = torch.zeros(1, 3, *input_hw)
    # The TorchScript exporter on purpose: the dynamo one needs opset >= 18 and onnxscript, and
    # the RDK toolchain takes opset 10/11 only. Its deprecation notice is expected.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(wrapper, dummy, path, opset_version=opset, input_names=['images'],
                          output_names=list(_output_names(task, vendor)),
                          do_constant_folding=True, dynamo=False)


def _export_plain(weights, input_hw, path, opset, end2end: bool = False) -> None:
    """Run ultralytics' own ONNX export (on a temporary copy: it writes next to its input)."""
    with tempfile.TemporaryDirectory(prefix='ep_export_') as tmp:
        source = os.path.join(tmp, 'model.pt')
        shutil.copyfile(weights, source)
        _, ultralytics = _imports()
        copy = ultralytics.YOLO(source)
        kwargs = {'opset': opset} if opset else {}
        if end2end:
            kwargs['nms'] = False           # ultralytics: the NMS-free one-to-one head
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)     # its TorchScript exporter
            written = copy.export(format='onnx', imgsz=list(input_hw), simplify=False,
                                  dynamic=False, half=False, device='cpu', verbose=False,
                                  **kwargs)
        shutil.move(str(written), path)


def _onnx_shapes(path: str):
    import onnx
    graph = onnx.load(path, load_external_data=False).graph
    return [tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in graph.output]


def _set_metadata(path: str, metadata: Dict[str, str]) -> None:
    import onnx
    model = onnx.load(path)
    present = {p.key: p for p in model.metadata_props}
    for key, value in metadata.items():
        entry = present.get(key) or model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _write_card(result: ExportResult, weights: str, vendor: str, extra: Dict[str, str]) -> None:
    import yaml
    card = {
        'name': os.path.splitext(os.path.basename(result.onnx))[0],
        # oriented boxes are detections (the detector node); the layout name says 'obb'
        'task': 'detect' if result.task == 'obb' else result.task,
        'layout': result.layout,
        'model': os.path.basename(result.onnx),
        'input': {'size': list(result.input_hw)},
        'classes': list(result.class_names),
    }
    if result.task == 'classify':
        card['input']['resize'] = 'center_crop'     # ultralytics' classify pre-processing
    if vendor != 'ultralytics':
        card['vendor'] = vendor
    if result.keypoint_names:
        card['keypoints'] = list(result.keypoint_names)
    card['description'] = (f'exported from {os.path.basename(weights)} by edge-perception '
                           f'export (ultralytics {extra.get("ultralytics", "?")}, layout '
                           f'{result.layout})')
    if extra.get('license'):
        card['license'] = extra['license']
    with open(result.card, 'w', encoding='utf-8') as f:
        yaml.safe_dump(card, f, sort_keys=False, allow_unicode=True)


def _refuse_rknn_end2end(weights: str, head, one2one: bool) -> None:
    """Raise, with what to use instead, for the heads rknn_model_zoo defines no form of."""
    kind = type(head).__name__
    if kind == 'v10Detect':
        raise ModelLoadError(
            f'{weights}: YOLOv10 heads export in the ultralytics layout only (--layout '
            'ultralytics, --end2end for the one-to-one (1, 300, 6) head); the rknn_yolov10 '
            "layout (rknn_model_zoo's yolov10) is decoded but not written by export yet")
    if one2one or getattr(head, 'end2end', False) or kind == 'OBB26':
        raise ModelLoadError(
            f'{weights}: {kind} is a YOLO26 head; rknn_model_zoo (v2.3.2) has no yolo26 example, '
            'so there is no rknn output form to export. Use --layout ultralytics (--end2end for '
            'the one-to-one head) and convert it with --dtype fp16 (a one-tensor head loses its '
            'class scores in int8), or a YOLO11/YOLOv8 model, whose --layout rknn split head '
            'quantises well')


def export(weights: str, layout: str = 'ultralytics', output: Optional[str] = None,
           imgsz=None, opset: Optional[int] = None, end2end: bool = False) -> ExportResult:
    """
    Export an ultralytics checkpoint to ONNX in ``layout`` and write its model card.

    layout: 'ultralytics', 'rknn' or 'rdk'. output: the .onnx path (default
    ``<checkpoint name>_<layout>.onnx`` in the current folder); the card goes next to it with
    the .yaml suffix. imgsz: N or (height, width) (default: the checkpoint's training size).
    opset: ONNX opset (default: ultralytics' choice for 'ultralytics', 11 for the vendor heads).
    end2end: the one-to-one head of a YOLOv10/YOLO26 model, top-k inside, no NMS ((1, 300, 6),
    OBB (1, 300, 7)); otherwise such models export their one-to-many head (NMS on our side).
    The written model's output shapes are checked against the layout tables the runtime uses.
    """
    if layout not in LAYOUT_CHOICES:
        raise ConfigError(f'layout {layout!r} unknown; choose one of {", ".join(LAYOUT_CHOICES)}')
    torch, ultralytics = _imports()
    yolo, task, names, default_size = load_checkpoint(weights)
    input_hw = _imgsz(imgsz, default_size)
    head = yolo.model.model[-1]
    one2one = getattr(head, 'one2one_cv2', None) is not None
    if end2end and layout != 'ultralytics':
        raise ConfigError('end2end is the one-to-one export of the ultralytics layout; the '
                          'rdk forms of YOLO26 heads are one-to-one already (--layout rdk)')
    rdk_name = _rdk_head_name(head, task) if layout == 'rdk' else None
    if layout == 'rknn':
        _refuse_rknn_end2end(weights, head, one2one)
    if layout != 'ultralytics' and not rdk_name and (
            (task == 'obb' and layout != 'rknn') or one2one or getattr(head, 'end2end', False)):
        raise ModelLoadError(f'{weights}: {type(head).__name__} heads (OBB, YOLOv10/YOLO26) '
                             'export in the ultralytics layout only (--layout ultralytics; '
                             'YOLO26 and OBB heads also in --layout rdk)')
    if end2end and not one2one:
        raise ConfigError(f'{weights}: head {type(head).__name__} has no one-to-one branch '
                          '(end-to-end heads: YOLOv10, YOLO26)')
    name = rdk_name or (END2END_NAMES[task] if end2end else LAYOUT_NAMES[(task, layout)])
    stem = os.path.splitext(os.path.basename(weights))[0]
    output = os.path.abspath(output or f'{stem}_{layout}.onnx')
    if not output.endswith('.onnx'):
        raise ConfigError(f'output {output} must end with .onnx')
    os.makedirs(os.path.dirname(output), exist_ok=True)
    kpts = head.kpt_shape[0] if task == 'pose' else 0
    if layout == 'ultralytics':
        _export_plain(weights, input_hw, output, opset, end2end)
    else:
        _export_vendor(yolo, task, layout, input_hw, output, opset or VENDOR_OPSET)
    ckpt = getattr(yolo, 'ckpt', None) or {}
    metadata = {'task': task, 'imgsz': list(input_hw),
                'names': dict(enumerate(names)), 'layout': name, 'exporter': 'edge_perception',
                'ultralytics': ultralytics.__version__, 'torch': torch.__version__}
    if task == 'pose':
        metadata['kpt_shape'] = list(head.kpt_shape)
    if ckpt.get('license'):
        metadata['license'] = ckpt['license']
    _set_metadata(output, metadata)
    shapes = _onnx_shapes(output)
    try:
        match_layout(shapes, input_hw, len(names), layout=name, task=task,
                     num_keypoints=kpts or None)
    except LayoutError as exc:
        raise LayoutError(f'{output}: the export does not have the {name} layout: {exc}') \
            from None
    result = ExportResult(output, os.path.splitext(output)[0] + '.yaml', task, name, input_hw,
                          names, _keypoint_names(yolo.model, kpts) if kpts else (),
                          tuple(shapes))
    _write_card(result, weights, layout, {k: str(v) for k, v in metadata.items()})
    return result
