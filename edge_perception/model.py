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
Model: pre-processing, a backend and a decoder behind one call on a BGR image.

Usage::

    model = load_model('config/models/fall_detection.yaml')   # or a bare .onnx
    detections = model(cv2.imread('frame.jpg'))

The result type follows ``model.task``: Detections (detect, segment with masks, pose with
keypoints), Classifications (classify) or SemanticMap (semantic).
"""

import dataclasses
from dataclasses import dataclass
import os
import time
from typing import Optional, Tuple

import numpy as np

from .backends import backend_class, choose_backend
from .decoders import DecodeOptions, make_decoder, Result
from .decoders.classify import ClassScores
from .errors import ConfigError, EdgePerceptionError, LayoutError, ModelLoadError
from .layouts import match_layout
from .preprocess import InputSpec, preprocess
from .spec import apply_metadata, ModelSpec, resolve_path, spec_for

# load_model keyword -> DecodeOptions field
OPTION_KEYS = {f.name for f in dataclasses.fields(DecodeOptions)}
CARD_THRESHOLDS = {'confidence': 'confidence_threshold', 'nms': 'nms_threshold',
                   'max_detections': 'max_detections', 'top_k': 'top_k'}


@dataclass
class StageTimes:
    """Seconds spent in each stage of one frame."""

    pre: float = 0.0
    infer: float = 0.0
    decode: float = 0.0


def _input_spec(spec: ModelSpec, backend) -> InputSpec:
    """Merge the card's input fields over what the model file itself declares."""
    shape, fields = tuple(backend.input_shape), {'dtype': backend.input_dtype}
    if len(shape) == 4:
        nchw = shape[1] in (1, 3) and shape[3] not in (1, 3)
        fields['layout'] = 'nchw' if nchw else 'nhwc'
        h, w = (shape[2], shape[3]) if nchw else (shape[1], shape[2])
        if h > 0 and w > 0:
            fields['height'], fields['width'] = h, w
    if getattr(backend, 'input_color', None):   # e.g. 'nv12' for the RDK BPU backend
        fields['color'] = backend.input_color
    if getattr(backend, 'input_yuv_range', None):   # the NV12 range the model decodes
        fields['yuv_range'] = backend.input_yuv_range
    fields.update(spec.input)
    try:
        return InputSpec(**fields)
    except ValueError as exc:
        raise ModelLoadError(f'{spec.source}: {exc}') from None


class Model:
    """
    A loaded model; call it on a BGR uint8 image to get its result in source pixels.

    detect / segment / pose: Detections (with masks / keypoints); classify: Classifications;
    semantic: SemanticMap.
    """

    def __init__(self, spec: ModelSpec, backend, options: DecodeOptions = DecodeOptions()):
        self.spec = spec
        self.backend = backend
        apply_metadata(spec, backend.metadata)
        self.input_spec = _input_spec(spec, backend)
        input_hw = (self.input_spec.height, self.input_spec.width)
        try:
            self.binding = match_layout(
                backend.output_shapes, input_hw, len(spec.class_names) or None, spec.layout,
                spec.vendor or backend.vendor, spec.reg_max, spec.anchors, task=spec.task,
                num_keypoints=spec.num_keypoints or len(spec.keypoint_names) or None)
            self.decoder = make_decoder(self.binding, spec.class_names, input_hw,
                                        spec.keypoint_names)
        except LayoutError as exc:
            raise LayoutError(f'{spec.source}: {exc}') from None
        except ValueError as exc:       # e.g. keypoint names that do not match the model
            raise ModelLoadError(f'{spec.source}: {exc}') from None
        if self.binding.task == 'classify':
            self.decoder.scores = class_scores(spec, backend, self.binding)
        if self.binding.layout.resize and 'resize' not in spec.input:
            # the vendor flow's own pre-processing (e.g. centre crop for ultralytics classifiers)
            self.input_spec = dataclasses.replace(self.input_spec,
                                                  resize=self.binding.layout.resize)
        #: Decoding settings; replace the whole object to change them (thread-safe swap).
        self.options = options

    @property
    def task(self) -> str:
        """Return the model's task: detect, segment, pose, classify or semantic."""
        return self.binding.task

    @property
    def class_names(self) -> Tuple[str, ...]:
        return self.decoder.class_names

    @property
    def keypoint_names(self) -> Tuple[str, ...]:
        """Names of a pose model's keypoints (empty for other tasks)."""
        return getattr(self.decoder, 'keypoint_names', ())

    def predict(self, image_bgr: np.ndarray) -> Tuple[Result, StageTimes]:
        """Return the result for one image (type per task) and the time each stage took."""
        if self.backend is None:
            raise RuntimeError(f'model {self.spec.name} is closed')
        options = self.options
        t0 = time.perf_counter()
        tensor, box = preprocess(image_bgr, self.input_spec)
        t1 = time.perf_counter()
        outputs = self.backend.infer(tensor)
        t2 = time.perf_counter()
        result = self.decoder(outputs, box, options)
        t3 = time.perf_counter()
        return result, StageTimes(t1 - t0, t2 - t1, t3 - t2)

    def __call__(self, image_bgr: np.ndarray) -> Result:
        return self.predict(image_bgr)[0]

    def describe(self) -> str:
        """One line: name, backend, input and the recognised layout."""
        i = self.input_spec
        return (f'{self.spec.name}: {self.task}, {self.backend.name}, input {i.width}x{i.height} '
                f'{i.layout} {i.dtype} {i.color} {i.resize}, layout {self.binding.describe()}')

    def close(self) -> None:
        """Release the backend; the model cannot predict afterwards."""
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def class_scores(spec: ModelSpec, backend, binding) -> ClassScores:
    """
    Say whether a classifier's outputs are probabilities: card, else ONNX graph, else 1st frame.

    The layout's convention is not used: a (1, nc) output is softmax-ed or not whatever the
    vendor (an ultralytics export converted to RKNN keeps its softmax).
    """
    if spec.scores:
        return ClassScores(spec.scores, f'the model card ({spec.source})')
    operators = getattr(backend, 'output_operators', None) or ()
    index = binding.global_outputs.get('dense', 0)
    operator = operators[index] if index < len(operators) else None
    if operator:
        return ClassScores('softmax' if operator == 'Softmax' else 'logit',
                           f'the ONNX graph (its output comes from {operator})')
    return ClassScores(None)


def _with_soc(reference: str, soc: Optional[str], source: str) -> str:
    """Fill ``{soc}`` in a card's file reference (per-board model files)."""
    if '{soc}' not in reference:
        return reference
    if not soc:
        from .boards import detect_board, load_profile
        board, evidence = detect_board()
        soc = load_profile(board).soc if board != 'pc' else ''
        if not soc:
            raise ModelLoadError(f'{source}: the file {reference} depends on the SoC, and this '
                                 f'machine is none of the boards ({evidence}); set the node '
                                 'parameter soc (or board:= at launch)')
    return reference.replace('{soc}', soc)


def _card_options(spec: ModelSpec) -> dict:
    bad = set(spec.thresholds) - set(CARD_THRESHOLDS)
    if bad:
        raise ModelLoadError(f'{spec.source}: unknown thresholds {sorted(bad)}; '
                             f'known: {sorted(CARD_THRESHOLDS)}')
    return {CARD_THRESHOLDS[k]: v for k, v in spec.thresholds.items()}


def card_options(path_or_card: str) -> DecodeOptions:
    """Return the decoding defaults a model card sets (package defaults elsewhere)."""
    spec = spec_for(str(path_or_card))
    try:
        return DecodeOptions(**_card_options(spec))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f'{spec.source}: {exc}') from None


def backend_for(path_or_card: str, backend: str = 'auto') -> str:
    """Return the backend ``load_model`` would use for this card and request."""
    return choose_backend(backend, spec_for(str(path_or_card)).files)


def load_model(path_or_card: str, backend: str = 'auto', threads: int = 0,
               cpu_affinity: Optional[Tuple[int, ...]] = None,
               backend_options: Optional[dict] = None, soc: Optional[str] = None,
               **overrides) -> Model:
    """
    Load a model card (.yaml) or a model file (.onnx, ...) with a backend.

    backend: 'auto' (an NPU runtime when present and the card has its file, else onnxruntime)
    or a backend name. threads / cpu_affinity: the runtime's thread count and CPU ids.
    backend_options: backend-specific settings (e.g. ``core_mask`` for rknn).
    soc: fills ``{soc}`` in the card's file names (None: the SoC this runs on).
    overrides: DecodeOptions fields (confidence_threshold, nms_threshold, max_detections,
    classes, agnostic_nms, top_k) and ``layout``.
    """
    spec = spec_for(str(path_or_card))
    if 'layout' in overrides:
        spec.layout = overrides.pop('layout')
    unknown = set(overrides) - OPTION_KEYS
    if unknown:
        raise ConfigError(f'load_model got unknown options {sorted(unknown)}; '
                          f'known: {sorted(OPTION_KEYS | {"layout"})}')
    options = _card_options(spec)
    options.update(overrides)
    try:
        decode_options = DecodeOptions(**options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f'{spec.source}: {exc}') from None
    name = choose_backend(backend, spec.files)
    path = resolve_path(_with_soc(spec.files[name], soc, spec.source),
                        os.path.dirname(os.path.abspath(spec.source)), spec.install_hint)
    cls = backend_class(name)
    backend_options = dict(backend_options or {})
    for key in cls.card_input_options:           # the card's input convention, unless given
        if key in spec.input:
            backend_options.setdefault(key, spec.input[key])
    try:
        runtime = cls(path, threads=threads, cpu_affinity=cpu_affinity, **backend_options)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, EdgePerceptionError):
            raise
        raise ConfigError(f'backend {name}: {exc}') from None
    try:
        return Model(spec, runtime, decode_options)
    except Exception:
        runtime.close()
        raise
