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
``edge-perception convert --target rdk_x3|rdk_x5|rdk_ultra``: ONNX -> RDK ``.bin`` on this PC.

Runs the D-Robotics toolchain from PyPI (see ``rdk_toolchain``) the way its documentation
does: ``hb_mapper checker`` (the model's operators on the BPU march), then ``hb_mapper
makertbin`` with the YAML config (NV12 runtime input, RGB training input, scale 1/255) and a
calibration set made by ``rdk_calibration`` (letterboxed and converted to NV12 exactly as the
runtime feeds the BPU). The folder ``<name>_<soc>_hb`` keeps the config, the calibration
tensors, the tools' logs, the ``.bin`` and the quantized ONNX (``*_quantized_model.onnx``, what
the rdk_sim backend and ``verify`` run). The model card gains ``files: {rdk: ...bin,
rdk_sim: ..._quantized_model.onnx}``, each only once its file exists.

Without the toolchain in this environment, the config and the calibration are still written
and the card is left alone; the message says how to build the ``.bin``.
"""

import os
import time
from typing import Optional

import yaml

from . import rdk_toolchain
from .calibration import calibration_images
from .rdk_calibration import write_calibration
from ..errors import ConfigError
from ..yuv_range import MAPPER_SPACE_AND_RANGE, YUV_RANGES


def _card_input(model: str, card_dir: str) -> dict:
    """Return the ``input:`` of the model's card (``<name>.yaml`` beside the output), if any."""
    stem = os.path.splitext(os.path.basename(model))[0]
    for folder in (card_dir, os.path.dirname(os.path.abspath(model))):
        path = os.path.join(folder, stem + '.yaml')
        if os.path.isfile(path):
            with open(path, encoding='utf-8') as f:
                card = yaml.safe_load(f) or {}
            value = card.get('input') if isinstance(card, dict) else None
            return value if isinstance(value, dict) else {}
    return {}


def _record_yuv_range(card: str, yuv_range: str) -> None:
    """Write ``input.yuv_range`` into the card: the NV12 range the .bin decodes."""
    with open(card, encoding='utf-8') as f:
        text = f.read()
    data = yaml.safe_load(text) or {}
    section = data.get('input') if isinstance(data.get('input'), dict) else {}
    if section.get('yuv_range') == yuv_range:
        return
    section['yuv_range'] = yuv_range
    data['input'] = section
    with open(card, 'w', encoding='utf-8') as f:
        yaml.safe_dump(data, f, sort_keys=False)


def convert_rdk_toolchain(model: str, target: str, calibration=None, algorithm: str = 'normal',
                          method: str = 'channel', output: Optional[str] = None,
                          dtype: str = 'int8', optimize: str = 'O3', yuv_range: str = 'full',
                          node_precision: Optional[dict] = None,
                          optimization: Optional[str] = None):
    """
    Build ``model`` into an RDK .bin with hb_mapper for ``target``; update the card.

    yuv_range: the NV12 range the .bin decodes (``full``: hb_mapper's default
    ``input_space_and_range: regular``; ``video``: ``bt601_video``, for a camera that delivers
    video range); calibration is converted in it and the card records it (``input.yuv_range``).
    node_precision: {node name: 'int16' | 'cpu'} (``rdk_hybrid``): the mapper's node-level
    settings (``model_parameters.node_info``).
    optimization: hb_mapper's ``calibration_parameters.optimization`` as it takes it (e.g.
    ``bias_correction``, ``set_all_nodes_int16``; ``;``-separated); None: not set.
    """
    from .convert import (_card_reference, _stem, ConvertResult, default_output,
                          RDK_CALIBRATION, RDK_TARGETS, rdk_config, update_card)
    from ..backends.rknn_sim_backend import _onnx_input
    if target not in rdk_toolchain.MARCHES:
        raise ConfigError(f'{target}: the PyPI toolchain builds for '
                          f'{", ".join(rdk_toolchain.MARCHES)} only')
    if dtype != 'int8':
        raise ConfigError(f'{target}: the BPU runs int8 models only (dtype {dtype!r})')
    if algorithm not in RDK_CALIBRATION:
        raise ConfigError(f'{target}: the vendor compiler has no {algorithm!r} calibration; use '
                          f'{" or ".join(RDK_CALIBRATION)}')
    if yuv_range not in YUV_RANGES:
        raise ConfigError(f'yuv_range {yuv_range!r}: use one of {", ".join(YUV_RANGES)}')
    if optimize not in rdk_toolchain.OPTIMIZE_LEVELS:
        raise ConfigError(f'optimize {optimize!r}: use one of '
                          f'{", ".join(rdk_toolchain.OPTIMIZE_LEVELS)}')
    opset = rdk_toolchain.onnx_opset(model)
    if opset > rdk_toolchain.MAX_OPSET:
        raise ConfigError(f'{model} has opset {opset}; hb_mapper takes opset <= '
                          f'{rdk_toolchain.MAX_OPSET}. Fix: export it again with --opset 11 '
                          '(`edge-perception export --layout rdk` does by default)')
    soc, march, _, suffix = RDK_TARGETS[target]
    folder = os.path.abspath(output or default_output(model, target, dtype))
    card_dir = os.path.dirname(folder)
    _, (height, width), metadata = _onnx_input(model)
    convention = _card_input(model, card_dir)
    pad_value = int(convention.get('pad_value', 114))
    interpolation = str(convention.get('interpolation', 'linear'))
    calibration_dir = os.path.join(folder, 'calibration_data_rgb_f32')
    files = write_calibration(calibration_images(calibration), calibration_dir, width, height,
                              pad_value, interpolation, yuv_range)
    prefix = f'{_stem(model)}_{soc}'
    config = rdk_config(model, target, calibration_dir, folder, prefix, algorithm, method)
    config['compiler_parameters']['optimize_level'] = optimize
    config['input_parameters']['input_space_and_range'] = MAPPER_SPACE_AND_RANGE[yuv_range]
    if optimization:
        config['calibration_parameters']['optimization'] = str(optimization)
    if node_precision:
        from .rdk_hybrid import node_info
        config['model_parameters']['node_info'] = node_info(node_precision)
    config_path = os.path.join(folder, f'{prefix}_hb_mapper.yaml')
    with open(config_path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(config, f, sort_keys=False)
    command = f'hb_mapper makertbin --model-type onnx --config {config_path}'
    result = ConvertResult(model=model, target=target, dtype=dtype, output=config_path, card='',
                           calibration_files=len(files),
                           info={'march': march, 'optimize': optimize, 'config': config_path,
                                 'calibration_type': RDK_CALIBRATION[algorithm],
                                 'per_channel': method == 'channel',
                                 'pad_value': pad_value, 'yuv_range': yuv_range,
                                 'node_precision': dict(node_precision or {}),
                                 'optimization': optimization})
    if not rdk_toolchain.available():
        result.next_step = (f'the D-Robotics toolchain is not installed here, so only the '
                            f'config and calibration were written to {folder} and the card is '
                            f'unchanged. To build the .bin: {rdk_toolchain.INSTALL_FIX} '
                            f'convert again, or run `{command}`')
        return result
    started = time.perf_counter()
    checker_seconds = rdk_toolchain.check_model(model, march, folder)
    makertbin_seconds = rdk_toolchain.makertbin(config_path, folder)
    binary = os.path.join(folder, prefix + suffix)
    quantized = os.path.join(folder, f'{prefix}_quantized_model.onnx')
    missing = [p for p in (binary, quantized) if not os.path.isfile(p)]
    if missing:
        raise ConfigError(f'hb_mapper makertbin finished but did not write {missing[0]} '
                          f'(log: {os.path.join(folder, "hb_mapper_makertbin.log")})')
    card = update_card(model, 'rdk', _card_reference(binary, soc, card_dir), card_dir, metadata)
    card = update_card(model, 'rdk_sim', os.path.relpath(quantized, card_dir), card_dir)
    _record_yuv_range(card, yuv_range)
    from ..backends.rdk_sim_io import read_bin
    info = read_bin(binary)
    result.output, result.card = binary, card
    result.build_seconds = time.perf_counter() - started
    result.size_bytes = os.path.getsize(binary)
    result.info.update(
        quantized_onnx=quantized, checker_seconds=round(checker_seconds, 2),
        makertbin_seconds=round(makertbin_seconds, 2), versions=info['versions'],
        input=info['inputs'][0], outputs=[{k: o[k] for k in ('name', 'dtype', 'shape')}
                                          for o in info['outputs']])
    result.next_step = (f'copy {os.path.basename(binary)} and {os.path.basename(card)} to the '
                        f'board; see its detections here first with load_model(card, '
                        f"backend='rdk_sim'), and check it with `edge-perception verify "
                        f'{model} --target {target} --bin {binary} --images DIR`')
    return result


def convert_rdk_hybrid(model: str, target: str, hybrid, images=None, calibration=None,
                       output: Optional[str] = None, optimize: str = 'O0',
                       yuv_range: str = 'full', algorithm: str = 'normal',
                       method: str = 'channel', **options):
    """
    ``convert --target rdk_x5 --hybrid auto|split|NODE[:int16|int16_in|cpu],...`` (``rdk_hybrid``).

    images: what auto verifies each build on (default: the calibration images). algorithm,
    method: the calibration of every build (as ``convert_rdk_toolchain``). The builds go to
    ``<output>/step<i>``; the card names the kept one; ``info`` holds the search.
    """
    from .convert import default_output
    from .rdk_hybrid import hybrid_build
    if options.get('dtype', 'int8') != 'int8':
        raise ConfigError(f'{target}: the BPU runs int8 models (with int16 nodes) only')
    if images is None and calibration is None:
        raise ConfigError(f'--hybrid {hybrid} on RDK verifies each build: give --calib or '
                          '--images')
    folder = os.path.abspath(output or default_output(model, target, 'int8'))
    result, _ = hybrid_build(model, target, calibration, images or calibration, hybrid, folder,
                             optimize=optimize, yuv_range=yuv_range, algorithm=algorithm,
                             method=method)
    return result
