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
``edge-perception report``: verify's JSON results -> a Markdown table and a PNG plot.

One row per result (model, target, dtype, calibration algorithm, cosine per output, detection
agreement, build time, simulated inference time, model size, verdict); the plot sets the
builds (e.g. fp16, int8, int8 + hybrid) side by side: minimum output cosine, detection
agreement and simulated inference time. matplotlib is in the tools environment only.
"""

import json
import os
from typing import List, Sequence

COLUMNS = ('model', 'target', 'dtype', 'algorithm', 'cosine per output', 'agreement',
           'build s', 'sim ms', 'size MB', 'verdict')


def load_results(paths: Sequence[str]) -> List[dict]:
    """Read verify JSON results (files, or folders holding *.json files)."""
    results = []
    for path in paths:
        files = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith('.json')] \
            if os.path.isdir(path) else [path]
        for name in files:
            with open(name, encoding='utf-8') as f:
                data = json.load(f)
            if 'outputs' not in data or 'agreement' not in data:
                raise ValueError(f'{name} is not a verify result (no outputs / agreement)')
            results.append(data)
    if not results:
        raise ValueError(f'no verify results in {", ".join(paths)}')
    return results


def label(result: dict) -> str:
    """Short name of one build: dtype, + hybrid, + algorithm when not normal."""
    text = result['dtype'] + (' hybrid' if result.get('hybrid') else '')
    if result['dtype'] == 'int8' and result.get('algorithm', 'normal') != 'normal':
        text += f' {result["algorithm"]}'
    return text


def _number(value, digits: int) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def markdown_table(results: Sequence[dict]) -> str:
    """Return the results as a Markdown table."""
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for r in results:
        cosines = ', '.join(f'{o["name"]} {_number(o["cosine_mean"], 4)}' for o in r['outputs'])
        a = r['agreement']
        agree = (f'{a["agreement"]:.3f} ({a["matched"]}/{a["reference"]} matched, IoU '
                 f'{_number(a["mean_iou"], 3)})')
        verdict = 'usable' if r.get('usable') else \
            'UNUSABLE: ' + ', '.join(f['code'] for f in r['flags'] if f['level'] == 'error')
        if r.get('bin_check'):          # RDK: the .bin in hbdk-sim vs its quantized ONNX
            verdict += '; .bin bit-exact' if r['bin_check']['bit_exact'] else \
                '; .bin DIFFERS'
        size = r.get('size_bytes')
        cells = (os.path.basename(r['model']), r['target'], label(r),
                 f'{r.get("algorithm", "normal")}/{r.get("method", "channel")}', cosines, agree,
                 _number(r.get('build_seconds'), 1), _number(r.get('sim_ms'), 1),
                 _number(size / 1e6 if size else None, 2), verdict)
        lines.append('| ' + ' | '.join(str(c).replace('|', '/') for c in cells) + ' |')
    return '\n'.join(lines)


def plot(results: Sequence[dict], path: str) -> str:
    """Write a PNG: min cosine, agreement and simulated ms per build; return the path."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [f'{os.path.splitext(os.path.basename(r["model"]))[0]}\n{r["target"]} {label(r)}'
             for r in results]
    cosines = [min((o['cosine_mean'] for o in r['outputs'] if o['cosine_mean'] is not None),
                   default=0.0) for r in results]
    agreements = [r['agreement']['agreement'] for r in results]
    times = [r.get('sim_ms') or 0.0 for r in results]
    colours = ['tab:green' if r.get('usable') else 'tab:red' for r in results]
    figure, axes = plt.subplots(1, 3, figsize=(4 + 2.2 * len(results), 4.5))
    for axis, values, title in ((axes[0], cosines, 'min output cosine vs fp32'),
                                (axes[1], agreements, 'detection agreement vs fp32'),
                                (axes[2], times, 'simulated inference (ms)')):
        bars = axis.bar(range(len(values)), values, color=colours)
        axis.set_title(title)
        axis.set_xticks(range(len(values)), names, fontsize=7)
        for bar, value in zip(bars, values):
            axis.annotate(f'{value:.3g}', (bar.get_x() + bar.get_width() / 2, value),
                          ha='center', va='bottom', fontsize=7)
    axes[0].set_ylim(0, 1.05)
    axes[1].set_ylim(0, 1.05)
    figure.suptitle('NPU builds vs fp32 ONNX (green: usable, red: flagged)')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_report(paths: Sequence[str], output: str) -> str:
    """Write ``output`` (Markdown) and the PNG beside it (same name, .png); return the PNG."""
    results = load_results(paths)
    png = os.path.splitext(output)[0] + '.png'
    plot(results, png)
    flags = [f'- {os.path.basename(r["model"])} {r["target"]} {label(r)}: {f["level"]} '
             f'{f["code"]}: {f["message"]}' for r in results for f in r['flags']]
    with open(output, 'w', encoding='utf-8') as f:
        f.write('# NPU builds vs the fp32 ONNX model\n\n' + markdown_table(results) + '\n\n'
                + f'![builds]({os.path.basename(png)})\n')
        if flags:
            f.write('\n## Flags\n\n' + '\n'.join(flags) + '\n')
        from .rknn_report import rknn_sections
        f.write(rknn_sections(results, os.path.splitext(output)[0]))
        from .rdk_layers import rdk_sections
        f.write(rdk_sections(results, os.path.splitext(output)[0]))
    return png
