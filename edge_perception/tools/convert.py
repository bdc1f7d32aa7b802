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
``edge-perception convert``: an ONNX model -> the file a board's NPU runs, and its model card.

Rockchip (rk3588, rk3576, rk3568, rk3566, rk3562): rknn-toolkit2 builds the model here
(int8 calibrated on images letterboxed as the runtime does, or fp16) through the rknn_sim
backend, which also starts the simulator once (a dry run of the built model), then
``export_rknn`` writes ``<name>_<soc>.rknn``.

D-Robotics RDK X3, X5 and Ultra (rdk_x3, rdk_x5, rdk_ultra): the vendor toolchain from PyPI
(hb_mapper, in the rdk environment) checks and compiles the model here into a ``.bin`` and its
quantized ONNX (``rdk_convert``). RDK S100 (rdk_s100: nash-e, hb_compile) is built only inside
D-Robotics' OpenExplorer docker image, so for it this writes what that needs: the YAML config
(nv12 runtime input, rgb training input, data_scale 1/255) and the calibration tensors (raw
(1, 3, H, W) float32 RGB 0..255, letterboxed), and says how to run it.

Either way the model card next to the output (``<name>.yaml``) gets the new file under
``files:``, with ``{soc}`` in its name when the name follows the per-board convention.
"""

from dataclasses import asdict, dataclass, field
import os
import shutil
import tempfile
from typing import Dict, Optional

import yaml

from .calibration import calibration_images, write_rdk_calibration
from ..errors import ConfigError

RKNN_TARGETS = ('rk3588', 'rk3576', 'rk3568', 'rk3566', 'rk3562')
# target -> (SoC name in board profiles and {soc}, BPU march, compiler, model suffix)
RDK_TARGETS = {'rdk_x3': ('x3', 'bernoulli2', 'hb_mapper', '.bin'),
               'rdk_x5': ('x5', 'bayes-e', 'hb_mapper', '.bin'),
               'rdk_ultra': ('ultra', 'bayes', 'hb_mapper', '.bin'),
               'rdk_s100': ('s100', 'nash-e', 'hb_compile', '.hbm')}
TARGETS = RKNN_TARGETS + tuple(RDK_TARGETS)
ALGORITHMS = ('normal', 'mmse', 'kl_divergence')
# hb_mapper calibration_type for each --algorithm (it has no MMSE calibration).
RDK_CALIBRATION = {'normal': 'default', 'kl_divergence': 'kl'}
DATA_SCALE = 0.003921568627451      # 1/255, as rdk_model_zoo's configs write it


@dataclass
class ConvertResult:
    """What convert wrote and how long the build took."""

    model: str
    target: str
    dtype: str
    output: str                           # the .rknn file, or the RDK config
    card: str
    build_seconds: Optional[float] = None
    size_bytes: Optional[int] = None
    calibration_files: int = 0
    info: Dict[str, object] = field(default_factory=dict)
    next_step: str = ''

    def as_dict(self) -> dict:
        """Return the result as a JSON-ready dict."""
        return asdict(self)


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def default_output(model: str, target: str, dtype: str) -> str:
    """Return ``<name>_<soc>[_fp16].rknn`` (RDK: the ``<name>_<soc>_hb`` folder) by the ONNX."""
    folder, stem = os.path.dirname(os.path.abspath(model)), _stem(model)
    if target in RDK_TARGETS:
        return os.path.join(folder, f'{stem}_{RDK_TARGETS[target][0]}_hb')
    return os.path.join(folder, f'{stem}_{target}{"_fp16" if dtype == "fp16" else ""}.rknn')


def _card_reference(path: str, soc: str, card_dir: str) -> str:
    """Return the card's reference to ``path``: relative, the SoC replaced by ``{soc}``."""
    relative = os.path.relpath(os.path.abspath(path), card_dir)
    return relative.replace(f'_{soc}', '_{soc}')


def update_card(model: str, backend: str, reference: str, card_dir: str,
                metadata: Optional[Dict[str, str]] = None) -> str:
    """
    Add ``files: {backend: reference}`` to ``<card_dir>/<name>.yaml``; create it if needed.

    A new card also names the ONNX file (onnxruntime), and the classes and input size from
    the ONNX metadata, since the converted file carries neither.
    """
    from ..spec import parse_names
    card_path = os.path.join(card_dir, _stem(model) + '.yaml')
    card = {}
    if os.path.isfile(card_path):
        with open(card_path, encoding='utf-8') as f:
            card = yaml.safe_load(f) or {}
        if not isinstance(card, dict):
            raise ConfigError(f'{card_path} is not a model card (a YAML mapping)')
    else:
        card['name'] = _stem(model)
        card['files'] = {'onnxruntime': os.path.relpath(os.path.abspath(model), card_dir)}
        metadata = metadata or {}
        if metadata.get('names'):
            card['classes'] = list(parse_names(metadata['names']))
        if metadata.get('imgsz'):
            size = [int(v) for v in parse_names(metadata['imgsz'])]
            card['input'] = {'size': size}
    card.setdefault('files', {})[backend] = reference
    with open(card_path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(card, f, sort_keys=False)
    return card_path


def convert_rknn(model: str, target: str = 'rk3588', dtype: str = 'int8', calibration=None,
                 algorithm: str = 'normal', method: str = 'channel', hybrid=None,
                 output: Optional[str] = None, images=None) -> ConvertResult:
    """
    Build ``model`` with rknn-toolkit2 for ``target``, write the .rknn and the card.

    model: an ONNX file, or a model card whose input convention (mean/std, resize) is baked
    into the build and whose fields the written card keeps (tools/build_source.py).

    hybrid: None, 'auto' (float16 layers searched from the per-layer analysis, verified on
    ``images``, default the calibration images) or layer names (tools/rknn_build.py). The
    build settings are recorded beside the .rknn for ``verify --rknn``.
    """
    if hybrid == 'split':       # else taken for a tensor name, refused only after step 1
        raise ConfigError(f'--hybrid split is for RDK targets (rdk_x3, rdk_x5, rdk_ultra), not '
                          f'{target}: on RKNN the toolkit fuses the split convolutions back and '
                          'int8 gets worse (README, RKNN precision loss); use --hybrid auto')
    from . import rknn_build
    from .build_source import build_source, is_card, write_card
    from ..backends.rknn_version import read_rknn_info
    output = os.path.abspath(output or default_output(model, target, dtype))
    os.makedirs(os.path.dirname(output), exist_ok=True)
    images_loaded = calibration_images(calibration) if dtype == 'int8' else []
    scratch = None
    if hybrid == 'auto' and images is None:
        images, scratch = _validation_source(calibration)
    try:
        backend, extra = rknn_build.simulated_build(model, target, dtype, calibration,
                                                    algorithm, method, hybrid, images)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    try:
        backend.export(output)
        build_seconds, metadata = extra.get('build_seconds'), backend.metadata
    finally:
        backend.close()
    rknn_build.write_settings(output, {
        'model': os.path.abspath(model), 'target': target, 'dtype': dtype,
        'algorithm': algorithm, 'method': method, 'calibration': _recorded(calibration),
        'hybrid_layers': extra.get('hybrid_layers'), 'float16_share': extra.get('float16_share'),
        'int8_layers': extra.get('int8_layers'), 'hybrid_search': extra.get('hybrid_search')})
    images = images_loaded
    info = read_rknn_info(output)
    card_dir = os.path.dirname(output)
    reference = _card_reference(output, target, card_dir)
    if is_card(model):      # a card's fields (classes, input convention) go with the .rknn
        card = write_card(build_source(model), card_dir, 'rknn', reference)
    else:
        card = update_card(model, 'rknn', reference, card_dir, metadata)
    return ConvertResult(
        model=model, target=target, dtype=dtype, output=output, card=card,
        build_seconds=build_seconds, size_bytes=os.path.getsize(output),
        calibration_files=len(images),
        info={'toolkit_version': info.toolkit_version,
              'target_platforms': list(info.target_platforms),
              'input_shapes': [list(s) for s in info.input_shapes],
              'output_shapes': [list(s) for s in info.output_shapes],
              **{k: extra[k] for k in ('hybrid_layers', 'float16_share', 'int8_layers',
                                       'hybrid_search') if k in extra}},
        next_step=f'copy {os.path.basename(output)} and {os.path.basename(card)} to the board; '
                  f'check it with `edge-perception verify {model} --rknn {output}`')


def _recorded(calibration):
    """Return calibration as recorded for a rebuild: absolute paths, a set's name, or None."""
    from ..image_sets import NAMED_SETS
    if calibration is None:
        return None
    if isinstance(calibration, str) and calibration in NAMED_SETS and \
            not os.path.exists(calibration):
        return calibration
    if isinstance(calibration, (str, os.PathLike)):
        return os.path.abspath(calibration)
    paths = [os.path.abspath(c) for c in calibration if isinstance(c, (str, os.PathLike))]
    return paths if len(paths) == len(calibration) else None


def _validation_source(calibration):
    """Return (images, temporary folder or None) --hybrid auto verifies on: the calibration."""
    if isinstance(calibration, (str, os.PathLike)) and os.path.exists(calibration):
        return calibration, None
    import cv2
    folder = tempfile.mkdtemp(prefix='edge_perception-validation-')
    for i, image in enumerate(calibration_images(calibration)):
        cv2.imwrite(os.path.join(folder, f'image_{i:04d}.png'), image)
    return folder, folder


def rdk_config(model: str, target: str, calibration_dir: str, working_dir: str,
               prefix: str, algorithm: str = 'normal', method: str = 'channel') -> dict:
    """Return the hb_mapper / hb_compile YAML config (as a dict) for an ONNX YOLO model."""
    _, march, _, _ = RDK_TARGETS[target]
    return {
        'model_parameters': {
            'onnx_model': os.path.abspath(model),
            'march': march,
            'layer_out_dump': False,
            'working_dir': os.path.abspath(working_dir),
            'output_model_file_prefix': prefix,
        },
        'input_parameters': {
            'input_name': '',
            'input_type_rt': 'nv12',
            'input_type_train': 'rgb',
            'input_layout_train': 'NCHW',
            'norm_type': 'data_scale',
            'mean_value': '',
            'scale_value': DATA_SCALE,
        },
        'calibration_parameters': {
            'cal_data_dir': os.path.abspath(calibration_dir),
            'cal_data_type': 'float32',
            'calibration_type': RDK_CALIBRATION[algorithm],
            'per_channel': method == 'channel',
        },
        'compiler_parameters': {
            'compile_mode': 'latency',
            'debug': False,
            'optimize_level': 'O3',
        },
    }


def convert_rdk(model: str, target: str, calibration=None, algorithm: str = 'normal',
                method: str = 'channel', output: Optional[str] = None,
                dtype: str = 'int8') -> ConvertResult:
    """Write the RDK compiler config, calibration tensors and card; the compiler runs elsewhere."""
    from ..backends.rknn_sim_backend import _onnx_input
    if dtype != 'int8':
        raise ConfigError(f'{target}: the BPU runs int8 models only (dtype {dtype!r})')
    if algorithm not in RDK_CALIBRATION:
        raise ConfigError(f'{target}: the vendor compiler has no {algorithm!r} calibration; use '
                          f'{" or ".join(RDK_CALIBRATION)}')
    soc, _, compiler, suffix = RDK_TARGETS[target]
    folder = os.path.abspath(output or default_output(model, target, dtype))
    _, (height, width), metadata = _onnx_input(model)
    calibration_dir = os.path.join(folder, f'calibration_data_rgb_f32_{width}x{height}')
    files = write_rdk_calibration(calibration_images(calibration), calibration_dir, width,
                                  height)
    prefix = f'{_stem(model)}_{soc}'
    config = rdk_config(model, target, calibration_dir, folder, prefix, algorithm, method)
    config_path = os.path.join(folder, f'{prefix}_{compiler}.yaml')
    with open(config_path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(config, f, sort_keys=False)
    card_dir = os.path.dirname(folder)
    card = update_card(model, 'rdk', _card_reference(os.path.join(folder, prefix + suffix),
                                                     soc, card_dir), card_dir, metadata)
    if compiler == 'hb_mapper':
        command = f'hb_mapper makertbin --model-type onnx --config {config_path}'
    else:
        command = f'hb_compile --config {config_path}'
    return ConvertResult(
        model=model, target=target, dtype=dtype, output=config_path, card=card,
        calibration_files=len(files),
        next_step=(f"the D-Robotics compiler runs only inside the vendor's OpenExplorer docker "
                   f'image (not on this machine): mount {folder} and {os.path.abspath(model)} '
                   f'at the same paths and run `{command}`; it writes {prefix}{suffix} into '
                   f'{folder}, where the card {os.path.basename(card)} expects it'))


def convert(model: str, target: str, **kwargs) -> ConvertResult:
    """Convert ``model`` for ``target`` (a Rockchip SoC or an RDK board)."""
    target = str(target).lower()
    if target not in TARGETS:
        raise ConfigError(f'target {target!r}: use one of {", ".join(TARGETS)}')
    optimize = kwargs.pop('optimize', None)
    if target in RDK_TARGETS:
        from .build_source import is_card
        if is_card(model):
            raise ConfigError(f'{target}: give the ONNX file; model cards are built for the '
                              'Rockchip targets only (their mean/std/resize baked in)')
        hybrid = kwargs.pop('hybrid', None)
        images = kwargs.pop('images', None)     # validation images of --hybrid auto
        from . import rdk_convert, rdk_toolchain
        if target in rdk_toolchain.MARCHES:       # the PyPI toolchain builds these here
            if hybrid:                            # node-level int16 / CPU (rdk_hybrid)
                return rdk_convert.convert_rdk_hybrid(model, target, hybrid, images,
                                                      optimize=optimize or 'O0', **kwargs)
            return rdk_convert.convert_rdk_toolchain(model, target, optimize=optimize or 'O3',
                                                     **kwargs)
        if hybrid:
            raise ConfigError(f'--hybrid: {target} is built in the vendor docker, not here')
        if optimize:
            raise ConfigError(f'--optimize: {target} is built in the vendor docker, not here')
        return convert_rdk(model, target, **kwargs)
    if optimize:
        raise ConfigError('--optimize applies to the RDK targets only')
    return convert_rknn(model, target, **kwargs)
