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
The RKNN part of ``edge-perception report``: precision loss and timings of the builds.

One row per verify result of a Rockchip target, side by side (int8 per calibration
algorithm, hybrid, fp16): the lowest output cosine and which output, every output's cosine,
the detections matched against fp32, mAP@0.5 when labels were given, simulated inference
time, build time, model size and the layers kept in float16; then, for the results verified
with ``--per-layer``, the worst layers of the toolkit's accuracy_analysis and a PNG of the
per-layer cosines.
"""

import os
from typing import List, Sequence

from . import rknn_analysis

RKNN_TARGETS = ('rk3588', 'rk3576', 'rk3568', 'rk3566', 'rk3562')
COLUMNS = ('build', 'calibration', 'min cosine (output)', 'cosine per output',
           'detections vs fp32', 'mAP@0.5 fp32 / build', 'sim ms', 'build s', 'size MB',
           'float16 layers')


def calibration_label(calibration) -> str:
    """Return which images calibrated an int8 build and how many (for the report)."""
    from ..image_sets import calibration_images, image_paths, NAMED_SETS
    if isinstance(calibration, (str, os.PathLike)) and os.path.exists(calibration):
        count = len(image_paths(calibration))
    else:
        count = len(calibration_images(calibration))
    if calibration is None:
        name = 'samples'
    elif isinstance(calibration, str) and calibration in NAMED_SETS:
        name = calibration
    elif isinstance(calibration, (str, os.PathLike)):
        name = os.path.basename(os.path.normpath(os.fspath(calibration)))
    else:
        name = 'images'
    return f'{name} ({count})'


def _label(r: dict) -> str:
    if r['dtype'] == 'fp16':
        return 'fp16'
    text = f'int8 {r.get("algorithm", "normal")}'
    if r.get('method', 'channel') != 'channel':
        text += f' per {r["method"]}'
    if r.get('hybrid'):
        text += ' + hybrid' + (' (auto)' if r['hybrid'] == 'auto' else '')
    return text


def _number(value, digits: int) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def precision_table(results: Sequence[dict]) -> str:
    """Return the precision-loss-and-timing table of the RKNN results (Markdown)."""
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for r in results:
        outputs = [o for o in r['outputs'] if o['cosine_mean'] is not None]
        worst = min(outputs, key=lambda o: o['cosine_mean'], default=None)
        a = r['agreement']
        detections = (f'{a["matched"]}/{a["reference"]} matched, {a["missed"]} missed, '
                      f'{a["extra"]} extra')
        m = r.get('map50')
        share = r.get('float16_share')
        layers = r.get('hybrid_layers')
        cells = (_label(r), r.get('calibration') or '-',
                 f'{worst["cosine_mean"]:.4f} ({worst["name"]})' if worst else '-',
                 ', '.join(f'{o["name"]} {o["cosine_mean"]:.4f}' for o in outputs), detections,
                 f'{m["fp32"]:.3f} / {m["simulated"]:.3f}' if m else '-',
                 _number(r.get('sim_ms'), 1), _number(r.get('build_seconds'), 1),
                 _number((r.get('size_bytes') or 0) / 1e6 or None, 2),
                 f'{len(layers)} ({share:.1%} of {r.get("int8_layers")} int8)'
                 if layers is not None else '0')
        lines.append('| ' + ' | '.join(str(c).replace('|', '/') for c in cells) + ' |')
    return '\n'.join(lines)


def rknn_results(results: Sequence[dict]) -> List[dict]:
    """Return the results of Rockchip targets."""
    return [r for r in results if r.get('target') in RKNN_TARGETS]


def rknn_sections(results: Sequence[dict], stem: str) -> str:
    """Return the report's RKNN sections ('' when none); writes ``<stem>_layers.png``."""
    results = rknn_results(results)
    if not results:
        return ''
    text = ['', '## RKNN: precision loss and timings', '',
            'Cosine: raw outputs of the simulated build vs ONNX Runtime fp32, mean over the '
            'validation images; sim ms: rknn-toolkit2 simulator on this PC (not NPU time).', '',
            precision_table(results)]
    for r in results:
        names = r.get('hybrid_layers')
        if names:
            text += ['', f'{_label(r)}: float16 layers: ' + ', '.join(f'`{n}`' for n in names)]
        search = r.get('hybrid_search')
        if search:
            text += ['', f'{_label(r)}: automatic search ({search["stopped"]}):', '',
                     '| step | added | float16 | min cosine | detections | kept |',
                     '|---|---|---|---|---|---|']
            for s in search['steps']:
                text.append(f'| {s["step"]} | {len(s["added"])} | {s["float16_layers"]} '
                            f'({s["float16_share"]:.1%}) | '
                            + (f'toolkit failed: {s["failure"]} | -' if s.get('failure') else
                               f'{s["min_cosine"]:.4f} | {s["matched"]}/{s["reference"]} '
                               f'of {s["simulated"]}') + f' | {"yes" if s["kept"] else "no"} |')
    analysed = [r for r in results if r.get('layer_analysis')]
    if analysed:
        analyses = [rknn_analysis.LayerAnalysis.from_dict(r['layer_analysis']) for r in analysed]
        png = rknn_analysis.plot(analyses, [_label(r) for r in analysed], stem + '_layers.png')
        text += ['', '## RKNN: per-layer precision loss (accuracy_analysis)', '']
        for r, analysis in zip(analysed, analyses):
            text += [f'### {_label(r)}', '', rknn_analysis.markdown_table(analysis, 10), '']
        text.append(f'![per-layer cosine]({os.path.basename(png)})')
    return '\n'.join(text) + '\n'
