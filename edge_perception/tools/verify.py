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
``edge-perception verify``: check that an NPU build still detects what the fp32 model does.

The fp32 ONNX runs in ONNX Runtime, the NPU build in rknn-toolkit2's simulator (the rknn_sim
backend: a .rknn file loaded with ``load_rknn`` cannot be simulated, so verify builds the same
ONNX again with the .rknn's target and the settings convert recorded beside it, and compares
the file with that rebuild: tools/rknn_build.py). On each validation
image both get the same pre-processing and the same decoder; verify reports per-output cosine
similarity of the raw outputs, detection agreement (same-class boxes matched at IoU > 0.5,
mean IoU, score deltas), mAP@0.5 against YOLO-format labels when given, and flags the known
failure patterns, each with what to do. The result is also a JSON file ``report`` reads.
"""

from dataclasses import asdict, dataclass, field
import json
import os
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..errors import ConfigError, ModelLoadError
from ..image_sets import validation_images

MATCH_IOU = 0.5
MAP_CONFIDENCE = 0.001          # decode threshold for mAP (all ranked detections)
MANY_CANDIDATES = 1000          # boxes over threshold per image before NMS
LOW_AGREEMENT = 0.8
#: Below this the build misses or invents most of fp32's detections: unusable, not a warning.
POOR_AGREEMENT = 0.5
LOW_COSINE = {'int8': 0.98, 'fp16': 0.999}
SPLIT_HEAD_FIX = ('export the RKNN split head (per stride: box DFL logits, sigmoid cls, '
                  'score_sum; airockchip/ultralytics_yolov8 or test/tools/split_head.py) and '
                  'convert that, or build fp16 (--dtype fp16); --hybrid auto does not rescue '
                  'this head')


@dataclass
class Flag:
    """One known failure pattern found: 'error' makes the model unusable, 'warn' does not."""

    code: str
    level: str
    message: str

    def __str__(self) -> str:
        return f'{self.level.upper()} {self.code}: {self.message}'


@dataclass
class VerifyResult:
    """Everything verify measured (written as JSON for ``report``)."""

    model: str
    target: str
    dtype: str
    algorithm: str = 'normal'
    method: str = 'channel'
    hybrid: Optional[str] = None
    rknn: Optional[str] = None
    layout: str = ''
    images: int = 0
    outputs: List[Dict[str, object]] = field(default_factory=list)
    agreement: Dict[str, object] = field(default_factory=dict)
    map50: Optional[Dict[str, float]] = None
    build_seconds: Optional[float] = None
    sim_ms: Optional[float] = None
    onnx_ms: Optional[float] = None
    size_bytes: Optional[int] = None
    flags: List[Flag] = field(default_factory=list)
    bin_file: Optional[str] = None                # RDK: the .bin checked
    bin_check: Optional[Dict[str, object]] = None  # RDK: .bin (hbdk-sim) vs quantized ONNX
    # RKNN (tools/rknn_build.py): float16 layers of a hybrid build, the automatic search,
    # the per-layer analysis (accuracy_analysis) and what --rknn FILE checked of FILE
    hybrid_layers: Optional[List[str]] = None
    float16_share: Optional[float] = None
    int8_layers: Optional[int] = None
    hybrid_search: Optional[Dict[str, object]] = None
    calibration: Optional[str] = None           # RKNN int8: which images calibrated, how many
    layer_analysis: Optional[Dict[str, object]] = None
    rknn_check: Optional[Dict[str, object]] = None

    @property
    def usable(self) -> bool:
        """Tell whether no error flag was raised."""
        return not any(f.level == 'error' for f in self.flags)

    def as_dict(self) -> dict:
        """Return the result as a JSON-ready dict (with ``usable``)."""
        data = asdict(self)
        data['usable'] = self.usable
        return data

    def write(self, path: str) -> str:
        """Write the JSON result to ``path``; return the path."""
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(self.as_dict(), f, indent=2)
        return path

    def summary(self) -> str:
        """Return the human-readable report (one line per output, agreement, flags)."""
        lines = [f'{os.path.basename(self.model)} {self.dtype} {self.target} '
                 f'({self.algorithm}/{self.method}'
                 f'{", hybrid " + self.hybrid if self.hybrid else ""}), '
                 f'layout {self.layout}, {self.images} images']
        for out in self.outputs:
            cosine = out['cosine_mean']
            text = 'n/a (shapes differ)' if cosine is None else \
                f'{cosine:.5f} (min {out["cosine_min"]:.5f})'
            lines.append(f'  cosine {out["name"]} {tuple(out["shape"])}: {text}')
        a = self.agreement
        lines.append(f'  detections: fp32 {a["reference"]}, {self.dtype} {a["simulated"]}, '
                     f'matched {a["matched"]}, missed {a["missed"]}, extra {a["extra"]}; '
                     f'agreement {a["agreement"]:.3f}, mean IoU {_fmt(a["mean_iou"])}, '
                     f'score delta mean {_fmt(a["score_delta_mean"])} max '
                     f'{_fmt(a["score_delta_max"])}')
        if self.map50 is not None:
            lines.append(f'  mAP@0.5: fp32 {self.map50["fp32"]:.4f}, {self.dtype} '
                         f'{self.map50["simulated"]:.4f}')
        lines.append(f'  build {_fmt(self.build_seconds, 1)} s, simulated inference '
                     f'{_fmt(self.sim_ms, 1)} ms/image (ONNX Runtime {_fmt(self.onnx_ms, 1)} ms), '
                     f'model {_fmt((self.size_bytes or 0) / 1e6, 2)} MB')
        if self.hybrid_layers is not None:
            lines.append(f'  hybrid: {len(self.hybrid_layers)} float16 layers '
                         f'({_fmt(self.float16_share, 3)} of {self.int8_layers} int8 layers): '
                         + ', '.join(self.hybrid_layers))
        if self.hybrid_search:
            lines.append(f'  hybrid search: {len(self.hybrid_search["steps"])} builds, '
                         f'{self.hybrid_search["stopped"]}')
        if self.layer_analysis and 'nodes' in self.layer_analysis:   # RDK: hb_mapper's
            from .rdk_layers import markdown_table
            lines += ['  ' + line for line in markdown_table(self.layer_analysis).splitlines()]
        elif self.layer_analysis:
            from .rknn_build import layer_table
            lines += ['  ' + line for line in layer_table(self.layer_analysis).splitlines()]
        if self.rknn_check:
            from .rknn_build import describe_check
            lines += describe_check(self.rknn_check)
        if self.bin_check is not None:
            b = self.bin_check
            lines.append(f'  .bin in hbdk-sim vs quantized ONNX on {b["images"]} image(s): '
                         + ('bit-exact' if b['bit_exact'] else
                            f'within {b["max_ulp"]} float32 ulp (max abs difference '
                            f'{b["max_abs_diff"]:.4g})' if b.get('max_ulp', 2) <= 1 else
                            f'DIFFERENT (max abs difference {b["max_abs_diff"]:.4g})'))
        lines += [str(f) for f in self.flags]
        lines.append('verdict: ' + ('usable' if self.usable else 'UNUSABLE'))
        return '\n'.join(lines)


def _fmt(value, digits: int = 3) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def cosine(a, b) -> float:
    """Cosine similarity of two tensors (1.0 when both are all zero, 0.0 when one is)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denominator) if denominator else float(np.array_equal(a, b))


def iou(a, b) -> float:
    """Return the intersection over union of two xyxy boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / union) if union > 0 else 0.0


def match(reference, candidate, threshold: float = MATCH_IOU):
    """
    Pair detections (class, xyxy, score) greedily, highest reference score first.

    Returns (pairs of (reference, candidate, IoU), unmatched reference, unmatched candidate).
    """
    pairs, missed, free = [], [], list(range(len(candidate)))
    for det in sorted(reference, key=lambda d: -d[2]):
        same = [i for i in free if candidate[i][0] == det[0]]
        best = max(same, key=lambda i: iou(det[1], candidate[i][1]), default=None)
        if best is not None and iou(det[1], candidate[best][1]) > threshold:
            free.remove(best)
            pairs.append((det, candidate[best], iou(det[1], candidate[best][1])))
        else:
            missed.append(det)
    return pairs, missed, [candidate[i] for i in free]


def detection_list(result) -> list:
    """(class id, xyxy, score) tuples of a Detections result."""
    return [(int(result.class_id[i]), np.asarray(result.xyxy[i], np.float64),
             float(result.confidence[i])) for i in range(len(result))]


def agreement(reference: Sequence[list], simulated: Sequence[list]) -> Dict[str, object]:
    """Return detection agreement over images: matches, misses, extras, IoU, score deltas."""
    ious, deltas, missed, extra = [], [], 0, 0
    for ref, sim in zip(reference, simulated):
        pairs, lost, added = match(ref, sim)
        ious += [p[2] for p in pairs]
        deltas += [abs(p[0][2] - p[1][2]) for p in pairs]
        missed, extra = missed + len(lost), extra + len(added)
    n_ref, n_sim = sum(map(len, reference)), sum(map(len, simulated))
    return {'reference': n_ref, 'simulated': n_sim, 'matched': len(ious), 'missed': missed,
            'extra': extra,
            'agreement': 2 * len(ious) / (n_ref + n_sim) if n_ref + n_sim else 1.0,
            'mean_iou': float(np.mean(ious)) if ious else None,
            'score_delta_mean': float(np.mean(deltas)) if deltas else None,
            'score_delta_max': float(np.max(deltas)) if deltas else None}


def read_yolo_labels(path: str, width: int, height: int) -> list:
    """Read a YOLO label file (class cx cy w h, normalised) as (class, xyxy) in pixels."""
    boxes = []
    if not os.path.isfile(path):
        return boxes
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 5:
                raise ModelLoadError(f'{path}:{number}: a YOLO label line is "class cx cy w h"')
            c, cx, cy, w, h = int(parts[0]), *(float(v) for v in parts[1:5])
            boxes.append((c, np.array([(cx - w / 2) * width, (cy - h / 2) * height,
                                       (cx + w / 2) * width, (cy + h / 2) * height])))
    return boxes


def average_precision_50(detections: Sequence[list], labels: Sequence[list]) -> float:
    """mAP@0.5 (all-point interpolated AP, averaged over the labelled classes)."""
    classes = sorted({c for image in labels for c, _ in image})
    aps = []
    for c in classes:
        total = sum(1 for image in labels for k, _ in image if k == c)
        ranked = sorted(((d[2], i, d[1]) for i, image in enumerate(detections)
                         for d in image if d[0] == c), key=lambda r: -r[0])
        used = [set() for _ in labels]
        hits = []
        for _, i, box in ranked:
            truth = [(j, iou(box, b)) for j, (k, b) in enumerate(labels[i])
                     if k == c and j not in used[i]]
            j, best = max(truth, key=lambda t: t[1], default=(None, 0.0))
            hits.append(best >= 0.5)
            if best >= 0.5:
                used[i].add(j)
        tp = np.cumsum(hits) if hits else np.zeros(0)
        recall = tp / total
        precision = tp / np.arange(1, len(tp) + 1)
        r = np.concatenate([[0.0], recall, [1.0]])
        p = np.concatenate([[1.0], precision, [0.0]])
        p = np.maximum.accumulate(p[::-1])[::-1]
        aps.append(float(np.sum((r[1:] - r[:-1]) * p[1:])))
    return float(np.mean(aps)) if aps else 0.0


def score_values(outputs, binding) -> Optional[np.ndarray]:
    """Return every class score (or objectness x class) value of a detection head, flat."""
    layout = binding.layout
    nc = binding.num_classes
    if layout.family == 'dense':
        dense = np.asarray(outputs[binding.global_outputs.get('dense', 0)])[0]
        if binding.dense_transposed:
            dense = dense.T
        return dense[4:4 + nc].ravel()
    if layout.family == 'dfl':
        planes = [np.asarray(outputs[lv.outputs['cls']]) for lv in binding.levels
                  if 'cls' in lv.outputs]
        return np.concatenate([p.ravel() for p in planes]) if planes else None
    if layout.family == 'anchor':
        values = []
        for lv in binding.levels:
            pred = np.asarray(outputs[lv.outputs['pred']])[0]
            if layout.channels_last:
                pred = np.moveaxis(pred, -1, 0)
            values.append(pred.reshape(3, 5 + nc, -1)[:, 4:].ravel())
        return np.concatenate(values)
    return None


def anchor_fit(outputs, binding, threshold: float) -> Optional[float]:
    """
    Return the share of confident YOLOv5 predictions whose w/h factor is saturated.

    A YOLOv5 box is (2 s)^2 x anchor, s in 0..1: with anchors that are not the model's own,
    the confident cells push s to its ends (factor ~0 or ~4). None for other layouts or when
    nothing is confident.
    """
    layout = binding.layout
    if layout.family != 'anchor':
        return None
    nc, saturated, total = binding.num_classes, 0, 0
    for lv in binding.levels:
        pred = np.asarray(outputs[lv.outputs['pred']], np.float64)[0]
        if layout.channels_last:
            pred = np.moveaxis(pred, -1, 0)
        pred = pred.reshape(3, 5 + nc, -1)
        if layout.scores == 'logit':
            pred = 1 / (1 + np.exp(-pred))
        score = pred[:, 4] * pred[:, 5:].max(axis=1)
        wh = pred[:, 2:4].transpose(0, 2, 1)[score >= threshold]
        total += len(wh)
        saturated += int(((wh > 0.97) | (wh < 0.03)).any(axis=1).sum())
    return saturated / total if total else None


def find_flags(dtype: str, scores_ref, scores_sim, candidates_sim: Sequence[int],
               reference: Sequence[list], simulated: Sequence[list], cosines: Sequence,
               scores_kind: str, threshold: float, anchor_saturation=None,
               agreement_value: float = 1.0) -> List[Flag]:
    """
    Return the known failure patterns seen in one verify run.

    scores_ref / scores_sim: per image, the flat class score values (None: no score tensor);
    candidates_sim: per image, boxes over ``threshold`` before NMS; reference / simulated:
    detections per image; cosines: per output mean cosine (None: not comparable).
    """
    flags = []
    ref_max = max((float(s.max()) for s in scores_ref if s is not None and s.size),
                  default=0.0)
    sim_values = [s for s in scores_sim if s is not None and s.size]
    if sim_values and ref_max >= threshold and all(not s.any() for s in sim_values):
        flags.append(Flag('scores_all_zero', 'error',
                          f'every class score of the {dtype} model is exactly 0 (fp32 max '
                          f'{ref_max:.2f}): the standard one-tensor ultralytics head puts box '
                          'pixels and 0-1 scores under one int8 scale. Fix: ' + SPLIT_HEAD_FIX))
    if scores_kind == 'sigmoid':
        for name, values in (('fp32', scores_ref), (dtype, scores_sim)):
            values = [s for s in values if s is not None and s.size]
            if not values:
                continue
            low, high = min(float(s.min()) for s in values), max(float(s.max()) for s in values)
            if low < -0.01 or high > 1.01:
                flags.append(Flag('scores_out_of_range', 'error',
                                  f'{name} class scores span {low:.2f}..{high:.2f}, not 0..1: '
                                  'the head has no sigmoid. Fix: export the model with the '
                                  'sigmoid on the class outputs (or give the card a layout '
                                  'whose scores are logits, e.g. rdk)'))
                break
    if candidates_sim and np.mean(candidates_sim) > MANY_CANDIDATES:
        flags.append(Flag('too_many_boxes', 'error',
                          f'{np.mean(candidates_sim):.0f} boxes per image score over the '
                          f'threshold {threshold} before NMS: the scores are not probabilities '
                          '(sigmoid missing) or the threshold is wrong. Fix: check the head '
                          'export and the card thresholds.confidence'))
    with_ref = [i for i, ref in enumerate(reference) if ref]
    lost = [i for i in with_ref if not simulated[i]]
    if with_ref and len(lost) * 2 >= len(with_ref):
        flags.append(Flag('no_detections', 'error',
                          f'the {dtype} model detects nothing on {len(lost)} of the '
                          f'{len(with_ref)} images where fp32 detects objects. Fix: '
                          + ('hybrid-quantize the head (hybrid_quantization_step1/2 with the '
                             'head tensors in float16; --hybrid auto may not be enough), '
                             'calibrate on images like the deployment, or build fp16'
                             if dtype == 'int8' else 'check the conversion log')))
    if anchor_saturation is not None and anchor_saturation > 0.5:
        flags.append(Flag('anchors_mismatch', 'error',
                          f'{anchor_saturation:.0%} of the confident YOLOv5 boxes have a '
                          'saturated w/h factor: the anchors do not belong to this model. Fix: '
                          "put the model's own anchors (its yaml) in the card's anchors:"))
    low = [i for i, c in enumerate(cosines) if c is not None and c < LOW_COSINE.get(dtype, 0.98)]
    if low:
        flags.append(Flag('low_cosine', 'warn',
                          f'outputs {low} have cosine < {LOW_COSINE.get(dtype, 0.98)}. Fix: '
                          'try --algorithm mmse or kl_divergence, more calibration images, or '
                          '--hybrid auto'))
    if agreement_value < POOR_AGREEMENT and not any(f.level == 'error' for f in flags):
        flags.append(Flag('poor_agreement', 'error',
                          f'detection agreement {agreement_value:.2f} < {POOR_AGREEMENT}: most '
                          "of fp32's detections are lost or changed. Fix: try --algorithm "
                          'mmse or kl_divergence, calibrate on images like the deployment, '
                          '--hybrid auto, or build fp16'))
    elif agreement_value < LOW_AGREEMENT and not any(f.level == 'error' for f in flags):
        flags.append(Flag('low_agreement', 'warn',
                          f'detection agreement {agreement_value:.2f} < {LOW_AGREEMENT}. Fix: '
                          'calibrate on images like the deployment, try --algorithm mmse, or '
                          '--hybrid auto'))
    return flags


def _output_names(model_path: str, count: int) -> List[str]:
    import onnx
    graph = onnx.load(model_path, load_external_data=False).graph
    names = [o.name for o in graph.output]
    return names if len(names) == count else [f'output{i}' for i in range(count)]


def _raw(model, image):
    from ..preprocess import preprocess
    tensor, box = preprocess(image, model.input_spec)
    started = time.perf_counter()
    outputs = [np.asarray(o, np.float32) for o in model.backend.infer(tensor)]
    return outputs, box, time.perf_counter() - started


def verify(model_path: str, images: str, rknn: Optional[str] = None, target: str = 'rk3588',
           dtype: str = 'int8', labels: Optional[str] = None, calibration=None,
           algorithm: str = 'normal', method: str = 'channel', hybrid=None,
           confidence: float = 0.25, progress: bool = True,
           rdk_bin: Optional[str] = None,
           optimize: Optional[str] = None, per_layer: bool = False,
           backend=None) -> VerifyResult:
    """
    Compare the fp32 ONNX model and its simulated NPU build on a folder of images.

    RDK targets (rdk_x3, rdk_x5, rdk_ultra) or ``rdk_bin`` (a .bin) go to
    ``rdk_verify.verify_rdk``: the quantized ONNX in HB_ONNXRuntime, and the .bin checked
    against it in hbdk-sim.
    RKNN: hybrid None, 'auto' or layer names (``rknn_build.simulated_build``); per_layer adds
    the toolkit's accuracy_analysis; rknn: FILE's recorded build settings are used and FILE is
    checked against the rebuild (the simulator cannot run FILE itself); backend: an already
    built rknn_sim backend to verify (left open).
    """
    from . import rdk_toolchain
    if rdk_bin or str(target).lower() in rdk_toolchain.MARCHES:
        from .build_source import is_card
        if is_card(model_path):
            raise ConfigError(f'{target}: give the ONNX file; model cards are verified for the '
                              'Rockchip targets only')
        if hybrid:
            raise ValueError('--hybrid applies to Rockchip targets only')
        from .rdk_verify import verify_rdk
        return verify_rdk(model_path, images, target=target, bin_path=rdk_bin, labels=labels,
                          calibration=calibration, algorithm=algorithm, method=method,
                          confidence=confidence, progress=progress, optimize=optimize or 'O0',
                          per_layer=per_layer)
    from tqdm import tqdm

    from . import rknn_build
    from ..decoders import DecodeOptions, FAMILIES
    from ..model import load_model, Model
    from ..spec import spec_for

    size, settings = None, None
    if rknn:
        from ..backends.rknn_version import read_rknn_info
        info = read_rknn_info(rknn)
        if info.target_platforms:
            target = info.target_platforms[0]
        size = os.path.getsize(rknn)
        settings = rknn_build.read_settings(rknn)
        if settings:            # build what FILE is: its recorded settings
            dtype, algorithm = settings['dtype'], settings['algorithm']
            method, calibration = settings['method'], settings['calibration']
            hybrid = settings.get('hybrid_layers')
    paths, pictures = validation_images(images)
    options = DecodeOptions(confidence_threshold=confidence)
    reference = load_model(model_path, backend='onnxruntime', confidence_threshold=confidence)
    owned, extra = backend is None, {}
    if owned:
        backend, extra = rknn_build.simulated_build(
            model_path, target, dtype, calibration, algorithm, method, hybrid, images,
            confidence)
    build_seconds = extra.pop('build_seconds', None)
    try:
        if size is None:
            with tempfile.TemporaryDirectory(prefix='edge_perception-verify-') as folder:
                size = os.path.getsize(backend.export(os.path.join(folder, 'model.rknn')))
        simulated = Model(spec_for(model_path), backend, options)
        result = VerifyResult(model=os.path.abspath(model_path), target=target,
                              dtype=backend.dtype, algorithm=algorithm, method=method,
                              hybrid=None if hybrid is None else
                              ('auto' if hybrid == 'auto' else 'layers'),
                              rknn=os.path.abspath(rknn) if rknn else None,
                              layout=simulated.binding.layout.name, images=len(pictures),
                              build_seconds=build_seconds, size_bytes=size)
        if backend.dtype == 'int8':
            from .rknn_report import calibration_label
            result.calibration = calibration_label(calibration)
        for key in ('hybrid_layers', 'float16_share', 'int8_layers', 'hybrid_search'):
            setattr(result, key, extra.get(key, (settings or {}).get(key)))
        _compare(result, reference, simulated, pictures, paths, labels, options,
                 FAMILIES, tqdm if progress else None)
        if per_layer:
            result.layer_analysis = rknn_build.analyse_backend(
                backend, paths, resize=simulated.input_spec.resize).as_dict()
        if rknn:
            result.rknn_check = rknn_build.check_rknn_file(rknn, backend, settings)
            if not result.rknn_check['same_build']:
                result.flags.append(Flag('rknn_not_rebuilt', 'warn', (
                    f'{os.path.basename(rknn)} is not the build verify simulated (the '
                    "toolkit's simulator cannot run a prebuilt .rknn): convert it with "
                    'edge-perception convert, which records its settings beside it, or give '
                    'verify the settings it was built with')))
    finally:
        reference.close()
        if owned:
            backend.close()
    return result


def _compare(result, reference, simulated, pictures, paths, labels, options, families,
             bar) -> None:
    """Run both models on every picture and fill ``result``."""
    binding = simulated.binding
    family = families[binding.layout.family]
    threshold = options.confidence_threshold
    cosines, ref_dets, sim_dets, ref_scores, sim_scores, candidates = [], [], [], [], [], []
    score_cosines = []
    ref_all, sim_all, truth, saturation, times = [], [], [], [], {'ref': [], 'sim': []}
    wide = type(options)(confidence_threshold=MAP_CONFIDENCE)
    items = list(zip(paths, pictures))
    for path, picture in (bar(items, desc='verify', unit='image') if bar else items):
        ref_out, ref_box, ref_time = _raw(reference, picture)
        sim_out, sim_box, sim_time = _raw(simulated, picture)
        times['ref'].append(ref_time)
        times['sim'].append(sim_time)
        cosines.append([cosine(a, b) if np.size(a) == np.size(b) else None
                        for a, b in zip(ref_out, sim_out)])
        ref_dets.append(detection_list(reference.decoder(ref_out, ref_box, options)))
        sim_dets.append(detection_list(simulated.decoder(sim_out, sim_box, options)))
        ref_scores.append(score_values(ref_out, reference.binding))
        sim_scores.append(score_values(sim_out, binding))
        candidates.append(len(family(sim_out, binding, threshold)[1]))
        if binding.layout.family == 'dense':     # box pixels dominate the tensor's cosine
            score_cosines.append(cosine(ref_scores[-1], sim_scores[-1]))
        fit = anchor_fit(ref_out, reference.binding, threshold)
        if fit is not None:
            saturation.append(fit)
        if labels:
            stem = os.path.splitext(os.path.basename(path))[0]
            height, width = picture.shape[:2]
            truth.append(read_yolo_labels(os.path.join(labels, stem + '.txt'), width, height))
            ref_all.append(detection_list(reference.decoder(ref_out, ref_box, wide)))
            sim_all.append(detection_list(simulated.decoder(sim_out, sim_box, wide)))
    from .build_source import build_source
    names = _output_names(build_source(result.model).onnx, len(cosines[0]))
    shapes = simulated.backend.output_shapes
    for i, name in enumerate(names):
        values = [c[i] for c in cosines]
        comparable = all(v is not None for v in values)
        result.outputs.append({'name': name, 'shape': list(shapes[i]),
                               'cosine_mean': float(np.mean(values)) if comparable else None,
                               'cosine_min': float(np.min(values)) if comparable else None})
    if score_cosines:
        result.outputs.append({'name': f'{names[0]} class scores',
                               'shape': [binding.num_classes, int(ref_scores[0].size
                                                                  // binding.num_classes)],
                               'cosine_mean': float(np.mean(score_cosines)),
                               'cosine_min': float(np.min(score_cosines))})
    result.agreement = agreement(ref_dets, sim_dets)
    if labels:
        result.map50 = {'fp32': average_precision_50(ref_all, truth),
                        'simulated': average_precision_50(sim_all, truth)}
    result.onnx_ms = 1000 * float(np.median(times['ref']))
    result.sim_ms = 1000 * float(np.median(times['sim']))
    result.flags = find_flags(
        result.dtype, ref_scores, sim_scores, candidates, ref_dets, sim_dets,
        [o['cosine_mean'] for o in result.outputs], binding.layout.scores, threshold,
        float(np.mean(saturation)) if saturation else None, result.agreement['agreement'])
