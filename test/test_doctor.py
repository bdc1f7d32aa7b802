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
"""``edge-perception doctor`` here (no NPU) and on simulated boards (fake /proc and /sys)."""

import subprocess
import sys

from edge_perception import doctor
from edge_perception.backends.rknn_version import SystemPaths
import pytest


def levels(checks, name):
    return [c.level for c in checks if c.name == name]


def test_this_machine_says_plainly_there_is_no_npu_and_the_cpu_default_is_used(tmp_path):
    checks = doctor.run(compatible=str(tmp_path / 'no-device-tree'))
    text = doctor.report(checks)
    assert 'no NPU present: the CPU default (onnxruntime) will be used' in text
    assert levels(checks, 'backend onnxruntime') == [doctor.OK]
    assert levels(checks, 'backend rknn') == [doctor.INFO]      # not needed on a PC
    assert text.splitlines()[-1] == 'verdict: ready'


def test_an_rk3588_without_rknnlite_fails_with_the_fix(tmp_path):
    compatible = tmp_path / 'compatible'
    compatible.write_bytes(b'radxa,rock-5b\0rockchip,rk3588\0')
    checks = doctor.run(compatible=str(compatible))
    (rknn,) = [c for c in checks if c.name == 'backend rknn']
    assert rknn.level == doctor.FAIL and 'rknn_toolkit_lite2' in rknn.fix
    assert 'problem(s) to fix' in doctor.report(checks)
    assert any(c.name == 'board' and 'rk3588' in c.message for c in checks)


def test_npu_driver_and_runtime_versions_are_read_when_present(tmp_path):
    version = tmp_path / 'version'
    version.write_text('RKNPU driver: v0.9.6\n')
    library = tmp_path / 'librknnrt.so'
    library.write_bytes(b'\0ELF...librknnrt version: 2.3.2 (429f97ae6b@2025-04-09T09:09:27)\0')
    paths = SystemPaths(driver_version=(str(version),), runtime_library=(str(library),))
    driver, runtime = doctor.check_npu('rk3588', paths)
    assert driver.level == doctor.OK and '0.9.6' in driver.message
    assert runtime.level == doctor.OK and '2.3.2' in runtime.message
    absent = SystemPaths(driver_version=(str(tmp_path / 'none'),),
                         runtime_library=(str(tmp_path / 'none.so'),))
    driver, runtime = doctor.check_npu('rk3588', absent)
    assert driver.level == doctor.WARN and 'root' in driver.fix
    assert runtime.level == doctor.FAIL and 'librknnrt' in runtime.fix
    (bpu,) = doctor.check_npu('rdk_x5', bpu_devices=(str(version),))
    assert bpu.level == doctor.OK


def test_a_model_that_cannot_load_is_a_failure_naming_the_file(tmp_path):
    (check,) = doctor.check_model(str(tmp_path / 'absent.onnx'))
    assert check.level == doctor.FAIL and 'absent.onnx' in check.message


@pytest.mark.parametrize('args,code', [(['doctor'], 0),
                                       (['doctor', '--model', '/nonexistent/m.onnx'], 1)])
def test_cli_exit_code(args, code):
    result = subprocess.run([sys.executable, '-m', 'edge_perception.cli'] + args,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == code, result.stdout + result.stderr
    assert 'verdict:' in result.stdout


def test_an_rknn_model_shows_its_toolkit_and_target_even_without_the_runtime(tmp_path):
    from .test_rknn_backend import write_rknn
    path = str(tmp_path / 'yolo.rknn')
    write_rknn(path, platform='rk3576', toolkit='2.3.2')
    checks = doctor.check_model(path)
    info = next(c for c in checks if c.name == 'rknn file')
    assert '2.3.2' in info.message and 'rk3576' in info.message
    (failure,) = [c for c in checks if c.name == 'model']
    assert failure.level == doctor.FAIL and 'rknnlite' in failure.message


def test_on_an_rknn_board_a_newer_librknnrt_is_a_note_not_a_warning(tmp_path, monkeypatch):
    from .rknn_board import forget_rknnlite, make_board
    forget_rknnlite()
    try:
        board = make_board(tmp_path, monkeypatch)     # real rknn_lite.py, stand-in runtime
        board.set_runtime('2.6.1')
        checks = doctor.check_model(board.model(toolkit='2.5.0'), backend='rknn')
    finally:
        forget_rknnlite()
    assert levels(checks, 'model') == [doctor.OK]
    assert levels(checks, 'model runtime') == [doctor.INFO]
    (note,) = [c for c in checks if c.name == 'model runtime']
    assert 'librknnrt 2.6.1 is newer than rknn-toolkit2 2.5.0' in note.message
    assert 'built by rknn-toolkit2 2.5.0 for rk3588' in next(
        c.message for c in checks if c.name == 'rknn file')


def test_the_decoder_kernels_are_reported_with_the_fix_when_missing(monkeypatch):
    from edge_perception import native
    assert levels(doctor.check_kernels(), 'decoder kernels') == [doctor.OK]
    monkeypatch.setattr(native, 'KERNELS', None)
    monkeypatch.setenv('EDGE_PERCEPTION_NATIVE', '0')
    assert levels(doctor.check_kernels(), 'decoder kernels') == [doctor.INFO]
    monkeypatch.delenv('EDGE_PERCEPTION_NATIVE')
    import edge_perception
    monkeypatch.delattr(edge_perception, '_native', raising=False)
    monkeypatch.setitem(sys.modules, 'edge_perception._native', None)   # import fails
    (check,) = doctor.check_kernels()
    assert check.level == doctor.WARN and 'not built' in check.message
    assert 'python3-dev' in check.fix
