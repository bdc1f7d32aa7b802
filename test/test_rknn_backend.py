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
Contract tests of the rknn backend against a fake of the documented RKNNLite API (not hardware).

``test/fakes/rknnlite`` implements RKNN-Toolkit Lite2's ``RKNNLite`` as documented (constants,
0/-1 return codes, outputs or None); it is put on ``sys.path`` only inside these tests, by the
``board`` fixture. The board's /proc and /sys files are fakes in a temporary directory. What
these tests cannot show (real librknnrt behaviour, NPU speed, accuracy of a real .rknn) is
verified on boards only.
"""

import importlib.util
import json
import os
import struct
import sys
import textwrap

from edge_perception import load_model
from edge_perception.backends import backend_class, rknn_version
from edge_perception.backends.rknn_backend import RknnLiteBackend
from edge_perception.errors import BackendUnavailableError, ModelLoadError
import numpy as np
import pytest

FAKES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fakes')
SIZE = 320


def write_rknn(path, platform='rk3588', toolkit='2.3.2-source_code', size=SIZE, num_classes=3,
               score_sum=True, with_json=True):
    """Write a file in the .rknn container format (header, model blob, JSON) for the fake."""
    tensors = [(1, 3, size, size)]
    for stride in (8, 16, 32):
        g = size // stride
        tensors += [(1, 64, g, g), (1, num_classes, g, g)] + ([(1, 1, g, g)] if score_sum else [])
    meta = {'target_platform': [platform], 'version': toolkit, 'input_num': 1,
            'output_num': len(tensors) - 1,
            'norm_tensor': [{'tensor_id': i, 'size': list(s), 'dim_num': len(s)}
                            for i, s in enumerate(tensors)],
            'graph': [{'left': 'input' if i == 0 else 'output',
                       'left_tensor_id': 0 if i == 0 else i - 1,
                       'right': 'norm_tensor', 'right_tensor_id': i}
                      for i in range(len(tensors))]}
    blob = bytes(256)
    header = b'RKNN' + bytes(4) + struct.pack('<QQ', 6, len(blob)) + bytes(40)
    text = json.dumps(meta).encode() if with_json else b''
    with open(path, 'wb') as f:
        f.write(header + blob + struct.pack('<Q', len(text)) + text)
    return str(path)


class Harness:
    """The fake board (its switches and call log) and its /proc, /sys and library files."""

    def __init__(self, board, root):
        self.board, self.root = board, root
        sysroot = root / 'sys'
        sysroot.mkdir()
        self.paths = rknn_version.SystemPaths(
            compatible=str(sysroot / 'compatible'),
            driver_version=(str(sysroot / 'rknpu_version'),),
            runtime_library=(str(sysroot / 'librknnrt.so'),))
        self.set_soc('rk3588')
        self.set_driver('0.9.8')
        self.set_runtime('2.3.2')

    def set_soc(self, soc, compatible=True):
        """Make the board this SoC; compatible=False hides it from the device tree."""
        self.board.soc = soc
        path = self.paths.compatible
        if compatible:
            with open(path, 'wb') as f:
                f.write(f'vendor,{soc}-board\0rockchip,{soc}\0'.encode())
        elif os.path.exists(path):
            os.remove(path)

    def set_driver(self, version, readable=True):
        """Set the NPU driver version; readable=False removes the debugfs file (no root)."""
        self.board.driver_version = version
        path = self.paths.driver_version[0]
        if readable:
            with open(path, 'w') as f:
                f.write(f'RKNPU driver: v{version}\n')
        elif os.path.exists(path):
            os.remove(path)

    def set_runtime(self, version):
        """Install a librknnrt of this version (its .so file and the runtime's API answer)."""
        self.board.runtime_version = f'{version} (429f97ae6b@2025-04-09T09:09:27)'
        with open(self.paths.runtime_library[0], 'wb') as f:
            f.write(b'\x7fELF' + bytes(100) + f'librknnrt version: {version} '
                    '(429f97ae6b@2025-04-09T09:09:27)\0'.encode() + bytes(100))

    def model(self, name='model.rknn', **kwargs):
        return write_rknn(self.root / name, **kwargs)

    def card(self, files=None, **kwargs):
        self.model(**kwargs)
        files = files or {'onnxruntime': 'missing.onnx', 'rknn': 'model.rknn'}
        path = self.root / 'card.yaml'
        path.write_text(textwrap.dedent(f"""
            name: fake_rknn
            classes: [red, green, blue]
            files: {json.dumps(files)}
            """))
        return str(path)


def _drop_rknnlite():
    for name in [m for m in sys.modules if m == 'rknnlite' or m.startswith('rknnlite.')]:
        del sys.modules[name]


@pytest.fixture
def board(tmp_path, monkeypatch):
    """Put the fake rknnlite on sys.path (this test only) and fake the board's files."""
    _drop_rknnlite()
    monkeypatch.syspath_prepend(FAKES)
    from rknnlite import _fake_board
    harness = Harness(_fake_board.BOARD, tmp_path)
    monkeypatch.setattr(rknn_version, 'DEFAULT_PATHS', harness.paths)
    yield harness
    _drop_rknnlite()


def bgr_image(colour=(0, 0, 255), box=(200, 150, 320, 250), shape=(480, 640)):
    image = np.full(shape + (3,), 30, np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = colour
    return image


@pytest.mark.contract
def test_auto_chooses_rknn_when_rknnlite_is_importable(board):
    with load_model(board.card()) as model:
        assert model.backend.name == 'rknn'
        spec = model.input_spec
        assert (spec.layout, spec.dtype, spec.height, spec.width) == ('nhwc', 'uint8', SIZE, SIZE)
        assert model.backend.input_shape == (1, SIZE, SIZE, 3)
        assert len(model.backend.output_shapes) == 9
        assert model.binding.layout.name == 'rknn'
        assert 'core_mask auto' in model.backend.describe()
    with load_model(board.card(), backend_options={'core_mask': '0_1'}) as model:
        assert model.backend.core_mask == '0_1'
        assert ('init_runtime', 3) in board.board.calls


@pytest.mark.contract
@pytest.mark.parametrize('score_sum', [True, False], ids=['9-outputs', '6-outputs'])
@pytest.mark.parametrize('colour,name', [((0, 0, 255), 'red'), ((0, 255, 0), 'green')])
def test_detections_through_the_model(board, score_sum, colour, name):
    with load_model(board.card(score_sum=score_sum)) as model:
        detections = model(bgr_image(colour))
        outputs = model.backend.infer(np.zeros((1, SIZE, SIZE, 3), np.uint8))
    assert len(outputs) == (9 if score_sum else 6)
    assert all(o.dtype == np.float32 for o in outputs)   # the Lite2 API returns floats only
    assert len(detections) == 1
    assert detections.names == [name]
    assert detections.confidence[0] == pytest.approx(0.9, abs=0.01)
    np.testing.assert_allclose(detections.xyxy[0], [200, 150, 320, 250], atol=2.5)


@pytest.mark.contract
@pytest.mark.parametrize('mask,constant', [
    ('auto', 0), ('0', 1), ('1', 2), ('2', 4), ('0_1', 3), ('0_1_2', 7), ('all', 0xffff),
    ('NPU_CORE_0_1_2', 7)])
def test_core_mask_maps_to_rknnlite_constants(board, mask, constant):
    backend = RknnLiteBackend(board.model(), core_mask=mask)
    try:
        assert ('init_runtime', constant) in board.board.calls
    finally:
        backend.close()


@pytest.mark.contract
@pytest.mark.parametrize('soc,mask,reason', [
    ('rk3566', '0_1', 'rk3566 has one NPU core'),
    ('rk3568', '0', 'rk3568 has one NPU core'),
    ('rk3562', 'all', 'rk3562 has one NPU core'),
    ('rk3576', '2', 'rk3576 has 2 NPU cores'),
    ('rk3576', '0_1_2', 'rk3576 has 2 NPU cores')])
def test_core_mask_the_soc_lacks_is_rejected(board, soc, mask, reason):
    board.set_soc(soc)
    with pytest.raises(ValueError, match=reason):
        RknnLiteBackend(board.model(platform=soc), core_mask=mask)
    assert board.board.count('load_rknn') == 0


@pytest.mark.contract
def test_single_core_soc_runs_with_auto(board):
    board.set_soc('rk3568')
    backend = RknnLiteBackend(board.model(platform='rk3566'))   # RK3566 models run on RK3568
    backend.close()
    assert ('init_runtime', 0) in board.board.calls


@pytest.mark.contract
def test_bad_options_are_rejected_with_the_reason(board):
    path = board.model()
    with pytest.raises(ValueError, match="no options \\['fp16'\\]"):
        RknnLiteBackend(path, fp16=True)
    with pytest.raises(ValueError, match='no thread setting'):
        RknnLiteBackend(path, threads=4)
    with pytest.raises(ValueError, match="core_mask 'npu3'"):
        RknnLiteBackend(path, core_mask='npu3')
    RknnLiteBackend(path, threads=1).close()


@pytest.mark.contract
def test_load_failure_names_file_and_return_code(board):
    board.board.fail_load = True
    path = board.model()
    with pytest.raises(ModelLoadError, match='returned -1') as exc:
        RknnLiteBackend(path)
    assert path in str(exc.value)


@pytest.mark.contract
def test_init_failure_on_a_bad_core_mask_names_the_fixes(board):
    board.set_soc('rk3566', compatible=False)   # SoC unknown to the check: the runtime decides
    path = board.model(platform='rk3566')
    with pytest.raises(BackendUnavailableError) as exc:
        RknnLiteBackend(path, core_mask='0_1')
    message = str(exc.value)
    for part in (path, 'returned -1', 'core mask', 'librknnrt', 'rknn_server',
                 'target_platform'):
        assert part in message
    assert board.board.count('release') == 1


@pytest.mark.contract
def test_runtime_older_than_toolkit_stops_before_the_runtime(board):
    board.set_runtime('1.6.0')
    path = board.model(toolkit='2.3.2-source_code')
    with pytest.raises(BackendUnavailableError) as exc:
        RknnLiteBackend(path)
    message = str(exc.value)
    assert 'rknn-toolkit2 2.3.2' in message and 'librknnrt 1.6.0' in message
    assert 'update librknnrt.so' in message
    assert board.board.count('load_rknn') == 0
    # version_check='warn' lets the runtime try; the fake refuses like librknnrt does.
    with pytest.raises(BackendUnavailableError, match='returned -1'):
        RknnLiteBackend(path, version_check='warn')


@pytest.mark.contract
def test_model_for_another_soc_is_one_clear_error(board):
    board.set_soc('rk3566')
    with pytest.raises(BackendUnavailableError,
                       match="for rk3588 but this board is rk3566.*target_platform='rk3566'"):
        RknnLiteBackend(board.model(platform='rk3588'))


@pytest.mark.contract
def test_sdk_version_fills_what_the_files_hide(board):
    board.set_driver('0.9.8', readable=False)   # debugfs without root
    backend = RknnLiteBackend(board.model())
    try:
        assert backend.report.driver_version == '0.9.8'
        assert backend.report.driver_source == 'RKNNLite.get_sdk_version'
        assert backend.report.runtime_version == '2.3.2'
        assert backend.findings == []
    finally:
        backend.close()


@pytest.mark.contract
def test_old_driver_with_multi_core_mask_fails_after_get_sdk_version(board):
    board.set_driver('0.8.2', readable=False)
    with pytest.raises(BackendUnavailableError, match='needs NPU driver >= 0.9; this board has '
                       '0.8.2'):
        RknnLiteBackend(board.model(), core_mask='0_1_2')
    assert board.board.count('release') == 1
    RknnLiteBackend(board.model(), core_mask='1').close()
    backend = RknnLiteBackend(board.model(), core_mask='0_1_2', version_check='warn')
    backend.close()
    assert [f.level for f in backend.findings] == ['warn']
    assert 'needs NPU driver >= 0.9' in backend.findings[0].what


@pytest.mark.contract
def test_warnings_are_kept_on_the_backend(board):
    board.set_soc('rk3588', compatible=False)
    backend = RknnLiteBackend(board.model())
    try:
        assert [f.level for f in backend.findings] == ['warn']
        assert 'SoC is unknown' in backend.findings[0].what
    finally:
        backend.close()


@pytest.mark.contract
def test_inference_returning_none_is_a_clear_error(board):
    with load_model(board.card()) as model:
        board.board.inference_returns_none = True
        with pytest.raises(RuntimeError, match='RKNNLite.inference returned None'):
            model(bgr_image())
    board.board.inference_returns_none = True
    with pytest.raises(BackendUnavailableError, match='zero image of shape \\(1, 320, 320, 3\\)'):
        RknnLiteBackend(board.model())


@pytest.mark.contract
def test_close_releases_once(board):
    model = load_model(board.card())
    backend = model.backend
    model.close()
    model.close()
    backend.close()
    assert board.board.count('release') == 1
    with pytest.raises(RuntimeError, match='closed'):
        backend.infer(np.zeros((1, SIZE, SIZE, 3), np.uint8))


@pytest.mark.contract
def test_input_size_when_the_file_does_not_record_it(board):
    path = board.model(with_json=False)
    with pytest.raises(ModelLoadError, match='input_size'):
        RknnLiteBackend(path, version_check='warn')
    with pytest.raises(ModelLoadError, match='not an RKNN model'):
        RknnLiteBackend(str(board.root / 'sys' / 'compatible'))


@pytest.mark.contract
def test_version_report_for_a_matching_board(board):
    report = rknn_version.check_versions(board.model(), '0_1_2', paths=board.paths)
    assert (report.toolkit_version, report.model_platforms) == ('2.3.2-source_code', ('rk3588',))
    assert (report.runtime_version, report.driver_version, report.soc) == \
        ('2.3.2', '0.9.8', 'rk3588')
    assert [f.level for f in report.findings] == ['ok', 'ok', 'ok']
    assert report.error_message() == ''


@pytest.mark.contract
def test_version_report_for_mismatches(board):
    board.set_soc('rk3576')
    board.set_runtime('1.5.2')
    board.set_driver('0.8.2')
    report = rknn_version.check_versions(board.model(toolkit='2.3.0b0+1234'), 'all',
                                         paths=board.paths)
    errors = [f.what for f in report.errors]
    assert len(errors) == 2
    assert 'built for rk3588 but this board is rk3576' in errors[0]
    assert 'rknn-toolkit2 2.3.0b0 but the board runs librknnrt 1.5.2' in errors[1]
    assert [f.level for f in report.findings][2] == 'ok'   # the driver rule is RK3588's
    newer = rknn_version.check_versions(board.model(platform='rk3576', toolkit='1.5.2'),
                                        paths=board.paths, sdk_version=(
                                            'RKNN VERSION:\n  API: 2.3.2 (x)\n  DRV: 0.9.8'))
    assert 'rebuild the model with rknn-toolkit2 2.3.x' in newer.errors[0].fix


@pytest.mark.contract
def test_version_report_when_nothing_is_readable(tmp_path):
    model = write_rknn(tmp_path / 'm.rknn')
    paths = rknn_version.SystemPaths(compatible=str(tmp_path / 'none'),
                                     driver_version=(str(tmp_path / 'none'),),
                                     runtime_library=(str(tmp_path / 'none.so'),))
    report = rknn_version.check_versions(model, '0_1_2', paths=paths)
    assert [f.level for f in report.findings] == ['warn', 'warn', 'warn']
    assert 'needs driver >= 0.9' not in report.findings[2].what   # SoC unknown: no RK3588 rule
    assert report.error_message() == ''


@pytest.mark.contract
@pytest.mark.parametrize('text,soc', [
    (b'radxa,rock-5b\0rockchip,rk3588\0', 'rk3588'),
    (b'rockchip,rk3588s-orangepi-5\0rockchip,rk3588\0', 'rk3588'),
    (b'friendlyelec,nanopi-r6s\0rockchip,rk3588s\0', 'rk3588'),
    (b'rockchip,rk3566-evb\0rockchip,rk3566\0', 'rk3566'),
    (b'radxa,rock-4d\0rockchip,rk3576\0', 'rk3576'),
    (b'raspberrypi,5-model-b\0brcm,bcm2712\0', None)])
def test_detect_soc_from_device_tree(tmp_path, text, soc):
    path = tmp_path / 'compatible'
    path.write_bytes(text)
    assert rknn_version.detect_soc(str(path)) == soc
    assert rknn_version.detect_soc(str(tmp_path / 'missing')) is None


@pytest.mark.contract
def test_parse_sdk_version_documented_formats():
    lite = ('==============================================\nRKNN VERSION:\n'
            '  API: 1.5.2 (71720f3fc@2023-08-21T09:29:52)\n  DRV: 0.7.2\n'
            '==============================================')
    assert rknn_version.parse_sdk_version(lite) == ('1.5.2', '0.7.2')
    server = ('RKNN VERSION:\n   API: 1.5.2 (8babfea build@2023-08-25T02:31:12)\n'
              '   DRV: rknn_server: 1.5.2 (8babfea build@2023-08-25T10:30:12)\n'
              '   DRV: rknnrt: 1.5.3b13 (42cbca6f5@2023-10-27T10:13:21)')
    assert rknn_version.parse_sdk_version(server) == ('1.5.3b13', None)
    assert rknn_version.parse_sdk_version(None) == (None, None)


@pytest.mark.contract
def test_without_the_fake_rknn_is_unavailable_with_the_fix(tmp_path):
    _drop_rknnlite()
    if importlib.util.find_spec('rknnlite') is not None:
        pytest.skip('a real rknnlite is installed here')
    with pytest.raises(BackendUnavailableError, match="'rknnlite'") as exc:
        backend_class('rknn')
    assert 'pip install the rknn_toolkit_lite2 wheel' in str(exc.value)
    model = write_rknn(tmp_path / 'model.rknn')
    with pytest.raises(BackendUnavailableError, match='rknnlite.*Fix: on the board, pip install'):
        RknnLiteBackend(model)
    card = tmp_path / 'card.yaml'
    card.write_text('name: x\nclasses: [a, b, c]\nfiles: {rknn: model.rknn}\n')
    with pytest.raises(BackendUnavailableError, match='rknnlite'):
        load_model(str(card))
