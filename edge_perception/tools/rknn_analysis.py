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
Per-layer precision loss of an RKNN int8 build: rknn-toolkit2's ``accuracy_analysis``.

The toolkit runs one image through the fp32 graph ("golden") and through the quantised
model in its simulator and writes, per layer (named by its output tensor, the names the
hybrid ``.quantization.cfg`` uses), two cosine similarities and Euclidean distances:
``entire`` (the error accumulated up to that layer) and ``single`` (that layer alone, fed
the golden input). It also dumps every layer's tensors (~2 GB for a 640x640 YOLOv8s), so
the analysis runs in a temporary folder that is deleted afterwards; only the table is kept.
"""

from dataclasses import asdict, dataclass, field
import os
import re
import shutil
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import cv2

from ..errors import ModelLoadError

REPORT_FILE = 'error_analysis.txt'
_ROW = re.compile(r'^\[(?P<op>[^\]]+)\]\s+(?P<name>\S+)\s*(?P<rest>.*)$')
_NUMBER = re.compile(r'[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)')
_COLOUR = re.compile(r'\x1b\[[0-9;]*m')      # the toolkit colours low values in the file too


@dataclass
class LayerError:
    """One row of ``error_analysis.txt``; None where the toolkit printed no value (fused)."""

    op: str
    name: str
    entire_cos: Optional[float] = None
    entire_euc: Optional[float] = None
    single_cos: Optional[float] = None
    single_euc: Optional[float] = None


@dataclass
class LayerAnalysis:
    """The per-layer table of one build on one image."""

    image: str = ''
    seconds: float = 0.0
    layers: List[LayerError] = field(default_factory=list)

    def worst(self, count: int = 10, key: str = 'single_cos') -> List[LayerError]:
        """Return the ``count`` layers with the lowest ``key`` cosine (rows without it last)."""
        rows = [r for r in self.layers if getattr(r, key) is not None]
        return sorted(rows, key=lambda r: getattr(r, key))[:count]

    def as_dict(self) -> Dict[str, object]:
        """Return the analysis as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, object]) -> 'LayerAnalysis':
        """Rebuild an analysis from ``as_dict``'s output (a verify JSON file)."""
        return cls(image=data.get('image', ''), seconds=data.get('seconds', 0.0),
                   layers=[LayerError(**row) for row in data.get('layers', [])])


def parse_error_analysis(text: str) -> List[LayerError]:
    """Parse the toolkit's ``error_analysis.txt`` (simulator columns: entire, single)."""
    rows = []
    for line in _COLOUR.sub('', text).splitlines():
        match = _ROW.match(line.strip())
        if not match:
            continue
        values = [float(v) for v in _NUMBER.findall(match.group('rest').replace('|', ' '))]
        row = LayerError(match.group('op'), match.group('name'))
        if len(values) >= 4:
            row.entire_cos, row.entire_euc, row.single_cos, row.single_euc = values[:4]
        elif len(values) >= 2:
            row.entire_cos, row.entire_euc = values[:2]
        rows.append(row)
    if not rows:
        raise ModelLoadError('rknn-toolkit2 accuracy_analysis wrote no per-layer rows')
    return rows


def analyse(rknn, image_bgr, folder: Optional[str] = None, name: str = 'image') -> LayerAnalysis:
    """
    Run ``accuracy_analysis`` on a built ``RKNN`` object for one input-sized BGR image.

    image_bgr is already letterboxed to the model input (the toolkit reads the file as the
    calibration images: cv2.imread, BGR to RGB). The dumps go to a temporary folder (inside
    ``folder`` when given) that is removed, whatever happens.
    """
    workdir = tempfile.mkdtemp(prefix='edge_perception-accuracy-', dir=folder)
    try:
        path = os.path.join(workdir, f'{name}.png')
        if not cv2.imwrite(path, image_bgr):
            raise ModelLoadError(f'cannot write the analysis image {path}')
        output = os.path.join(workdir, 'snapshot')
        from ..backends.rknn_sim_backend import _toolkit_output
        started = time.perf_counter()
        with _toolkit_output():         # it prints its whole table on stdout
            ret = rknn.accuracy_analysis(inputs=[path], output_dir=output)
        seconds = time.perf_counter() - started
        report = os.path.join(output, REPORT_FILE)
        if ret != 0 or not os.path.isfile(report):
            raise ModelLoadError(f'rknn-toolkit2 accuracy_analysis returned {ret} (no '
                                 f'{REPORT_FILE}); it logged the cause above')
        with open(report, encoding='utf-8') as f:
            layers = parse_error_analysis(f.read())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return LayerAnalysis(image=name, seconds=seconds, layers=layers)


def _number(value, digits: int = 5) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def markdown_table(analysis: LayerAnalysis, count: int = 15) -> str:
    """Return the worst layers (lowest single cosine) as a Markdown table."""
    lines = [f'Worst {count} of {len(analysis.layers)} layers by single-layer cosine '
             f'(rknn-toolkit2 accuracy_analysis on {analysis.image}, '
             f'{analysis.seconds:.0f} s):', '',
             '| layer | op | entire cos | single cos | entire euc | single euc |',
             '|---|---|---|---|---|---|']
    for row in analysis.worst(count):
        lines.append(f'| `{row.name}` | {row.op} | {_number(row.entire_cos)} | '
                     f'{_number(row.single_cos)} | {_number(row.entire_euc, 3)} | '
                     f'{_number(row.single_euc, 3)} |')
    return '\n'.join(lines)


def plot(analyses: Sequence[LayerAnalysis], labels: Sequence[str], path: str,
         annotate: int = 5) -> str:
    """Write a PNG: entire and single cosine along the layers, one panel per build."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(analyses), 1, figsize=(12, 3.2 * len(analyses)),
                                squeeze=False)
    for axis, analysis, label in zip(axes[:, 0], analyses, labels):
        for key, colour in (('entire_cos', 'tab:blue'), ('single_cos', 'tab:orange')):
            points = [(i, getattr(r, key)) for i, r in enumerate(analysis.layers)
                      if getattr(r, key) is not None]
            axis.plot([p[0] for p in points], [p[1] for p in points], '.-', color=colour,
                      markersize=3, linewidth=0.8, label=key.replace('_cos', ''))
        index = {id(r): i for i, r in enumerate(analysis.layers)}
        for row in analysis.worst(annotate):
            axis.annotate(row.name, (index[id(row)], row.single_cos), fontsize=6,
                          rotation=20, ha='right')
        axis.set_title(f'{label}: per-layer cosine vs fp32 ({analysis.image})', fontsize=9)
        axis.set_xlabel('layer (toolkit order)')
        axis.set_ylabel('cosine')
        axis.legend(fontsize=7, loc='lower left')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
