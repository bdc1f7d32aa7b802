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
The RKNN side of convert and verify: builds, per-layer analysis, and checks of a given .rknn.

Plain, hybrid (float16 layers named) and searched (``--hybrid auto``) builds; what
``verify --rknn FILE`` can and cannot check about FILE.

rknn-toolkit2 2.5.0 cannot simulate a prebuilt ``.rknn``: after ``load_rknn``,
``init_runtime()`` without a target refuses ("RKNN model that loaded by 'load_rknn' not support
inference on the simulator") and ``accuracy_analysis`` asks for ``load_xxx`` + ``build``. So
verify rebuilds the ONNX with the settings convert recorded beside FILE
(``<file>.build.json``: target, dtype, algorithm, method, float16 layers, calibration) and
simulates that, then checks FILE against the rebuild: the header (toolkit version, target,
input and output shapes) and the bytes. Builds are not byte-reproducible: two builds with the
same settings differ in ~1200 bytes whatever the model's size (measured: 1154 and 1256 of
180 kB, 1161 of 12.5 MB, all in two small regions of the file's tables; two exports of one
build are identical). So FILE is called the same build when it has the rebuild's header and
size and differs in at most ``SAME_BUILD_BYTES``; another build (other float16 layers, plain
instead of hybrid) differs in its size here, or in its weights and scales.
"""

import json
import os
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple
import warnings

import numpy as np

from . import rknn_analysis, rknn_hybrid
from ..errors import ConfigError

SETTINGS_SUFFIX = '.build.json'
SAME_BUILD_BYTES = 4096         # differing bytes still called the same build (see above)
SIMULATOR_REFUSES = ("rknn-toolkit2's simulator cannot run a prebuilt .rknn (load_rknn, then "
                     'init_runtime() without a target returns -1: "RKNN model that loaded by '
                     "'load_rknn' not support inference on the simulator\")")


def settings_path(rknn: str) -> str:
    """Return the file convert writes the build settings of ``rknn`` to."""
    return rknn + SETTINGS_SUFFIX


def write_settings(rknn: str, settings: Dict[str, object]) -> str:
    """Record how ``rknn`` was built (for verify --rknn); return the file."""
    path = settings_path(rknn)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(settings, f, indent=2)
    return path


def read_settings(rknn: str) -> Optional[Dict[str, object]]:
    """Return the recorded build settings of ``rknn``, or None when there are none."""
    path = settings_path(rknn)
    if not os.path.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _plain(model, target, dtype, calibration, algorithm, method):
    from .build_source import build_source, runtime_images
    from ..backends.rknn_sim_backend import RknnSimulatorBackend
    source = build_source(model)        # an ONNX file, or a card: its input convention baked in
    if dtype == 'int8':
        calibration = runtime_images(calibration, source)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)     # verify flags it itself
        return RknnSimulatorBackend(source.onnx, target=target, dtype=dtype,
                                    calibration=calibration, algorithm=algorithm,
                                    method=method, **source.options)


def simulated_build(model: str, target: str, dtype: str, calibration, algorithm: str,
                    method: str, hybrid, images=None, confidence: float = 0.25,
                    log=print, max_share: float = rknn_hybrid.MAX_SHARE
                    ) -> Tuple[object, Dict[str, object]]:
    """
    Build ``model`` for the simulator; return (backend, what to add to the VerifyResult).

    hybrid: None (plain int8/fp16 build), 'auto' (search the float16 layers on ``images``)
    or layer names (a list or 'a,b,c'). 'auto' needs the validation images; max_share: the
    share of the int8 layers the search may move to float16.
    """
    layers = rknn_hybrid.parse_layers(hybrid)
    if hybrid is None:
        started = time.perf_counter()
        backend = _plain(model, target, dtype, calibration, algorithm, method)
        return backend, {'build_seconds': time.perf_counter() - started}
    if dtype != 'int8':
        raise ConfigError('--hybrid applies to int8 builds only')
    from .build_source import build_source
    source = build_source(model)
    if not source.yolo_input:
        raise ConfigError(f'--hybrid: {source.card} has its own input normalisation/resize '
                          f'({source.options}, {source.resize}), which the hybrid builds do not '
                          'bake in yet; build it without --hybrid')
    model = source.onnx
    started = time.perf_counter()
    session = rknn_hybrid.HybridSession(model, target, calibration, algorithm, method)
    try:
        extra = {'int8_layers': len(session.int8)}
        if layers is None:
            if images is None:
                raise ConfigError('--hybrid auto needs validation images (--images)')
            search, _ = search_layers(session, model, images, confidence, log, max_share)
            layers = search.layers
            extra['hybrid_search'] = {
                'target_met': search.target_met, 'stopped': search.stopped,
                'steps': [vars(s) for s in search.steps]}
        built = time.perf_counter()
        backend = session.backend(layers)
        if session.last_restored:
            log("hybrid: calibrated int8 range restored (not the toolkit's [-7, ...] Sigmoid "
                'input clip) for ' + ', '.join(session.last_restored))
        extra.update({'hybrid_layers': list(layers),
                      'float16_share': session.float_share(layers),
                      'step1_seconds': session.step1_seconds,
                      'build_seconds': session.step1_seconds + backend.build_seconds,
                      'search_seconds': built - started - session.step1_seconds})
        return backend, extra
    finally:
        session.close()


def search_layers(session, model: str, images, confidence: float, log=print,
                  max_share: float = rknn_hybrid.MAX_SHARE):
    """Run the automatic search of ``session`` with verify on ``images`` as the check."""
    from .verify import verify
    state = {'analysis': None}

    def check(layers):
        backend = session.backend(layers)
        try:
            if not layers:
                state['analysis'] = analyse_backend(backend, images)
                log(rknn_analysis.markdown_table(state['analysis'], 8))
            return verify(model, images, target=session.target, dtype='int8',
                          algorithm=session.algorithm, method=session.method,
                          confidence=confidence, progress=False, backend=backend)
        finally:
            backend.close()

    # the plain build (the search's first check) is analysed; the search reads it afterwards
    return rknn_hybrid.auto_search(session, check, analysis=lambda: state['analysis'],
                                   max_share=max_share, log=log)


def _pictures(images) -> List[Tuple[str, np.ndarray]]:
    import cv2

    from ..image_sets import image_paths
    paths = image_paths(images) if isinstance(images, (str, os.PathLike)) else list(images)
    return [(os.path.splitext(os.path.basename(p))[0], cv2.imread(p, cv2.IMREAD_COLOR))
            for p in paths]


def analyse_backend(backend, images, index: int = 0,
                    resize: str = 'letterbox') -> rknn_analysis.LayerAnalysis:
    """
    Run the per-layer analysis of a simulator build on one validation image.

    resize: the model's (its card's ``input.resize``): the picture is made the NPU's input as
    the runtime makes it.
    """
    from ..preprocess import InputSpec, preprocess
    name, picture = _pictures(images)[index]
    height, width = backend.input_shape[1:3]
    spec = InputSpec(height=height, width=width, layout='nhwc', dtype='uint8', color='bgr',
                     resize=resize, pad_value=backend.pad_value,
                     interpolation=backend.interpolation)
    boxed = preprocess(picture, spec)[0][0]
    return rknn_analysis.analyse(backend.toolkit, boxed, name=name)


def check_rknn_file(path: str, backend, settings: Optional[Dict[str, object]]) -> dict:
    """Compare FILE with the simulated rebuild: header fields and bytes."""
    from ..backends.rknn_version import read_rknn_info
    mine = read_rknn_info(path)
    with tempfile.TemporaryDirectory(prefix='edge_perception-rebuild-') as folder:
        rebuilt_path = backend.export(os.path.join(folder, 'rebuilt.rknn'))
        rebuilt = read_rknn_info(rebuilt_path)
        a = np.fromfile(path, np.uint8)
        b = np.fromfile(rebuilt_path, np.uint8)
    fields = ('toolkit_version', 'target_platforms', 'input_shapes', 'output_shapes')
    header = {f: getattr(mine, f) == getattr(rebuilt, f) for f in fields}
    differing = int(np.count_nonzero(a != b)) if a.size == b.size else None
    share = differing / a.size if differing is not None else None
    same = all(header.values()) and differing is not None and differing <= SAME_BUILD_BYTES
    return {'simulated_file': False, 'why': SIMULATOR_REFUSES,
            'simulated_instead': 'a rebuild of the ONNX with '
                                 + ('the settings recorded in ' + os.path.basename(
                                     settings_path(path)) if settings else
                                    'the command-line settings (no recorded settings found)'),
            'settings_recorded': settings is not None,
            'header_equal': header, 'size_file': int(a.size), 'size_rebuild': int(b.size),
            'differing_bytes': differing, 'differing_share': share, 'same_build': same}


def describe_check(check: dict) -> List[str]:
    """Return the summary lines of a check_rknn_file result."""
    share = check['differing_share']
    lines = [f'  --rknn: {check["why"]}; simulated instead: {check["simulated_instead"]}.',
             '  FILE vs rebuild: header '
             + ('equal' if all(check['header_equal'].values()) else
                'DIFFERS in ' + ', '.join(k for k, v in check['header_equal'].items() if not v))
             + ', ' + (f'{check["differing_bytes"]} of {check["size_file"]} bytes differ '
                       f'({share:.4%}; two builds of one model differ in ~1200)'
                       if share is not None else
                       f'sizes differ ({check["size_file"]} vs {check["size_rebuild"]} bytes)')
             + ' -> ' + ('the same build' if check['same_build'] else
                         'NOT the same build: the numbers above describe the rebuild')]
    return lines


def layer_table(layers: Sequence[dict], count: int = 10) -> str:
    """Return the worst layers of a stored analysis (VerifyResult.layer_analysis)."""
    return rknn_analysis.markdown_table(rknn_analysis.LayerAnalysis.from_dict(layers), count)
