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
What the real RDK runtimes do that the backend must make up for (contract tests).

The fakes model the behaviour read from the vendor artifacts (test_rdk_fakes_vs_vendor.py):
pyeasy_dnn's forward copies ``arr.size`` bytes from the array's data pointer whatever its
dtype, size or layout, rewrites RGB inputs in place and hands integer outputs back as
int32 / int16 / int8 only; hbm_runtime fails at import without its system libraries.
"""

import importlib

from edge_perception import load_model
from edge_perception.backends.rdk_backend import RdkBpuBackend
from edge_perception.errors import BackendUnavailableError, ModelLoadError
from edge_perception.preprocess import bgr_to_nv12, preprocess
import numpy as np
import pytest

from .test_rdk_backend import assert_one, CYAN, fake_model, fakes, frame  # noqa: F401

pytestmark = pytest.mark.contract
NV12_320 = 320 * 320 * 3 // 2


def _backend(tmp_path, **desc):
    fake_model(tmp_path, 'model.bin', **desc)
    return RdkBpuBackend(str(tmp_path / 'model.bin'))


def test_the_fake_forward_really_overruns_and_under_fills_unchecked_input(fakes,  # noqa: F811
                                                                          tmp_path):
    model = _backend(tmp_path)._model
    model.forward(np.full(NV12_320 + 1000, 7, np.uint8))
    model.forward(np.zeros(100, np.float32))            # cast to uint8, 100 bytes copied
    first, second = model._transfers
    assert (first['overrun'], first['underfill']) == (1000, 0)
    assert (second['copied'], second['underfill']) == (100, NV12_320 - 100)
    assert second['dtype'] == 'float32'
    assert (model._bpu[0][100:] == 7).all()            # the previous frame's bytes remain


@pytest.mark.parametrize('bad', [
    np.zeros(NV12_320 + 1, np.uint8), np.zeros(NV12_320 - 1, np.uint8),
    np.zeros(NV12_320, np.float32), np.zeros(NV12_320 // 4, np.float32),
    np.zeros(NV12_320 // 2, np.uint16), [0] * NV12_320])
def test_inputs_forward_would_mangle_are_refused_before_it_runs(fakes, tmp_path,  # noqa: F811
                                                                bad):
    backend = _backend(tmp_path)
    with pytest.raises(RuntimeError, match=r'must be a uint8 array of exactly 153600 bytes.*'
                                           r'does not check it'):
        backend.infer(bad)
    assert backend._model._transfers == []              # forward never saw it


def test_a_non_contiguous_input_reaches_the_bpu_in_its_logical_order(fakes,  # noqa: F811
                                                                     tmp_path):
    backend = _backend(tmp_path)
    image = frame(CYAN, box=(100, 60, 180, 200), size=(320, 320))
    nv12 = bgr_to_nv12(image)
    wide = np.zeros((nv12.size, 2), np.uint8)
    wide[:, 0] = nv12
    strided = wide[:, 0]                                 # every other byte: not contiguous
    assert not strided.flags.c_contiguous
    outputs = backend.infer(strided)
    (transfer,) = backend._model._transfers
    assert transfer['contiguous'] and transfer['overrun'] == transfer['underfill'] == 0
    assert np.array_equal(backend._model._bpu[0], nv12)
    direct = backend.infer(nv12)
    for a, b in zip(outputs, direct):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_an_rgb_model_gets_a_copy_because_forward_rewrites_it(fakes, tmp_path):  # noqa: F811
    backend = _backend(tmp_path, input_type='RGB')
    assert backend.input_color == 'rgb'
    tensor = np.arange(3 * 320 * 320, dtype=np.uint64).astype(np.uint8).reshape(1, 3, 320, 320)
    before = tensor.copy()
    backend.infer(tensor)
    np.testing.assert_array_equal(tensor, before)        # the caller's array is untouched
    (transfer,) = backend._model._transfers
    assert transfer['rewrote_caller']                    # ... forward did rewrite its copy
    np.testing.assert_array_equal(backend._model._bpu[0],
                                  np.maximum(before.reshape(-1).astype(int) - 128, 0))


@pytest.mark.parametrize('box_type', ['int16', 'int8'])
def test_int16_and_int8_outputs_decode_like_float(fakes, tmp_path, box_type):  # noqa: F811
    float_model = load_model(fake_model(tmp_path, 'model.bin'))
    (tmp_path / 'q').mkdir()
    q_model = load_model(fake_model(tmp_path / 'q', 'model.bin', box_type=box_type))
    image = frame(CYAN, box=(60, 100, 420, 380))
    tensor, _ = preprocess(image, q_model.input_spec)
    boxes = q_model.backend.infer(tensor)[1::2]
    assert all(b.data.dtype == np.dtype(box_type) and b.per_channel for b in boxes)
    a, b = float_model(image), q_model(image)
    assert list(a.class_id) == list(b.class_id) == [1]
    np.testing.assert_allclose(b.xyxy, a.xyxy, atol=2.0 if box_type == 'int8' else 0.1)


@pytest.mark.parametrize('box_type', ['uint8', 'uint16', 'float16', 'uint32'])
def test_outputs_pyeasy_dnn_would_reinterpret_are_refused_at_load(fakes, tmp_path,  # noqa: F811
                                                                  box_type):
    fake_model(tmp_path, 'model.bin', box_type=box_type)
    with pytest.raises(ModelLoadError, match=rf"output 'output1' .* is {box_type}; "
                                             r'hobot_dnn.pyeasy_dnn returns buffers as '
                                             r'float32 \(F32\), int32 \(S32\), int16 '):
        RdkBpuBackend(str(tmp_path / 'model.bin'))


def test_load_takes_a_list_and_returns_one_model_per_file(fakes, tmp_path):  # noqa: F811
    dnn = importlib.import_module('hobot_dnn.pyeasy_dnn')
    fake_model(tmp_path, 'a.bin')
    models = dnn.load([str(tmp_path / 'a.bin')] * 2)
    assert type(models) is list and len(models) == 2
    backend = RdkBpuBackend(str(tmp_path / 'a.bin'))
    assert type(backend._model).__name__ == 'Model'
    assert not hasattr(backend._model, 'close')         # nothing to release: we only drop it


def test_hbm_runtime_without_its_libraries_is_unavailable_in_one_line(fakes,  # noqa: F811
                                                                      tmp_path, monkeypatch):
    monkeypatch.setenv('FAKE_HBM_RUNTIME_LIBS', 'missing')
    monkeypatch.delenv('HBM_RUNTIME_SKIP_CHECK', raising=False)
    card = fake_model(tmp_path, 'model.hbm')
    with pytest.raises(BackendUnavailableError) as info:
        load_model(card)
    message = str(info.value)
    assert '\n' not in message
    assert 'hbm_runtime is installed but cannot load its system libraries' in message
    assert 'libdnn.so' in message and 'sudo apt-get install -y hobot-dnn' in message
    from edge_perception.backends.rdk_backend import hbm_runtime_problem
    assert hbm_runtime_problem() == message
    monkeypatch.delenv('FAKE_HBM_RUNTIME_LIBS')
    assert hbm_runtime_problem() is None
    assert_one(load_model(card)(frame()), 'white')


def test_doctor_says_an_installed_hbm_runtime_without_libraries_cannot_run(
        fakes, monkeypatch):  # noqa: F811
    from edge_perception import doctor
    monkeypatch.setenv('FAKE_HBM_RUNTIME_LIBS', 'missing')
    monkeypatch.delenv('HBM_RUNTIME_SKIP_CHECK', raising=False)
    checks = [c for c in doctor.check_backends('rdk_s100') if c.name == 'backend rdk']
    assert checks[0].level == doctor.FAIL
    assert 'cannot load its system libraries' in checks[0].message
    assert 'apt-get install -y hobot-dnn' in checks[0].fix
    monkeypatch.delenv('FAKE_HBM_RUNTIME_LIBS')
    checks = [c for c in doctor.check_backends('rdk_s100') if c.name == 'backend rdk']
    assert [c.level for c in checks] == [doctor.OK]
