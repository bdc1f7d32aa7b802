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
RDK hybrid builds: nodes kept in int16 or run on the CPU through hb_mapper's node settings.

hb_mapper 1.24.3 (``horizon_tc_ui.config.mapper_conf_parser``) takes
``model_parameters.node_info``: ``{node: {'ON': 'BPU'|'CPU', 'InputType': 'int8'|'int16',
'OutputType': 'int8'|'int16'}}`` (it wins over the older ``set_node_data_type`` and
``calibration_parameters.run_on_cpu``). The node names are those of the mapper's own per-node
table (``rdk_layers``), read from the makertbin log, never guessed.

hb_mapper keeps every conv's weights int8 whatever the node setting, which holds the fall
model's box outputs under the 0.999 bar; a split build (``--hybrid split``, and the last step
of ``--hybrid auto``) first rewrites each non-head conv as two convs whose int8 weights add up
to ~15 bits (``rdk_weight_split``), then sets every int16-capable node int16.
"""

import os
import time
from typing import Dict, List, Sequence

import yaml

from ..errors import ConfigError

# int16: the node's inputs and output; int16_in: its inputs only (a model output's last conv,
# whose output the BPU already keeps as int32 for the CPU's Dequantize); cpu: run on the CPU
PRECISIONS = ('int16', 'int16_in', 'cpu')
BAR = 0.999                    # the RDK FAQ's cosine bar for every output
PASS_THROUGH = ('Transpose', 'Reshape', 'Identity', 'Flatten', 'Squeeze', 'Unsqueeze')
# node types makertbin's table shows that take int16 on the BPU (convolutions, activations)
INT16_TYPES = ('HzSQuantizedConv', 'HzQuantizedConv', 'HzLut', 'HzSQuantizedMul',
               'HzQuantizedResizeUpsample', 'HzQuantizedMaxPool')


def node_info(precision: Dict[str, str]) -> Dict[str, Dict[str, str]]:
    """Return hb_mapper's ``node_info`` for {node: 'int16' | 'int16_in' | 'cpu'}."""
    info = {}
    for node, kind in precision.items():
        if kind not in PRECISIONS:
            raise ValueError(f'node {node}: precision {kind!r} is not one of {PRECISIONS}')
        if kind == 'cpu':
            info[node] = {'ON': 'CPU'}
        elif kind == 'int16_in':
            info[node] = {'ON': 'BPU', 'InputType': 'int16'}
        else:
            info[node] = {'ON': 'BPU', 'InputType': 'int16', 'OutputType': 'int16'}
    return info


def head_convs(model: str) -> List[str]:
    """Return the Conv nodes that compute the ONNX model's outputs (through Transpose etc.)."""
    import onnx
    graph = onnx.load(model, load_external_data=False).graph
    producers = {o: i for i, n in enumerate(graph.node) for o in n.output}
    found = []
    for output in graph.output:
        index = producers.get(output.name)
        while index is not None and graph.node[index].op_type in PASS_THROUGH:
            index = producers.get(graph.node[index].input[0])
        if index is not None and graph.node[index].op_type == 'Conv':
            name = mapper_name(graph.node[index], index)
            if name not in found:
                found.append(name)
    return found


def mapper_name(node, index: int) -> str:
    """Return the name hb_mapper gives an ONNX node: its own, else ``<op type>_<index>``."""
    return node.name or f'{node.op_type}_{index}'


def parse_nodes(text: str) -> Dict[str, str]:
    """Read ``--hybrid NODE[:int16|int16_in|cpu],...`` (int16 when no precision is given)."""
    precision = {}
    for item in str(text).split(','):
        item = item.strip()
        if not item:
            continue
        name, _, kind = item.rpartition(':') if item.rsplit(':', 1)[-1] in PRECISIONS \
            else (item, '', 'int16')
        precision[name] = kind
    if not precision:
        raise ConfigError('--hybrid: give auto or node names (NODE[:int16|cpu],...)')
    return precision


def min_cosine(result) -> float:
    """Return the lowest per-image output cosine of a VerifyResult."""
    return min(o['cosine_min'] for o in result.outputs)


def choose(nodes: Sequence[dict], chosen: Dict[str, str], count: int,
           heads: Sequence[str], refused: Sequence[str] = ()) -> Dict[str, str]:
    """
    Return ``chosen`` plus the head's last convs and the ``count`` worst int8 BPU nodes.

    Nodes the mapper refused int16 for (``refused``) are dropped and never chosen again, and
    so are rows whose name the table cut (``...``).
    """
    from .rdk_layers import worst
    grown = {k: v for k, v in chosen.items() if k not in refused}
    names = {n['node'] for n in nodes}
    for head in heads:
        if head in names:
            grown.setdefault(head, 'int16_in')
    candidates = [n for n in nodes if n['on'] == 'BPU' and n['dtype'] == 'int8'
                  and n['node'] not in grown and n['type'] in INT16_TYPES
                  and n['node'] not in refused and not n['node'].startswith('...')]
    for n in worst(candidates, count):
        grown[n['node']] = 'int16'
    return grown


def split_settings(nodes: Sequence[dict], heads: Sequence[str],
                   split: Sequence[str]) -> Dict[str, str]:
    """
    Return the node settings of a split build from the split model's own node table.

    Every int16-capable node (``INT16_TYPES``) int16, the head's last convs ``int16_in``, and
    each split conv's ``_hi``/``_lo``/``_add`` int16 (``split_precision``). Rows whose name
    the table cut (``...``) are left out.
    """
    from .rdk_weight_split import split_precision
    precision = {n['node']: 'int16' for n in nodes if n['type'] in INT16_TYPES
                 and n['node'] not in heads and not n['node'].startswith('...')}
    precision.update({head: 'int16_in' for head in heads})
    return split_precision(precision, list(split))


def write_split(model: str, target: str, heads: Sequence[str], folder: str):
    """
    Write ``folder/<name>.onnx`` with every non-head conv's weights split; check it.

    Returns (split ONNX, split convs, node settings), or None when ``model`` has no conv to
    split. The node settings come from ``hb_mapper checker``'s node table of the split model
    (the same nodes and types as makertbin's; its log stays in ``folder``).
    """
    from . import rdk_toolchain
    from .convert import RDK_TARGETS
    from .rdk_layers import parse_nodes
    from .rdk_weight_split import split_conv_weights
    rdk_toolchain.require()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, os.path.basename(model))     # the same name: card, .bin
    split = split_conv_weights(model, path, exclude=heads)
    if not split:
        os.remove(path)
        return None
    rdk_toolchain.check_model(path, RDK_TARGETS[target][1], folder)
    with open(os.path.join(folder, 'hb_mapper_checker.log'), encoding='utf-8',
              errors='replace') as f:
        nodes = parse_nodes(f.read())
    return path, split, split_settings(nodes, heads, split)


def _point_card(model: str, target: str, result, card_dir: str) -> None:
    """
    Make the card in ``card_dir`` name the kept build's .bin and quantized ONNX.

    Its ``onnxruntime`` file stays the float model (a card a split build created names the
    split ONNX there: it computes the same to float32 rounding at twice the conv work).
    """
    from .convert import _card_reference, RDK_TARGETS, update_card
    soc = RDK_TARGETS[target][0]
    update_card(model, 'rdk', _card_reference(result.output, soc, card_dir), card_dir)
    result.card = update_card(model, 'rdk_sim', os.path.relpath(
        result.info['quantized_onnx'], card_dir), card_dir)
    split = result.info.get('split_onnx')
    with open(result.card, encoding='utf-8') as f:
        files = (yaml.safe_load(f) or {}).get('files') or {}
    if split and files.get('onnxruntime') == os.path.relpath(split, card_dir):
        update_card(model, 'onnxruntime', os.path.relpath(os.path.abspath(model), card_dir),
                    card_dir)


def _build_and_verify(model, target, calibration, images, optimize, yuv_range, precision,
                      folder, algorithm='normal', method='channel', reference=None):
    """Build ``model`` with ``precision``; verify it against ``reference`` (default: it)."""
    from .rdk_convert import convert_rdk_toolchain
    from .rdk_layers import analysis, bpu_estimate
    from .rdk_verify import verify_rdk
    built = convert_rdk_toolchain(model, target, calibration, algorithm=algorithm, method=method,
                                  output=folder, optimize=optimize, yuv_range=yuv_range,
                                  node_precision=precision)
    checked = verify_rdk(reference or model, images, target, bin_path=built.output,
                         progress=False, bin_images=0)
    layers = analysis(os.path.join(folder, 'hb_mapper_makertbin.log'))
    layers['bpu_estimate'] = bpu_estimate(folder)
    return built, checked, layers


def _record(index, precision, built, checked, layers) -> dict:
    """Return a search step's record (the makertbin table under ``layers``)."""
    from .rdk_layers import wide_nodes
    a = checked.agreement
    return {'step': index, 'precision': precision, 'min_cosine': min_cosine(checked),
            'outputs': {o['name']: o['cosine_min'] for o in checked.outputs},
            'matched': a['matched'], 'reference': a['reference'], 'simulated': a['simulated'],
            'missed': a['missed'], 'extra': a['extra'], 'size_bytes': built.size_bytes,
            'build_seconds': round(built.build_seconds, 1), 'bin': built.output,
            'layers': layers, 'nodes': len(layers['nodes']),
            'refused': layers.get('refused', []), 'wide_nodes': len(wide_nodes(layers)),
            'bpu_estimate': layers['bpu_estimate']}


def _split_verdict(record: dict, best: dict) -> str:
    """Return why a split build is kept over ``best`` or not ('kept: ...' / 'not kept: ...')."""
    cosine = (f'min cosine {record["min_cosine"]:.4f} vs {best["min_cosine"]:.4f} '
              f'(step {best["step"]})')
    worse = [f'{k} {record[k]} > {best[k]}' for k in ('missed', 'extra') if record[k] > best[k]]
    reasons = [] if record['min_cosine'] > best['min_cosine'] else [cosine + ' not higher']
    if worse:
        reasons.append(f'detections vs fp32 worse ({", ".join(worse)})')
    if reasons:
        return 'not kept: ' + '; '.join(reasons)
    return f'kept: {cosine}, detections vs fp32 not worse'


def hybrid_build(model: str, target: str, calibration, images, hybrid, output: str,
                 optimize: str = 'O0', yuv_range: str = 'full', bar: float = BAR,
                 rounds: int = 3, step: float = 0.1, algorithm: str = 'normal',
                 method: str = 'channel', try_split: bool = True):
    """
    Build an RDK hybrid; return (ConvertResult of the kept build, search record).

    hybrid: 'auto' (int8 first; while the lowest output cosine vs fp32 on ``images`` is under
    ``bar``, add the head's last convs and the ``step`` share of nodes with the lowest
    makertbin cosine as int16, rebuild, re-verify; stop at the bar, after ``rounds``, or when a
    round does not raise the lowest cosine; then, still under the bar and ``try_split``, one
    split build, kept only if its lowest cosine is higher and it misses and adds no more
    detections vs fp32 than the kept build), 'split' (only that build: every non-head conv's
    weights split (``rdk_weight_split``), every int16-capable node int16, the head's last convs
    int16_in) or {node: 'int16'|'cpu'} / 'NODE[:kind],...'.
    Each build goes to ``output/step<i>`` (the split ONNX and its checker log to
    ``output/split``), verified against ``model``; the card beside them names the kept one.
    algorithm, method: every build's calibration (``convert_rdk_toolchain``).
    """
    heads = head_convs(model)
    steps = []
    if hybrid == 'split':
        plan = []
    elif hybrid != 'auto':
        precision = hybrid if isinstance(hybrid, dict) else parse_nodes(hybrid)
        plan = [precision]
    else:
        plan = [{}]
    best, refused = None, set()
    started = time.perf_counter()
    for index in range(rounds + 1 if plan else 0):
        if index >= len(plan):
            if hybrid != 'auto' or best is None or best['min_cosine'] >= bar:
                break
            count = max(1, int(round(step * len(best['layers']['nodes']))))
            refused |= set(best['layers'].get('refused', []))
            grown = choose(best['layers']['nodes'], best['precision'], count, heads,
                           sorted(refused))
            if grown == best['precision']:
                break
            plan.append(grown)
        precision = plan[index]
        folder = os.path.join(output, f'step{index}')
        built, checked, layers = _build_and_verify(model, target, calibration, images,
                                                   optimize, yuv_range, precision, folder,
                                                   algorithm, method)
        record = _record(index, precision, built, checked, layers)
        record['kept'] = best is None or record['min_cosine'] > best['min_cosine']
        steps.append({k: v for k, v in record.items() if k != 'layers'})
        if record['kept']:
            best = dict(record, result=built)
        elif hybrid == 'auto':
            break                      # the round did not help: stop
    split_note = None
    if hybrid == 'split' or (hybrid == 'auto' and try_split and best['min_cosine'] < bar):
        made = write_split(model, target, heads, os.path.join(output, 'split'))
        if made is None and hybrid == 'split':
            raise ConfigError(f'--hybrid split: {model} has no convolution with initializer '
                              "weights besides the head's last ones "
                              f'({", ".join(heads) or "none"}): nothing to split')
        if made is None:
            split_note = "not tried: no convolution to split besides the head's last ones"
        else:
            path, split, precision = made
            index = len(steps)
            folder = os.path.join(output, f'step{index}')
            built, checked, layers = _build_and_verify(path, target, calibration, images,
                                                       optimize, yuv_range, precision, folder,
                                                       algorithm, method, reference=model)
            built.info['split_onnx'] = path
            record = _record(index, precision, built, checked, layers)
            record.update(split_onnx=path, split_convs=len(split))
            record['why'] = ('kept: explicit split' if best is None else
                             _split_verdict(record, best))
            record['kept'] = record['why'].startswith('kept')
            split_note = record['why']
            steps.append({k: v for k, v in record.items() if k != 'layers'})
            if record['kept']:
                best = dict(record, result=built)
    stopped = ('explicit split' if hybrid == 'split' else
               'explicit nodes' if hybrid != 'auto' else
               'bar reached' if best['min_cosine'] >= bar else
               'no further improvement or rounds exhausted')
    search = {'bar': bar, 'stopped': stopped, 'steps': steps,
              'seconds': round(time.perf_counter() - started, 1), 'head_convs': heads,
              'kept_step': best['step']}
    if split_note:
        search['split'] = split_note
    result = best['result']
    if result.info.get('split_onnx'):               # check it against the float model
        result.next_step = result.next_step.replace(result.info['split_onnx'], model)
    _point_card(model, target, result, os.path.abspath(output))
    result.info.update(hybrid_nodes=best['precision'], hybrid_search=search,
                       layer_analysis=dict(best['layers']))
    return result, search
