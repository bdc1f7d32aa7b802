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
RKNN hybrid quantisation: keep the layers that lose precision in float16, the rest int8.

rknn-toolkit2's two-step flow: ``hybrid_quantization_step1`` quantises the model once and
writes ``<name>.model``, ``<name>.data`` and ``<name>.quantization.cfg`` (every tensor the
toolkit quantises, under its own name); a layer goes to float16 when its output tensor is
listed under ``custom_quantize_layers`` in that file, and ``hybrid_quantization_step2``
builds the model from the three files (seconds, no new calibration). The cfg is patched as
text: the toolkit refuses a file whose saved scales were rewritten by a YAML round trip.
Step 1 quantises every Sigmoid's input over [-7, max], not over its calibrated range; an int8
tensor clipped like that which feeds a float16 layer gets its calibrated min/max back in the
step-2 cfg (``clipped_ranges``, ``HybridSession.ranges_to_restore``), else the float16
Sigmoid's output floor is sigmoid(-7) = 0.0009.

``HybridSession`` runs step 1 once and builds any layer set. ``auto_search`` chooses the
set: from the per-layer analysis (``rknn_analysis``) and the graph, it tries the head's last
layers of every output below the target at once (and the convolution above each), then, for
the output with the lowest cosine first, the head's last layers that produce it (the output's
int8 tensor, the activation and the last convolution, and what shares that tensor: the
score_sum of a class map, whose int8 consumer otherwise forces the map back to int8), then
the head convolutions above them, then the lowest single-cosine layers (a few together, then
one at a time); each step is first built in a child process (some layer sets make the
toolkit end the process; ``toolkit_order`` avoids the ones we know of), then built,
verified against fp32 and kept when it helps (more fp32 detections kept, or less total cosine
shortfall below the target), and the search stops when the target holds (min output cosine
and the fp32 detections), nothing more is left to try within the float16 budget (a share of
the int8 layers), or after ``max_builds`` builds.
"""

from dataclasses import dataclass, field
import os
import shutil
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import ConfigError, ModelLoadError
from ..image_sets import calibration_images, write_rknn_dataset
from ..preprocess import letterbox

CFG_SUFFIX = '.quantization.cfg'
FLOAT = 'float16'
TARGET_COSINE = 0.99
MAX_SHARE = 0.10            # at most this share of the int8 layers goes to float16
UPSTREAM_DEPTH = 2          # head convolutions tried above an output's last one
SINGLE_COSINE = 0.999       # analysis layers below this single cosine are candidates
SINGLE_BATCH = 4            # lowest single-cosine layers tried together before one at a time
MIN_GAIN = 5e-4             # a step is kept when the cosine shortfall drops more (or detections)
NO_RANGE_EDITS = ('kl_divergence', 'mmse')     # their step 2 refuses edited ranges


def cfg_layers(path: str) -> List[Tuple[str, str]]:
    """Return (tensor name, dtype) of every entry under ``quantize_parameters``, in order."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    try:
        start = lines.index('quantize_parameters:') + 1
    except ValueError:
        raise ModelLoadError(f'{path} has no quantize_parameters (not a toolkit '
                             'quantization cfg)') from None
    layers, name = [], None
    for line in lines[start:]:
        if line and not line.startswith(' '):
            break
        if line.startswith('    ') and not line.startswith('     ') and line.endswith(':'):
            name = line.strip()[:-1].strip('\'"')
            layers.append([name, ''])
        elif name is not None and line.strip().startswith('dtype:') and not layers[-1][1]:
            layers[-1][1] = line.split(':', 1)[1].strip()
    return [tuple(layer) for layer in layers]


def toolkit_order(layers: Sequence[str], order: Sequence[str]) -> List[str]:
    """
    Return ``layers`` in the order step 2 accepts: the cfg's, each ``X_int8`` right after ``X``.

    rknn-toolkit2 2.5.0 reads custom_quantize_layers in order, and the order matters: on the
    fall model's head, ``cls_s8, /ReduceSum_output_0, score_sum_s8, cls_s8_int8,
    score_sum_s8_int8, /cv3.0/cv3.0.2/Conv_output_0`` (and the same set in the cfg's own order,
    where the ``_int8`` twins come last) makes its compiler end the process ("Conv bias scale
    (/ReduceSum_2conv_i1_bias_0) is empty"), while the same six tensors in graph order with each
    ``_int8`` twin after its tensor build.
    """
    index = {name: i for i, name in enumerate(order)}

    def key(name):
        base = name[:-len('_int8')] if name.endswith('_int8') else name
        return (index.get(base, index.get(name, len(index))), name != base)
    return sorted(layers, key=key)


def _entries(lines: Sequence[str]) -> Dict[str, Tuple[int, int]]:
    """Return name -> (first, end) line span of each entry under ``quantize_parameters``."""
    start = next((i + 1 for i, line in enumerate(lines)
                  if line.rstrip('\n') == 'quantize_parameters:'), len(lines))
    spans, name, first = {}, None, start
    for i in range(start, len(lines) + 1):
        line = lines[i] if i < len(lines) else ''
        top = line.startswith('    ') and not line.startswith('     ')
        if name is not None and (top or not line.startswith(' ')):
            spans[name] = (first, i)
            name = None
        if not line.startswith(' '):
            break
        if top and line.rstrip('\n').endswith(':'):
            name, first = line.strip()[:-1].strip('\'"'), i
    return spans


def _value(lines: Sequence[str], span: Tuple[int, int], key: str) -> Optional[float]:
    """Return the single value of ``key`` in an entry (None unless it holds exactly one)."""
    for i in range(*span):
        if lines[i].strip() == f'{key}:':
            values = []
            for line in lines[i + 1:span[1]]:
                if not line.strip().startswith('-'):
                    break
                values.append(float(line.strip()[1:]))
            return values[0] if len(values) == 1 else None
    return None


def clipped_ranges(path: str) -> Dict[str, Tuple[float, float]]:
    """
    Return the int8 tensors whose range the toolkit set inside the calibrated one.

    name -> the calibrated range (``ori_min``/``ori_max``, widened to hold 0). rknn-toolkit2
    2.5.0 clips a Sigmoid's input to [-7, ...] (seen on every class head: the fall model's
    logits calibrate to [-35.7, -2.0] and are quantised over [-7, 0]): harmless while the
    Sigmoid's output is int8 (sigmoid(-7) is half an output step), but a float16 Sigmoid then
    turns every background score below 0.0009 into 0.0009.
    """
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    clipped = {}
    for name, span in _entries(lines).items():
        if not any(lines[i].strip() == 'dtype: int8' for i in range(*span)):
            continue
        low, high, ori_low, ori_high = (_value(lines, span, k)
                                        for k in ('min', 'max', 'ori_min', 'ori_max'))
        if None in (low, high, ori_low, ori_high):
            continue
        if low > ori_low or high < ori_high:
            clipped[name] = (min(ori_low, 0.0), max(ori_high, 0.0))
    return clipped


def _restore(lines: List[str], ranges: Dict[str, Tuple[float, float]]) -> List[str]:
    """Rewrite the min/max of the named entries (scale and zero_point stay as written)."""
    spans = _entries(lines)
    lines = list(lines)
    for name, (low, high) in ranges.items():
        first, end = spans[name]
        for i in range(first, end - 1):
            key = lines[i].strip()
            if key in ('min:', 'max:') and lines[i + 1].strip().startswith('-'):
                indent = lines[i + 1][:len(lines[i + 1]) - len(lines[i + 1].lstrip())]
                value = low if key == 'min:' else high
                lines[i + 1] = f'{indent}-   {value!r}\n'
    return lines


def write_hybrid_cfg(source: str, target: str, layers: Sequence[str],
                     restore: Optional[Dict[str, Tuple[float, float]]] = None) -> str:
    """
    Copy the step-1 cfg to ``target`` with ``layers`` under custom_quantize_layers.

    restore: int8 tensors given their calibrated range back (``clipped_ranges``; name ->
    (min, max)). Only min and max are rewritten: step 2 refuses an edited ``scale`` ("is not
    allowed to be modified") and quantises the tensor over the min/max written.
    """
    order = [name for name, _ in cfg_layers(source)]
    known = set(order)
    unknown = [name for name in layers if name not in known]
    if unknown:
        raise ConfigError(f'hybrid layers {unknown} are not in {os.path.basename(source)}; '
                          'use the tensor names listed there (or in verify --per-layer)')
    with open(source, encoding='utf-8') as f:
        lines = f.read().splitlines(True)
    start = next((i for i, line in enumerate(lines)
                  if line.startswith('custom_quantize_layers:')), None)
    if start is None:
        raise ModelLoadError(f'{source} has no custom_quantize_layers entry')
    end = start + 1
    while end < len(lines) and lines[end].startswith(' '):
        end += 1
    layers = toolkit_order(dict.fromkeys(layers), order)
    block = ['custom_quantize_layers: {}\n'] if not layers else \
        ['custom_quantize_layers:\n'] + [f"    '{name}': {FLOAT}\n" for name in layers]
    lines = lines[:start] + block + lines[end:]
    if restore:
        lines = _restore(lines, restore)
    with open(target, 'w', encoding='utf-8') as f:
        f.write(''.join(lines))
    return target


class _Graph:
    """Producers and consumers of an ONNX graph's tensors (for walking the head)."""

    def __init__(self, path: str):
        import onnx
        graph = onnx.load(path, load_external_data=False).graph
        constants = {t.name for t in graph.initializer}
        constants |= {o for n in graph.node if n.op_type == 'Constant' for o in n.output}
        self.outputs = [o.name for o in graph.output]
        self.producer, self.consumers = {}, {}
        for node in graph.node:
            for name in node.output:
                self.producer[name] = node
            for name in node.input:
                if name and name not in constants:
                    self.consumers.setdefault(name, []).append(node)
        self.constants = constants

    def data_input(self, node) -> Optional[str]:
        return next((n for n in node.input if n and n not in self.constants), None)

    def back_to_conv(self, tensor: str, limit: int = 8) -> List[str]:
        """Return tensor and its producers' inputs up to and including a Conv's output."""
        chain = []
        for _ in range(limit):
            chain.append(tensor)
            node = self.producer.get(tensor)
            if node is None or node.op_type == 'Conv':
                break
            tensor = self.data_input(node)
            if tensor is None:
                break
        return chain

    def above(self, conv_output: str) -> List[str]:
        """Return the tensors from a Conv's input back to the next Conv's output."""
        node = self.producer.get(conv_output)
        if node is None or node.op_type != 'Conv':
            return []
        start = self.data_input(node)
        return self.back_to_conv(start) if start else []


def _in_cfg(tensors: Sequence[str], names: Sequence[str]) -> List[str]:
    """Return the cfg names of ``tensors`` (the tensor itself and the toolkit's ``_int8``)."""
    known = set(names)
    picked = {n for t in tensors for n in (t, t + '_int8') if n in known}
    return [n for n in names if n in picked]


def output_groups(model: str, names: Sequence[str]) -> Dict[str, List[str]]:
    """
    Return, per ONNX output, the cfg names of the head layers that produce it.

    The output's tensors back to its last convolution, merged with every other output's
    whose tensors they share (a class map and the score_sum computed from it).
    """
    graph = _Graph(model)
    tails = {o: set(graph.back_to_conv(o)) for o in graph.outputs}
    groups = {}
    for output, tail in tails.items():
        merged = set(tail)
        for other, other_tail in tails.items():
            if other != output and other_tail & tail:
                merged |= other_tail
        groups[output] = _in_cfg(sorted(merged), names)
    return groups


def upstream_steps(model: str, output: str, names: Sequence[str],
                   depth: int = UPSTREAM_DEPTH) -> List[List[str]]:
    """Return the cfg names of the convolutions above an output's last one, one step each."""
    graph = _Graph(model)
    tensor = graph.back_to_conv(output)[-1]
    steps = []
    for _ in range(depth):
        chain = graph.above(tensor)
        if not chain:
            break
        steps.append(_in_cfg(chain, names))
        tensor = chain[-1]
    return [s for s in steps if s]


class HybridSession:
    """
    One ``hybrid_quantization_step1`` run of an ONNX model; builds of any float16 layer set.

    calibration: as the rknn_sim backend's (letterboxed with pad_value and interpolation).
    The step-1 files live in a temporary folder removed by ``close``.
    """

    def __init__(self, model: str, target: str = 'rk3588', calibration=None,
                 algorithm: str = 'normal', method: str = 'channel', pad_value: int = 114,
                 interpolation: str = 'linear', mean=(0.0, 0.0, 0.0),
                 std=(255.0, 255.0, 255.0)):
        from ..backends.rknn_sim_backend import _onnx_input, _toolkit_output, TARGETS
        if target not in TARGETS:
            raise ConfigError(f'target {target!r}: use one of {", ".join(TARGETS)}')
        self.model, self.target = os.path.abspath(model), target
        self.algorithm, self.method = algorithm, method
        self.pad_value, self.interpolation = int(pad_value), interpolation
        self.mean, self.std = list(mean), list(std)
        input_name, (height, width), _ = _onnx_input(model)
        self.workdir = tempfile.mkdtemp(prefix='edge_perception-hybrid-')
        images = [letterbox(image, width, height, self.pad_value,
                            interpolation=interpolation)[0]
                  for image in calibration_images(calibration)]
        self.calibration_files = len(images)
        dataset = write_rknn_dataset(images, os.path.join(self.workdir, 'calibration'), width,
                                     height, self.pad_value)
        from rknn.api import RKNN
        started = time.perf_counter()
        here = os.getcwd()
        with _toolkit_output():
            rknn = RKNN(verbose=False)
            try:
                os.chdir(self.workdir)      # step 1 writes its three files here
                self._check(rknn.config(mean_values=[self.mean], std_values=[self.std],
                                        target_platform=target, quantized_algorithm=algorithm,
                                        quantized_method=method), 'config')
                self._check(rknn.load_onnx(model=self.model), 'load_onnx')
                self._check(rknn.hybrid_quantization_step1(dataset=dataset, proposal=False),
                            'hybrid_quantization_step1')
            except BaseException:
                shutil.rmtree(self.workdir, ignore_errors=True)
                raise
            finally:
                os.chdir(here)
                rknn.release()
        #: Seconds step 1 (load + quantisation) took.
        self.step1_seconds = time.perf_counter() - started
        stem = os.path.join(self.workdir, os.path.splitext(os.path.basename(model))[0])
        self.files = {'model': stem + '.model', 'data': stem + '.data',
                      'cfg': stem + CFG_SUFFIX}
        missing = [f for f in self.files.values() if not os.path.isfile(f)]
        if missing:
            raise ModelLoadError(f'hybrid_quantization_step1 did not write {missing}')
        self.layers = [(n, d) for n, d in cfg_layers(self.files['cfg']) if n != input_name]
        self.names = [name for name, _ in self.layers]
        self.int8 = [name for name, dtype in self.layers if dtype == 'int8']
        #: int8 tensors the toolkit clipped inside their calibrated range (clipped_ranges);
        #: last_cfg, last_restored: the latest build's step-2 cfg and the ranges it restored.
        self.clipped = clipped_ranges(self.files['cfg'])
        self.last_cfg, self.last_restored = None, []
        self._builds = 0

    def _check(self, ret, what: str) -> None:
        if ret != 0:
            raise ModelLoadError(f'rknn-toolkit2 {what} returned {ret} for {self.model} '
                                 f'({self.target}); it logged the cause above')

    def ranges_to_restore(self, layers: Sequence[str]) -> Dict[str, Tuple[float, float]]:
        """
        Return the clipped int8 tensors that feed a float16 layer of ``layers``.

        Each gets its calibrated range back in the step-2 cfg: the toolkit's clip of a
        Sigmoid's input is sized for an int8 Sigmoid output. Measured on the fall model (rk3588):
        the three class Sigmoids and score_sums in float16 with the clipped logits give class
        cosine 0.43 (stride 8); the same nine layers with the logits' range restored 0.978.
        Nothing is restored for ``kl_divergence`` and ``mmse``: their step 2 refuses any edited
        range ("Not support modify quantize_parameters when config.quantized_algorithm =
        kl_divergence"); there a float16 Sigmoid keeps the clip unless its input is float16 too.
        """
        if self.algorithm in NO_RANGE_EDITS:
            return {}
        chosen = set(layers)
        graph = _Graph(self.model) if self.clipped else None
        restore = {}
        for name, calibrated in self.clipped.items():
            if name in chosen:
                continue
            outputs = [o for node in graph.consumers.get(name, []) for o in node.output]
            if any(o in chosen or o + '_int8' in chosen for o in outputs):
                restore[name] = calibrated
        return restore

    def float_share(self, layers: Sequence[str]) -> float:
        """Return the share of the int8 layers that ``layers`` moves to float16."""
        return len(set(layers) & set(self.int8)) / max(1, len(self.int8))

    def builder(self, layers: Sequence[str], restore: bool = True) -> Callable:
        """
        Return the rknn_sim backend's builder: step 2 with ``layers`` in float16.

        restore: give the clipped int8 tensors that feed them their calibrated range
        (``ranges_to_restore``); False builds the toolkit's ranges as step 1 wrote them.
        """
        layers = list(dict.fromkeys(layers))
        self._builds += 1
        ranges = self.ranges_to_restore(layers) if restore else {}
        cfg = write_hybrid_cfg(self.files['cfg'], os.path.join(
            self.workdir, f'build{self._builds}{CFG_SUFFIX}'), layers, ranges)
        self.last_cfg, self.last_restored = cfg, sorted(ranges)     # the latest build's

        def build(rknn, dataset):
            return rknn.hybrid_quantization_step2(model_input=self.files['model'],
                                                  data_input=self.files['data'],
                                                  model_quantization_cfg=cfg)
        build.name = f'hybrid_quantization_step2, {len(layers)} float16 layers'
        return build

    def probe(self, layers: Sequence[str]) -> Optional[str]:
        """
        Build ``layers`` once in a child process; return None, or why the toolkit failed.

        Some layer sets make the toolkit's compiler end the whole process (e.g. "Conv bias
        scale ... is empty" when a ReduceSum turned convolution gets float16 inputs), so a
        set is tried there before it is built here.
        """
        import subprocess
        import sys
        layers = list(dict.fromkeys(layers))
        cfg = write_hybrid_cfg(self.files['cfg'], os.path.join(self.workdir, 'probe' + CFG_SUFFIX),
                               layers, self.ranges_to_restore(layers))
        script = ('import sys\nfrom rknn.api import RKNN\nr = RKNN(verbose=False)\n'
                  f'r.config(mean_values=[{self.mean!r}], std_values=[{self.std!r}], '
                  f'target_platform={self.target!r}, quantized_algorithm={self.algorithm!r}, '
                  f'quantized_method={self.method!r})\n'
                  f'sys.exit(r.hybrid_quantization_step2({self.files["model"]!r}, '
                  f'{self.files["data"]!r}, {cfg!r}) or 0)\n')
        done = subprocess.run([sys.executable, '-c', script], cwd=self.workdir,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if done.returncode == 0:
            return None
        errors = [line for line in done.stdout.decode('utf-8', 'replace').splitlines()
                  if line.startswith('E ') or 'Error' in line]
        return (errors[-1] if errors else f'exit status {done.returncode}').strip()

    def backend(self, layers: Sequence[str], restore: bool = True):
        """Build ``layers`` in float16 (the rest int8) and start the simulator."""
        from ..backends.rknn_sim_backend import RknnSimulatorBackend
        return RknnSimulatorBackend(
            self.model, target=self.target, dtype='int8', algorithm=self.algorithm,
            method=self.method, pad_value=self.pad_value, interpolation=self.interpolation,
            mean=self.mean, std=self.std, builder=self.builder(layers, restore))

    def close(self) -> None:
        """Remove the step-1 files."""
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class SearchStep:
    """One build the automatic search tried."""

    step: str
    added: List[str]
    float16_layers: int
    float16_share: float
    min_cosine: float
    matched: int
    reference: int
    simulated: int
    kept: bool
    seconds: float
    failure: str = ''


@dataclass
class SearchResult:
    """The layers chosen, every step tried, and whether the target holds."""

    layers: List[str] = field(default_factory=list)
    steps: List[SearchStep] = field(default_factory=list)
    target_met: bool = False
    stopped: str = ''
    int8_layers: int = 0


def min_cosine(result) -> float:
    """Return the lowest mean output cosine of a VerifyResult (0 when not comparable)."""
    values = [o['cosine_mean'] for o in result.outputs if o['cosine_mean'] is not None]
    return min(values) if values else 0.0


def same_detections(result) -> bool:
    """Tell whether every fp32 detection is matched and nothing is added."""
    a = result.agreement
    return a['missed'] == 0 and a['extra'] == 0


def meets(result, target_cosine: float) -> bool:
    """Tell whether a VerifyResult reaches the target: min cosine and the same detections."""
    return min_cosine(result) >= target_cosine and same_detections(result)


def shortfall(result, target_cosine: float = TARGET_COSINE) -> float:
    """Return the summed shortfall of the output cosines below the target."""
    return sum(max(0.0, target_cosine - o['cosine_mean']) for o in result.outputs
               if o['cosine_mean'] is not None)


def _better(new, old, target_cosine: float = TARGET_COSINE) -> bool:
    """
    Tell whether ``new`` is a real improvement over ``old``.

    More fp32 detections kept, or less total cosine shortfall (any output below the target,
    not only the lowest one).
    """
    gain = shortfall(old, target_cosine) - shortfall(new, target_cosine)
    found = new.agreement['matched'] - new.agreement['extra']
    before = old.agreement['matched'] - old.agreement['extra']
    return (gain > MIN_GAIN and found >= before) or (found > before and gain > -2e-3)


def _candidates(session: HybridSession, result, analysis, target_cosine: float) -> list:
    """Return the steps to try next: (description, layers), most promising first."""
    names = session.names
    groups = output_groups(session.model, names)
    by_cosine = sorted((o for o in result.outputs if o['cosine_mean'] is not None
                        and o['name'] in groups), key=lambda o: o['cosine_mean'])
    failing = [o['name'] for o in by_cosine if o['cosine_mean'] < target_cosine] or \
        [o['name'] for o in by_cosine[:1]]
    graph = _Graph(session.model)
    steps = []
    if len(failing) > 1:        # the head's last convolutions of every failing output at once
        steps.append((f'head layers of the {len(failing)} outputs below {target_cosine}',
                      _union(groups[o] for o in failing)))
        steps.append(('and the head convolution above each', _union(
            [groups[o] for o in failing] + [step for o in failing for step in
                                            upstream_steps(session.model, o, names, 1)])))
    for o in failing:           # worst output first: its last layers, one more at a time,
        chain = graph.back_to_conv(o)           # what shares them, the convolutions above
        for depth in range(1, len(chain) + 1):
            steps.append((f'last {depth} layer(s) of {o}', _in_cfg(chain[:depth], names)))
        steps.append((f'head layers of {o} and what shares them', groups[o]))
        for depth, step in enumerate(upstream_steps(session.model, o, names), 1):
            steps.append((f'head convolution {depth} above {o}', step))
    if callable(analysis):
        analysis = analysis()
    if analysis is not None:
        rows = [row for row in analysis.worst(len(analysis.layers))
                if row.single_cos < SINGLE_COSINE and row.name in session.int8]
        if len(rows) > 1:       # the lowest single-cosine layers together, then one at a time
            steps.append((f'the {min(len(rows), SINGLE_BATCH)} lowest single-cosine layers',
                          [row.name for row in rows[:SINGLE_BATCH]]))
        steps += [(f'single cosine {row.single_cos:.4f}', [row.name]) for row in rows]
    return steps


def _union(lists) -> List[str]:
    return list(dict.fromkeys(name for names in lists for name in names))


def auto_search(session: HybridSession, check: Callable, analysis=None,
                target_cosine: float = TARGET_COSINE, max_share: float = MAX_SHARE,
                max_builds: int = 16, log: Callable = print):
    """
    Choose float16 layers until ``check(layers)`` (a VerifyResult) meets the target.

    check builds and verifies one layer set; analysis: the plain int8 build's LayerAnalysis
    (or a callable returning it, read after the first check).
    Returns (SearchResult, the best VerifyResult).
    """
    search = SearchResult(int8_layers=len(session.int8))
    started = time.perf_counter()
    best = check([])
    search.steps.append(_step('int8 (no float16 layers)', [], session, best, True, started))
    log(_describe(search.steps[-1]))
    tried = set()
    while not meets(best, target_cosine):
        if len(search.steps) > max_builds:
            search.stopped = f'{max_builds} builds tried'
            break
        step = None
        for what, layers in _candidates(session, best, analysis, target_cosine):
            new = [n for n in layers if n not in search.layers]
            key = tuple(sorted(new))
            if not new or key in tried:
                continue
            if session.float_share(search.layers + new) > max_share:
                tried.add(key)
                continue
            step = (what, new)
            break
        if step is None:
            search.stopped = ('nothing more to try within the float16 budget '
                              f'({max_share:.0%} of {len(session.int8)} int8 layers)')
            break
        what, new = step
        tried.add(tuple(sorted(new)))
        started = time.perf_counter()
        failure = session.probe(search.layers + new)
        if failure:
            search.steps.append(SearchStep(
                step=what, added=new, float16_layers=len(search.layers + new),
                float16_share=session.float_share(search.layers + new), min_cosine=0.0,
                matched=0, reference=0, simulated=0, kept=False,
                seconds=time.perf_counter() - started, failure=failure))
            log(f'hybrid: {what}: +{len(new)}: the toolkit cannot build it ({failure})')
            continue
        result = check(search.layers + new)
        kept = _better(result, best, target_cosine)
        search.steps.append(_step(what, new, session, result, kept, started,
                                  search.layers + new))
        log(_describe(search.steps[-1]))
        if kept:
            search.layers += new
            best = result
    search.target_met = meets(best, target_cosine)
    if search.target_met:
        search.stopped = 'target met'
    return search, best


def _step(what, added, session, result, kept, started, layers=()) -> SearchStep:
    a = result.agreement
    return SearchStep(step=what, added=list(added), float16_layers=len(layers),
                      float16_share=session.float_share(layers), min_cosine=min_cosine(result),
                      matched=a['matched'], reference=a['reference'],
                      simulated=a['simulated'], kept=kept,
                      seconds=time.perf_counter() - started)


def _describe(step: SearchStep) -> str:
    return (f'hybrid: {step.step}: +{len(step.added)} -> {step.float16_layers} float16 '
            f'({step.float16_share:.1%}), min cosine {step.min_cosine:.4f}, detections '
            f'{step.matched}/{step.reference} matched of {step.simulated}, '
            f'{"kept" if step.kept else "dropped"} ({step.seconds:.0f} s)')


def parse_layers(hybrid) -> Optional[List[str]]:
    """Return the explicit layer names of ``--hybrid`` (None for None/'auto')."""
    if hybrid is None or hybrid == 'auto':
        return None
    if isinstance(hybrid, str):
        return [n.strip() for n in hybrid.split(',') if n.strip()]
    return list(hybrid)
