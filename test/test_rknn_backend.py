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
Contract tests of the rknn backend against the REAL ``rknn_lite.py`` of rknn-toolkit-lite2 2.5.0.

The vendor's Python (``.vendor/rknn-toolkit-lite2/rknnlite``) does its own argument checks,
return codes, logging and core-mask handling; only its compiled helpers (``rknn_runtime``,
``rknn_log``, ``rknn_platform_utils``, ``npu_config.cpu_npu_mapper``) are the pure-Python
stand-ins of ``test/fakes/rknn_standin`` (see there what each does and where it comes from).
The board's /proc and /sys files and ``librknnrt.so`` are files in a temporary directory
(``test/rknn_board.py``). What these tests cannot show (real librknnrt and NPU behaviour,
speed, accuracy of a real .rknn on the NPU) is verified on boards only.
"""

import importlib.util
import os

from edge_perception import load_model
from edge_perception.backends import backend_class, rknn_backend, rknn_version
from edge_perception.backends.rknn_backend import RknnLiteBackend
from edge_perception.errors import BackendUnavailableError, ModelLoadError
import numpy as np
import pytest

from .rknn_board import forget_rknnlite, make_board, SIZE, write_rknn

__all__ = ['write_rknn']     # test_doctor imports it from here


@pytest.fixture
def board(tmp_path, monkeypatch):
    """Load the real rknnlite with the stand-in helpers on a simulated RK3588 (this test)."""
    forget_rknnlite()
    yield make_board(tmp_path, monkeypatch)
    forget_rknnlite()


def bgr_image(colour=(0, 0, 255), box=(200, 150, 320, 250), shape=(480, 640)):
    image = np.full(shape + (3,), 30, np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = colour
    return image


@pytest.mark.contract
def test_the_vendors_rknn_lite_runs_with_only_its_compiled_helpers_replaced(board):
    import rknnlite.api.rknn_lite as lite
    import rknnlite.api.rknn_runtime as runtime
    vendor = os.path.join('.vendor', 'rknn-toolkit-lite2', 'rknnlite', 'api')
    assert lite.__file__.endswith(os.path.join(vendor, 'rknn_lite.py'))
    assert lite.RKNNLite.NPU_CORE_0_1_2 == 7
    assert runtime.__file__.endswith(os.path.join('fakes', 'rknn_standin', 'runtime.py'))


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
        assert board.board.core_mask == 3          # what librknnrt was given


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
def test_outputs_of_one_frame_survive_the_next_inference(board):
    # RKNNLite's reuse_outputs=True returns buffers the next call overwrites.
    backend = RknnLiteBackend(board.model())
    try:
        bright = np.zeros((1, SIZE, SIZE, 3), np.uint8)
        bright[0, 100:200, 100:200, 2] = 255
        first = backend.infer(bright)
        kept = [o.copy() for o in first]
        backend.infer(np.zeros((1, SIZE, SIZE, 3), np.uint8))
        assert any(not np.array_equal(a, b) for a, b in zip(kept, backend.infer(bright * 0)))
        for out, copy in zip(first, kept):
            np.testing.assert_array_equal(out, copy)
    finally:
        backend.close()


@pytest.mark.contract
@pytest.mark.parametrize('mask', ['0', '1', '2', '0_1', '0_1_2', 'NPU_CORE_0_1_2'])
def test_core_mask_reaches_rknnlite_as_its_constant(board, mask):
    from rknnlite.api import RKNNLite
    backend = RknnLiteBackend(board.model(), core_mask=mask)
    try:
        constant = getattr(RKNNLite, rknn_backend.CORE_MASKS[backend.core_mask])
        assert ('set_core_mask', constant) in board.board.calls
        assert board.board.core_mask == constant
        assert backend.findings == [] and backend.notes == []
    finally:
        backend.close()


@pytest.mark.contract
def test_auto_and_all_on_rk3588(board):
    RknnLiteBackend(board.model(), core_mask='auto').close()
    assert board.board.core_mask is None       # NPU_CORE_AUTO: RKNNLite leaves librknnrt alone
    backend = RknnLiteBackend(board.model(), core_mask='all')
    backend.close()
    assert ('set_core_mask', 0xffff) in board.board.calls
    assert board.board.core_mask == 7          # RKNNLite: NPU_CORE_ALL is 0_1_2 on RK3588
    assert [n.level for n in backend.notes] == ['info']
    assert 'NPU_CORE_0_1_2' in backend.notes[0].what


@pytest.mark.contract
@pytest.mark.parametrize('mask,effective,warned', [
    ('2', 1, 'replaced with "NPU_CORE_0"'), ('0_1_2', 3, 'replaced with "NPU_CORE_0_1"'),
    ('all', 3, None), ('1', 2, None), ('0_1', 3, None)])
def test_rk3576_takes_every_mask_and_rknnlite_remaps_the_missing_core(board, mask, effective,
                                                                      warned):
    board.set_soc('rk3576')
    backend = RknnLiteBackend(board.model(platform='rk3576'), core_mask=mask)
    backend.close()
    assert board.board.core_mask == effective
    vendor_warnings = [w for w in board.board.said('W') if 'RK3576 platform' in w]
    if warned:
        assert len(vendor_warnings) == 1 and warned in vendor_warnings[0]
        assert [f.level for f in backend.findings] == ['warn']
        assert 'RKNNLite replaces NPU_CORE_' in backend.findings[0].what
    else:
        assert vendor_warnings == [] and backend.findings == []


@pytest.mark.contract
@pytest.mark.parametrize('soc,mask', [('rk3566', '0_1'), ('rk3568', '0'), ('rk3562', 'all')])
def test_core_mask_on_a_single_core_soc_is_refused_as_rknnlite_would(board, soc, mask):
    board.set_soc(soc)
    with pytest.raises(ValueError, match=f'{soc} has one NPU core'):
        RknnLiteBackend(board.model(platform=soc), core_mask=mask)
    assert board.board.count('RKNNRuntime') == 0


@pytest.mark.contract
def test_single_core_soc_runs_with_auto(board):
    board.set_soc('rk3568')
    backend = RknnLiteBackend(board.model(platform='rk3566'))   # RK3566 models run on RK3568
    backend.close()
    assert ('set_core_mask', 0) in board.board.calls


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
def test_load_rknn_failure_names_file_and_return_code(board, monkeypatch):
    path = board.model()
    read = rknn_version.read_rknn_info

    def read_then_vanish(p):        # the file goes away between our read and RKNNLite's
        info = read(p)
        os.remove(p)
        return info
    monkeypatch.setattr(rknn_version, 'read_rknn_info', read_then_vanish)
    with pytest.raises(ModelLoadError, match='returned -1') as exc:
        RknnLiteBackend(path)
    assert path in str(exc.value)
    assert any('Invalid RKNN model path' in m for m in board.board.said('E'))


@pytest.mark.contract
def test_init_failure_on_a_core_mask_the_runtime_refuses_names_the_fixes(board):
    board.set_soc('rk3566', compatible=False)   # no device tree: RKNNLite does not know the SoC
    path = board.model(platform='rk3566')
    with pytest.raises(BackendUnavailableError) as exc:
        RknnLiteBackend(path, core_mask='0_1')
    message = str(exc.value)
    for part in (path, 'returned -1', 'core mask', 'librknnrt', 'target_platform'):
        assert part in message
    assert any('The core_mask is only supported by' in m for m in board.board.said('E'))
    assert board.board.count('release') == 1


@pytest.mark.contract
def test_off_the_board_init_runtime_raises_and_the_error_says_why(tmp_path, monkeypatch):
    forget_rknnlite()
    harness = make_board(tmp_path, monkeypatch, machine='x86_64')
    try:
        with pytest.raises(BackendUnavailableError) as exc:
            RknnLiteBackend(harness.model())
        message = str(exc.value)
        assert 'RKNNLite.init_runtime' in message and 'AttributeError' in message
        assert 'runs only on the board' in message and 'x86_64' in message
        assert harness.board.count('RKNNRuntime') == 0
    finally:
        forget_rknnlite()


@pytest.mark.contract
def test_runtime_older_than_toolkit_stops_before_the_runtime(board):
    board.set_runtime('2.3.2')
    path = board.model(toolkit='2.5.0')
    with pytest.raises(BackendUnavailableError) as exc:
        RknnLiteBackend(path)
    message = str(exc.value)
    assert 'rknn-toolkit2 2.5.0' in message and 'older librknnrt 2.3.2' in message
    assert 'update librknnrt.so' in message
    assert board.board.count('RKNNRuntime') == 0
    # version_check='warn' lets the runtime try; librknnrt refuses the newer model.
    with pytest.raises(BackendUnavailableError, match='returned -1'):
        RknnLiteBackend(path, version_check='warn')
    assert any('Invalid RKNN model version 6' in m for m in board.board.said('E'))


@pytest.mark.contract
def test_runtime_newer_than_toolkit_runs_and_is_only_noted(board):
    board.set_runtime('2.5.0')
    backend = RknnLiteBackend(board.model(toolkit='2.3.2-source_code'))
    try:
        assert backend.findings == []
        assert [n.level for n in backend.notes] == ['info']
        assert 'librknnrt 2.5.0 is newer than rknn-toolkit2 2.3.2' in backend.notes[0].what
        assert 'note: librknnrt 2.5.0 is newer' in backend.describe()
    finally:
        backend.close()


@pytest.mark.contract
def test_model_for_another_soc_is_one_clear_error(board):
    board.set_soc('rk3566')
    with pytest.raises(BackendUnavailableError,
                       match="for rk3588 but this board is rk3566.*target_platform='rk3566'"):
        RknnLiteBackend(board.model(platform='rk3588'))
    with pytest.raises(BackendUnavailableError, match='returned -1'):
        RknnLiteBackend(board.model(platform='rk3588'), version_check='warn')
    assert any('RKNN_ERR_TARGET_PLATFORM_UNMATCH' in m for m in board.board.said('E'))


@pytest.mark.contract
def test_sdk_version_fills_what_the_files_hide(board):
    board.set_driver('0.9.8', readable=False)   # debugfs without root
    backend = RknnLiteBackend(board.model())
    try:
        assert backend.report.driver_version == '0.9.8'
        assert backend.report.driver_source == 'RKNNLite.get_sdk_version'
        assert backend.report.runtime_version == '2.5.0'
        assert backend.findings == [] and backend.notes == []
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
        with pytest.raises(RuntimeError, match='RKNNLite.inference returned None.*'
                           r'\(1, 300, 320, 3\) uint8, model input \(1, 320, 320, 3\)'):
            model.backend.infer(np.zeros((1, 300, SIZE, 3), np.uint8))
        assert 'Size of inputs[0] is invalid!' in board.board.said('E')
        with pytest.raises(RuntimeError, match='returned None'):
            model.backend.infer(np.zeros((1, SIZE, SIZE, 3), np.float64))
        assert 'Unsupport inputs[0].dtype: float64' in board.board.said('E')
        assert len(model(bgr_image())) == 1                # the runtime keeps serving
    with pytest.raises(BackendUnavailableError, match='zero image of shape \\(1, 256, 256, 3\\)'):
        RknnLiteBackend(board.model(), input_size=256)     # wrong size: inference gives None
    assert board.board.count('release') == 2


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
    assert (report.toolkit_version, report.model_platforms) == ('2.5.0', ('rk3588',))
    assert (report.runtime_version, report.driver_version, report.soc) == \
        ('2.5.0', '0.9.8', 'rk3588')
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
    assert 'rknn-toolkit2 2.3.0b0 but the board runs the older librknnrt 1.5.2' in errors[1]
    assert [f.level for f in report.findings][2] == 'ok'   # the driver rule is RK3588's
    patch = rknn_version.check_versions(board.model(platform='rk3576', toolkit='1.5.3'),
                                        paths=board.paths)
    assert [f.level for f in patch.findings][1] == 'error'   # 1.5.3 models need >= 1.5.3
    newer = rknn_version.check_versions(board.model(platform='rk3576', toolkit='1.5.2'),
                                        paths=board.paths, sdk_version=(
                                            'RKNN VERSION:\n  API: 2.3.2 (x)\n  DRV: 0.9.8'))
    assert newer.errors == []
    assert [f.level for f in newer.findings] == ['ok', 'info', 'ok']
    assert newer.notes[0].what.startswith('librknnrt 2.3.2 is newer than rknn-toolkit2 1.5.2')


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
def test_the_stand_in_sdk_text_is_what_parse_sdk_version_reads(board):
    from rknnlite.api import RKNNLite
    rknn = RKNNLite()
    assert rknn.get_sdk_version() is None        # the vendor's answer before init_runtime
    assert rknn.load_rknn(board.model()) == 0 and rknn.init_runtime() == 0
    assert rknn_version.parse_sdk_version(rknn.get_sdk_version()) == ('2.5.0', '0.9.8')
    rknn.release()


@pytest.mark.contract
def test_without_rknnlite_rknn_is_unavailable_with_the_fix(tmp_path):
    forget_rknnlite()
    if importlib.util.find_spec('rknnlite') is not None:
        pytest.fail('rknnlite is importable outside the stand-in fixture: this test needs an '
                    'environment without it')
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
