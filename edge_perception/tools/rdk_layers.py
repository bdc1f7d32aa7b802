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
Per-node precision loss of an RDK build, from hb_mapper makertbin's own log.

After calibration, makertbin prints "The main quantized node information": one row per node
(name, ON = BPU/CPU, subgraph, type, cosine similarity of the calibrated model's node output
vs the float model's on its calibration data, the calibration threshold, the data type), then
"The quantized model output" (cosine, L1, L2, Chebyshev per model output). The cosine is the
error accumulated up to that node (RKNN's "entire"); hb_mapper prints no single-node column.
The node names are the ones ``model_parameters.node_info`` takes (``rdk_hybrid``); the table
cuts long names to ``...<end>``, and such rows are never chosen by name. makertbin warns when
it will not take an int16 setting (``refused_int16``: e.g. an AveragePool turned into a
convolution). ``bpu_estimate`` reads hbdk's own performance estimate of the compiled BPU
subgraphs (``<graph>_subgraph_<i>.json`` beside the log: latency, FPS, DDR traffic at the
build's optimisation level; the CPU nodes' time is not in it).
"""

import glob
import json
import os
import re
from typing import Dict, List, Optional, Sequence

from ..errors import ModelLoadError

_ANSI = re.compile(r'\x1b\[[0-9;]*m')
_NODE_HEADER = 'The main quantized node information'
# makertbin's warning when it will not take an int16 setting for a node
_REFUSED = re.compile(r'the input datatype of node:(?P<node>\S+) will be set back to int8')
_OUTPUT_HEADER = 'The quantized model output'


def _table_lines(text: str, header: str) -> List[str]:
    lines = [_ANSI.sub('', line).rstrip() for line in text.splitlines()]
    starts = [i for i, line in enumerate(lines) if header in line]
    if not starts:
        return []
    rows, dashes = [], 0
    for line in lines[starts[-1] + 1:]:
        if set(line.strip()) <= {'=', '-'} and line.strip():
            dashes += 1
            continue
        if dashes >= 2 and (not line.strip() or re.match(r'^\d{4}-\d\d-\d\d ', line)):
            break
        if dashes >= 2:
            rows.append(line)
    return rows


def parse_nodes(text: str) -> List[Dict[str, object]]:
    """Return makertbin's per-node rows: node, on, subgraph, type, cosine, threshold, dtype."""
    rows = []
    for line in _table_lines(text, _NODE_HEADER):
        parts = line.split()
        if len(parts) < 5:
            continue
        # Node ON Subgraph Type Cosine [Threshold] [DataType]; names hold no spaces
        cosine = _float(parts[4])
        rows.append({'node': parts[0], 'on': parts[1], 'subgraph': parts[2], 'type': parts[3],
                     'cosine': cosine,
                     'threshold': _float(parts[5]) if len(parts) > 5 else None,
                     'dtype': parts[6] if len(parts) > 6 else ''})
    if not rows:
        raise ModelLoadError(f'no "{_NODE_HEADER}" table in the hb_mapper makertbin log')
    return rows


def parse_outputs(text: str) -> List[Dict[str, object]]:
    """Return makertbin's quantized-output rows: output, cosine, l1, l2, chebyshev."""
    rows = []
    for line in _table_lines(text, _OUTPUT_HEADER):
        parts = line.split()
        if len(parts) >= 5:
            rows.append({'output': parts[0], 'cosine': _float(parts[1]), 'l1': _float(parts[2]),
                         'l2': _float(parts[3]), 'chebyshev': _float(parts[4])})
    return rows


def _float(value: str):
    try:
        return float(value)
    except ValueError:
        return None


def analysis(log_path: str) -> Dict[str, object]:
    """Return the per-node analysis of a build folder's ``hb_mapper_makertbin.log``."""
    with open(log_path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    return {'tool': 'hb_mapper makertbin', 'log': log_path, 'nodes': parse_nodes(text),
            'outputs': parse_outputs(text), 'refused': refused_int16(text)}


def bpu_estimate(folder: str) -> Optional[Dict[str, object]]:
    """
    Return hbdk's estimate for a build folder's BPU subgraphs, or None when it wrote none.

    latency_ms: the subgraphs' latencies added (one frame through each, on one core); fps: the
    slowest subgraph's; ddr_mb: DDR traffic per frame, added.
    """
    files = sorted(glob.glob(os.path.join(folder, '*_subgraph_[0-9]*.json')))
    summaries = []
    for path in files:
        with open(path, encoding='utf-8') as f:
            summaries.append(json.load(f)['summary'])
    if not summaries:
        return None
    return {'subgraphs': len(summaries),
            'latency_ms': round(sum(float(s['latency (ms)']) for s in summaries), 3),
            'fps': min(float(s['FPS']) for s in summaries),
            'ddr_mb': round(sum(float(s['DDR megabytes per frame']) for s in summaries), 3)}


def refused_int16(text: str) -> List[str]:
    """Return the nodes whose int16 setting makertbin refused ("set back to int8")."""
    return sorted({m.group('node') for m in _REFUSED.finditer(_ANSI.sub('', text))})


def worst(nodes: Sequence[dict], count: int = 10) -> List[dict]:
    """Return the ``count`` nodes with the lowest cosine."""
    rows = [n for n in nodes if n.get('cosine') is not None]
    return sorted(rows, key=lambda n: n['cosine'])[:count]


def markdown_table(data: Dict[str, object], count: int = 10) -> str:
    """Return the worst nodes and the outputs' cosines as Markdown."""
    nodes = data['nodes']
    lines = [f'Worst {count} of {len(nodes)} nodes by cosine vs float (hb_mapper makertbin, '
             'calibration data; accumulated error):', '',
             '| node | type | on | dtype | cosine |', '|---|---|---|---|---|']
    for n in worst(nodes, count):
        lines.append(f'| `{n["node"]}` | {n["type"]} | {n["on"]} | {n["dtype"]} | '
                     f'{n["cosine"]:.6f} |')
    if data.get('outputs'):
        lines += ['', '| output | cosine | L1 | Chebyshev |', '|---|---|---|---|']
        lines += [f'| {o["output"]} | {o["cosine"]:.6f} | {o["l1"]:.4f} | {o["chebyshev"]:.4f} |'
                  for o in data['outputs']]
    return '\n'.join(lines)


def plot(analyses: Sequence[Dict[str, object]], labels: Sequence[str], path: str,
         annotate: int = 5) -> str:
    """Write a PNG: each build's per-node cosine along the graph, the worst nodes named."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(analyses), 1, figsize=(12, 3.2 * len(analyses)),
                                squeeze=False)
    for axis, data, label in zip(axes[:, 0], analyses, labels):
        nodes = data['nodes']
        points = [(i, n['cosine']) for i, n in enumerate(nodes) if n['cosine'] is not None]
        axis.plot([p[0] for p in points], [p[1] for p in points], '.-', markersize=3,
                  linewidth=0.8, color='tab:blue', label='cosine vs float')
        wide = [i for i, n in enumerate(nodes) if n['dtype'] not in ('int8', '')]
        if wide:
            axis.plot(wide, [nodes[i]['cosine'] for i in wide], 'o', color='tab:red',
                      markersize=4, label='int16 / cpu')
        index = {id(n): i for i, n in enumerate(nodes)}
        for n in worst(nodes, annotate):
            axis.annotate(n['node'], (index[id(n)], n['cosine']), fontsize=6, rotation=20,
                          ha='right')
        axis.set_title(f'{label}: per-node cosine (hb_mapper makertbin)', fontsize=9)
        axis.set_xlabel('node (mapper order)')
        axis.set_ylabel('cosine')
        axis.legend(fontsize=7, loc='lower left')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def wide_nodes(data: Dict[str, object]) -> List[str]:
    """Return the nodes the mapper's table shows not in int8 on the BPU (int16, or CPU)."""
    return [n['node'] for n in data['nodes']
            if n['on'] != 'BPU' or n['dtype'] not in ('int8', '')]


def rdk_sections(results: Sequence[dict], stem: str) -> str:
    """Return the report's RDK sections ('' when none); writes ``<stem>_rdk_nodes.png``."""
    from .rdk_toolchain import MARCHES
    results = [r for r in results if r.get('target') in MARCHES]
    if not results:
        return ''
    text = ['', '## RDK: precision loss (hb_mapper, HB_ONNXRuntime)', '',
            'Min cosine: lowest over the validation images of each output, quantized ONNX '
            '(HB_ONNXRuntime, NV12 as the board feeds it) vs ONNX Runtime fp32.', '',
            '| build | min cosine per output | detections (matched/fp32 of int8) | .bin MB '
            '| build s | int16 / CPU nodes |', '|---|---|---|---|---|---|']
    for r in results:
        a = r.get('agreement') or {}
        cos = ', '.join(f'{o["name"]} {o["cosine_min"]:.4f}' for o in r.get('outputs', []))
        layers = r.get('layer_analysis') or {}
        wide = wide_nodes(layers) if 'nodes' in layers else []
        size = (r.get('size_bytes') or 0) / 1e6
        build = r.get('build_seconds')
        text.append(f'| {r["target"]} {os.path.basename(r.get("bin_file") or r["model"])} | '
                    f'{cos} | '
                    f'{a.get("matched", "-")}/{a.get("reference", "-")} of '
                    f'{a.get("simulated", "-")} | {size:.2f} | '
                    f'{"-" if build is None else f"{build:.0f}"} | {len(wide)} |')
    analysed = [r for r in results if 'nodes' in (r.get('layer_analysis') or {})]
    if analysed:
        labels = [os.path.basename(r.get('bin_file') or r['model']) for r in analysed]
        png = plot([r['layer_analysis'] for r in analysed], labels, stem + '_rdk_nodes.png')
        text += ['', '## RDK: per-node precision loss (hb_mapper makertbin)', '']
        for r, name in zip(analysed, labels):
            text += [f'### {name}', '', markdown_table(r['layer_analysis']), '']
            wide = wide_nodes(r['layer_analysis'])
            if wide:
                text += ['int16 / CPU nodes: ' + ', '.join(f'`{n}`' for n in wide), '']
        text.append(f'![per-node cosine]({os.path.basename(png)})')
    return '\n'.join(text) + '\n'
