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
Model cards: a small YAML file that says what a model is and how to feed it.

A card names the task (detect, segment, pose, classify, semantic), the head layout (or
``auto``), the input convention, the class names (inline or a labels file), pose keypoint names,
and one model file per backend. A bare ``.onnx`` file works as its own card when it carries
ultralytics metadata (names, imgsz, task, kpt_shape).

File references: absolute, ``~``-relative, relative to the card, or
``python-package://<package>/<path>`` for a file shipped inside an installed Python package.
"""

import ast
from dataclasses import dataclass, field
import importlib.util
import os
from typing import Dict, Optional, Tuple

import yaml

from .errors import ModelLoadError
from .layouts import ALL_LAYOUTS, DEFAULT_REG_MAX, TASK_LAYOUTS, TASKS, YOLOV5_ANCHORS
from .preprocess import InputSpec, tuple3

PACKAGE_SCHEME = 'python-package://'
# Which backend runs which file, by extension (first match wins).
BACKEND_BY_SUFFIX = {'.onnx': 'onnxruntime', '.rknn': 'rknn', '.bin': 'rdk', '.hbm': 'rdk'}
CARD_KEYS = {'name', 'task', 'layout', 'model', 'files', 'input', 'classes', 'labels_file',
             'thresholds', 'reg_max', 'anchors', 'vendor', 'install_hint', 'license',
             'description', 'keypoints', 'scores'}
# classify: what the model's outputs are; softmax = probabilities (the model ends in a softmax),
# logit = raw scores (softmax on the CPU).
CLASS_SCORES = ('softmax', 'logit')
# Card thresholds that are counts: integers (the node declares them INTEGER parameters).
INTEGER_THRESHOLDS = ('max_detections', 'top_k')


@dataclass
class ModelSpec:
    """Everything needed to build a Model, with file paths already resolved."""

    name: str
    files: Dict[str, str]                   # backend name -> model file
    task: str = 'detect'
    layout: str = 'auto'
    input: Dict[str, object] = field(default_factory=dict)  # noqa: A003  (InputSpec fields)
    class_names: Tuple[str, ...] = ()
    thresholds: Dict[str, float] = field(default_factory=dict)   # counts are ints
    reg_max: int = DEFAULT_REG_MAX
    anchors: Tuple = YOLOV5_ANCHORS
    vendor: Optional[str] = None
    install_hint: str = ''
    source: str = ''                         # the card (or model file) this came from
    keypoint_names: Tuple[str, ...] = ()     # pose: names of the K keypoints (card)
    num_keypoints: Optional[int] = None      # pose: K from export metadata (kpt_shape)
    scores: Optional[str] = None             # classify: 'softmax'/'logit' (card), None: ask


def resolve_path(reference: str, base_dir: str, install_hint: str = '') -> str:
    """Turn a card's file reference into a path; missing files raise ModelLoadError."""
    reference = str(reference)
    if reference.startswith(PACKAGE_SCHEME):
        package, _, relative = reference[len(PACKAGE_SCHEME):].partition('/')
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            hint = install_hint or f'install the Python package that provides {package!r}'
            raise ModelLoadError(f'model file {reference}: Python package {package!r} is not '
                                 f'installed. Fix: {hint}')
        path = os.path.join(list(found.submodule_search_locations)[0], relative)
    else:
        path = os.path.expanduser(reference)
        if not os.path.isabs(path):
            path = os.path.join(base_dir, path)
    path = os.path.normpath(path)
    if not os.path.isfile(path):
        hint = f' Fix: {install_hint}' if install_hint else ''
        raise ModelLoadError(f'model file not found: {path} (from {reference!r}).{hint}')
    return path


def _read_labels(path: str) -> Tuple[str, ...]:
    with open(path, encoding='utf-8') as f:
        return tuple(line.strip() for line in f if line.strip())


def parse_names(value) -> Tuple[str, ...]:
    """Class names from a list, an {index: name} dict, or its text (ultralytics metadata)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return tuple(n.strip() for n in value.split(',') if n.strip())
    if isinstance(value, dict):
        return tuple(str(value[k]) for k in sorted(value, key=int))
    return tuple(str(v) for v in value)


def _input_fields(raw: dict, where: str) -> Dict[str, object]:
    fields = {}
    for key, value in (raw or {}).items():
        if key == 'size':
            size = [int(value)] * 2 if isinstance(value, (int, float)) else [int(v) for v in value]
            if len(size) != 2:
                raise ModelLoadError(f'{where}: input.size must be N or [height, width]')
            fields['height'], fields['width'] = size
        elif key in ('mean', 'std'):
            fields[key] = tuple3(value, f'{where}: input.{key}')
        elif key in ('layout', 'dtype', 'color', 'resize', 'interpolation', 'yuv_range'):
            fields[key] = str(value).lower()
        elif key == 'pad_value':
            fields[key] = int(value)
        else:
            raise ModelLoadError(f'{where}: unknown input key {key!r} (size, layout, dtype, '
                                 'color, mean, std, resize, pad_value, interpolation, '
                                 'yuv_range)')
    try:
        InputSpec(**fields)       # validate values early, with the card named
    except ValueError as exc:
        raise ModelLoadError(f'{where}: {exc}') from None
    return fields


def _thresholds(raw, where: str) -> Dict[str, object]:
    """Card thresholds: counts (max_detections, top_k) stay integers, the others are floats."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ModelLoadError(f'{where}: thresholds must be a mapping, got {raw!r}')
    values = {}
    for key, value in raw.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key in INTEGER_THRESHOLDS:
            if not number or (isinstance(value, float) and not value.is_integer()):
                raise ModelLoadError(f'{where}: thresholds.{key} must be a whole number, '
                                     f'got {value!r}')
            values[key] = int(value)
        elif not number:
            raise ModelLoadError(f'{where}: thresholds.{key} must be a number, got {value!r}')
        else:
            values[key] = float(value)
    return values


def load_card(path: str) -> ModelSpec:
    """Read and validate a YAML model card."""
    if not os.path.isfile(path):
        raise ModelLoadError(f'model card not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            card = yaml.safe_load(f) or {}
    except yaml.YAMLError as exc:
        raise ModelLoadError(f'model card {path} is not valid YAML: {exc}') from None
    if not isinstance(card, dict):
        raise ModelLoadError(f'model card {path} must be a mapping')
    unknown = set(card) - CARD_KEYS
    if unknown:
        raise ModelLoadError(f'model card {path}: unknown keys {sorted(unknown)}; '
                             f'known: {sorted(CARD_KEYS)}')
    base = os.path.dirname(os.path.abspath(path))
    hint = str(card.get('install_hint', ''))
    task = str(card.get('task', 'detect'))
    if task not in TASKS:
        raise ModelLoadError(f'model card {path}: task {task!r} not one of {TASKS}')
    layout = str(card.get('layout', 'auto'))
    if layout != 'auto' and layout not in ALL_LAYOUTS:
        raise ModelLoadError(f'model card {path}: layout {layout!r} unknown; '
                             f'use auto or one of {sorted(ALL_LAYOUTS)}')
    if layout != 'auto' and layout not in TASK_LAYOUTS[task]:    # ('obb' takes oriented heads)
        raise ModelLoadError(f'model card {path}: layout {layout!r} is for task '
                             f'{ALL_LAYOUTS[layout].task!r}, the card says task {task!r}')
    keypoints = card.get('keypoints') or ()
    scores = card.get('scores')
    if scores is not None and (task != 'classify' or scores not in CLASS_SCORES):
        raise ModelLoadError(f'model card {path}: scores must be {" or ".join(CLASS_SCORES)} '
                             f'(softmax: the outputs are probabilities; logit: raw scores), '
                             f'for a classify model; got {scores!r} for task {task!r}')
    if keypoints and (task != 'pose' or isinstance(keypoints, str)):
        raise ModelLoadError(f'model card {path}: keypoints must be a list of names, for a '
                             'pose model')
    files = dict(card.get('files') or {})
    if card.get('model'):
        files.setdefault(backend_for_file(str(card['model'])), card['model'])
    if not files:
        raise ModelLoadError(f'model card {path}: give `model:` or `files:`')
    names = parse_names(card['classes']) if card.get('classes') else ()
    if card.get('labels_file'):
        names = _read_labels(resolve_path(card['labels_file'], base))
    thresholds = _thresholds(card.get('thresholds'), f'model card {path}')
    anchors = tuple(tuple(tuple(a) for a in level) for level in card['anchors']) \
        if card.get('anchors') else YOLOV5_ANCHORS
    return ModelSpec(
        name=str(card.get('name', os.path.splitext(os.path.basename(path))[0])),
        # Resolved lazily per backend: a card may list a board file absent on a PC.
        files={k: str(v) for k, v in files.items()}, task=task, layout=layout,
        input=_input_fields(card.get('input'), f'model card {path}'), class_names=names,
        thresholds=thresholds, reg_max=int(card.get('reg_max', DEFAULT_REG_MAX)),
        anchors=anchors, vendor=card.get('vendor'), install_hint=hint, source=path,
        keypoint_names=tuple(str(k) for k in keypoints), scores=scores)


def backend_for_file(path: str) -> str:
    """Return the backend that runs a model file, from its extension."""
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in BACKEND_BY_SUFFIX:
        raise ModelLoadError(f'no backend runs {suffix or "extension-less"} files ({path}); '
                             f'known: {", ".join(BACKEND_BY_SUFFIX)}')
    return BACKEND_BY_SUFFIX[suffix]


def spec_for(path: str) -> ModelSpec:
    """Read a card (.yaml/.yml) or wrap a bare model file as a ModelSpec."""
    if str(path).lower().endswith(('.yaml', '.yml')):
        return load_card(path)
    path = os.path.abspath(os.path.expanduser(str(path)))
    if not os.path.isfile(path):
        raise ModelLoadError(f'model file not found: {path}')
    return ModelSpec(name=os.path.splitext(os.path.basename(path))[0],
                     files={backend_for_file(path): path}, source=path)


def apply_metadata(spec: ModelSpec, metadata: Dict[str, str]) -> None:
    """Fill what the card left open from ultralytics metadata (names, imgsz, task, kpt_shape)."""
    if not spec.class_names and metadata.get('names'):
        spec.class_names = parse_names(metadata['names'])
    if 'height' not in spec.input and metadata.get('imgsz'):
        size = parse_names(metadata['imgsz'])
        if len(size) == 2:
            spec.input = dict(spec.input, height=int(size[0]), width=int(size[1]))
    task = metadata.get('task')
    if task and task != spec.task and spec.source.endswith('.onnx'):
        if task not in TASKS:
            raise ModelLoadError(f'{spec.source} is a {task!r} model; this version handles '
                                 f'{", ".join(TASKS)}')
        spec.task = task
    if spec.num_keypoints is None and metadata.get('kpt_shape'):
        shape = parse_names(metadata['kpt_shape'])
        if shape and shape[0].isdigit():
            spec.num_keypoints = int(shape[0])
