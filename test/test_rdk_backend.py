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
Contract tests of the RDK BPU backend against fakes of the real vendor APIs (no hardware).

``test/fakes/hobot_dnn/pyeasy_dnn.py`` and ``test/fakes/hbm_runtime`` implement the call
conventions, attributes and failure modes of the real ``hobot_dnn.pyeasy_dnn`` (RDK
X3/X5/Ultra; read from its binary) and ``hbm_runtime`` (RDK S100; its type stub), and
test/test_rdk_fakes_vs_vendor.py holds them against those artifacts. Their "network" finds the
bright region of the NV12 Y plane, classifies it by its chroma and emits the RDK 6-output head
for it. These tests show the backend uses those APIs as the artifacts define them; they do not
show how a real board's BPU computes (that is verified on boards only).
"""

import importlib.util
import json
import os
import re
import shutil
import sys

import cv2
from edge_perception import load_model
from edge_perception.backends import runtime_available
from edge_perception.backends.rdk_backend import RdkBpuBackend
from edge_perception.errors import BackendUnavailableError, ModelLoadError
from edge_perception.preprocess import bgr_to_nv12, Nv12Frame, preprocess
from edge_perception.tensors import QuantizedTensor
import numpy as np
import pytest

pytestmark = pytest.mark.contract

FAKES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fakes')
FAKE_MODULES = ('hobot_dnn', 'hobot_dnn.pyeasy_dnn', 'hbm_runtime', '_rdk_fake_bpu')
WHITE, CYAN = (255, 255, 255), (255, 255, 128)      # BGR; cyan has U well above V
BOX = (200, 150, 300, 250)                           # source pixels of a 640x480 frame


def _forget_fakes():
    for name in FAKE_MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def fakes(monkeypatch):
    """Put the fake vendor packages on sys.path for one test (and forget them afterwards)."""
    _forget_fakes()
    monkeypatch.syspath_prepend(FAKES)
    yield
    _forget_fakes()


@pytest.fixture
def only_hbm_runtime(monkeypatch, tmp_path):
    """Only hbm_runtime importable (an RDK S100 image)."""
    root = tmp_path / 'site'
    shutil.copytree(os.path.join(FAKES, 'hbm_runtime'), root / 'hbm_runtime')
    shutil.copy(os.path.join(FAKES, '_rdk_fake_bpu.py'), root)
    _forget_fakes()
    monkeypatch.syspath_prepend(str(root))
    yield
    _forget_fakes()


def fake_model(tmp_path, name='model.bin', **desc) -> str:
    """Write a fake model file (JSON the fakes read) and a card next to it; return the card."""
    desc = dict({'fake_bpu': 1, 'input': [320, 320], 'classes': 2}, **desc)
    (tmp_path / name).write_text(json.dumps(desc))
    card = tmp_path / (name + '.yaml')
    card.write_text(f'name: fake_rdk\ntask: detect\nfiles: {{rdk: {name}}}\n'
                    'classes: [white, cyan]\ninput: {pad_value: 127}\n'
                    'thresholds: {confidence: 0.25, nms: 0.45}\n')
    return str(card)


def frame(color=WHITE, box=BOX, size=(480, 640)) -> np.ndarray:
    image = np.full(size + (3,), 30, np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = color
    return image


def assert_one(detections, name, box=BOX, atol=1.0):
    assert len(detections) == 1, detections
    assert detections.names == [name]
    assert detections.confidence[0] == pytest.approx(0.9, abs=1e-3)
    np.testing.assert_allclose(detections.xyxy[0], box, atol=atol)


RUNTIMES = [('model.bin', {}, 'pyeasy_dnn'),
            ('model.hbm', {}, 'hbm_runtime'),
            ('model.hbm', {'nv12_inputs': 'packed'}, 'hbm_runtime')]


@pytest.mark.parametrize('file, desc, runtime', RUNTIMES)
@pytest.mark.parametrize('color, name', [(WHITE, 'white'), (CYAN, 'cyan')])
def test_detections_end_to_end_through_load_model(fakes, tmp_path, file, desc, runtime, color,
                                                  name):
    model = load_model(fake_model(tmp_path, file, **desc),
                       backend_options={'runtime': runtime})
    assert model.backend.name == 'rdk' and model.backend.runtime == runtime
    assert_one(model(frame(color)), name)


def test_auto_selects_rdk_and_the_runtime_by_file(fakes, tmp_path):
    assert runtime_available('rdk')
    with load_model(fake_model(tmp_path, 'a.bin')) as model:
        assert (model.backend.name, model.backend.runtime) == ('rdk', 'pyeasy_dnn')
    with load_model(fake_model(tmp_path, 'b.hbm')) as model:
        assert (model.backend.name, model.backend.runtime) == ('rdk', 'hbm_runtime')


def test_a_bin_never_goes_to_hbm_runtime_which_loads_hbm_only(only_hbm_runtime, tmp_path):
    fake_model(tmp_path, 'model.bin', nv12_inputs='packed')
    path = str(tmp_path / 'model.bin')
    with pytest.raises(BackendUnavailableError, match=r'needs hobot_dnn\.pyeasy_dnn for '
                                                      r'.*model\.bin'):
        RdkBpuBackend(path)
    with pytest.raises(ValueError, match=r'hbm_runtime loads \.hbm files only'):
        RdkBpuBackend(path, runtime='hbm_runtime')
    import hbm_runtime
    with pytest.raises(RuntimeError, match=r'Only \.hbm supported'):      # what it would say
        hbm_runtime.HB_HBMRuntime(path)
    with load_model(fake_model(tmp_path, 'model.hbm', nv12_inputs='packed')) as model:
        assert model.backend.runtime == 'hbm_runtime'
        assert_one(model(frame(CYAN)), 'cyan')


@pytest.mark.parametrize('file', ['model.bin', 'model.hbm'])
def test_properties_are_read_into_the_backend_and_the_input_spec(fakes, tmp_path, file):
    model = load_model(fake_model(tmp_path, file, input=[256, 384], int32_boxes=True))
    backend = model.backend
    assert backend.input_shape == (1, 3, 256, 384)
    assert (backend.input_dtype, backend.input_color, backend.vendor) == ('uint8', 'nv12', 'rdk')
    assert backend.output_shapes == [(1, 32, 48, 2), (1, 32, 48, 64), (1, 16, 24, 2),
                                     (1, 16, 24, 64), (1, 8, 12, 2), (1, 8, 12, 64)]
    spec = model.input_spec
    assert (spec.height, spec.width, spec.color, spec.dtype, spec.pad_value) == \
        (256, 384, 'nv12', 'uint8', 127)
    assert model.binding.layout.name == 'rdk'
    assert 'nv12' in model.describe() and 'bpu_core auto' in backend.describe()


def test_the_fake_declares_what_a_real_bin_declares(fakes, tmp_path):
    """
    Hold the fake's tensor properties against those of a real .bin built here.

    The .bin: hb_mapper 1.24.3 for RDK X5, recorded by ``python -m
    test.rdk_tools.make_bin_info`` in test/data/rdk_square_x5_bin_info.json, held true by
    test/rdk_tools. The fake pyeasy_dnn of the same size declares the same, and the backend
    reads them into the same input spec and output shapes.
    """
    with open(os.path.join(os.path.dirname(FAKES), 'data', 'rdk_square_x5_bin_info.json'),
              encoding='utf-8') as f:
        real = json.load(f)
    (real_input,) = real['inputs']
    card = fake_model(tmp_path, 'model.bin', input=real_input['shape'][2:], classes=2)
    from hobot_dnn import pyeasy_dnn
    (fake,) = pyeasy_dnn.load(str(tmp_path / 'model.bin'))
    (fake_input,) = fake.inputs
    props = fake_input.properties
    assert (props.tensor_type, props.layout, list(props.shape)) == \
        (real_input['tensor_type'], real_input['layout'], real_input['shape'])
    assert [(o.properties.tensor_type, o.properties.layout, list(o.properties.shape))
            for o in fake.outputs] == \
        [(o['dtype'], o['layout'], o['shape']) for o in real['outputs']]
    with load_model(card) as model:
        assert model.backend.input_shape == tuple(real_input['shape'])
        assert model.backend.output_shapes == [tuple(o['shape']) for o in real['outputs']]
        assert model.input_spec.color == 'nv12' and model.binding.layout.name == 'rdk'
        outputs = model.backend.infer(np.zeros(320 * 320 * 3 // 2, np.uint8))
        assert all(isinstance(o, np.ndarray) and o.dtype == np.float32 for o in outputs)


@pytest.mark.parametrize('file', ['model.bin', 'model.hbm'])
def test_int32_boxes_with_scale_data_decode_like_float(fakes, tmp_path, file):
    float_model = load_model(fake_model(tmp_path, file))
    (tmp_path / 'q').mkdir()
    int_model = load_model(fake_model(tmp_path / 'q', file, int32_boxes=True))
    image = frame(CYAN, box=(60, 100, 420, 380))
    tensor, _ = preprocess(image, int_model.input_spec)
    outputs = int_model.backend.infer(tensor)
    boxes = outputs[1::2]
    assert all(isinstance(b, QuantizedTensor) and b.per_channel and b.axis == 3
               and b.data.dtype == np.int32 and np.size(b.scale) == 64 for b in boxes)
    assert all(isinstance(c, np.ndarray) and c.dtype == np.float32 for c in outputs[0::2])
    a, b = float_model(image), int_model(image)
    assert len(a) == len(b) == 1 and list(a.class_id) == list(b.class_id) == [1]
    np.testing.assert_allclose(b.xyxy, a.xyxy, atol=0.05)
    np.testing.assert_allclose(b.confidence, a.confidence, atol=1e-4)


class ForwardSpy:
    """Record what the backend hands the vendor call (wraps the fake's real method)."""

    def __init__(self, monkeypatch, runtime):
        self.calls = []
        if runtime == 'pyeasy_dnn':
            cls = sys.modules['hobot_dnn.pyeasy_dnn'].Model
            method = 'forward'
        else:
            cls = sys.modules['hbm_runtime'].HB_HBMRuntime
            method = 'run'
        original = getattr(cls, method)

        def spy(obj, inputs, **kwargs):
            self.calls.append((inputs, kwargs))
            return original(obj, inputs, **kwargs)

        monkeypatch.setattr(cls, method, spy)

    def arrays(self):
        inputs = self.calls[-1][0]
        if isinstance(inputs, np.ndarray):
            return [inputs]
        return [a for feeds in inputs.values() for a in feeds.values()]


@pytest.mark.parametrize('file', ['model.bin', 'model.hbm'])
def test_an_nv12_frame_of_the_input_size_reaches_the_runtime_unconverted(fakes, tmp_path,
                                                                         monkeypatch, file):
    model = load_model(fake_model(tmp_path, file))
    spy = ForwardSpy(monkeypatch, model.backend.runtime)
    calls = []
    real_cvt = cv2.cvtColor
    monkeypatch.setattr(cv2, 'cvtColor', lambda *a, **k: calls.append(a[1]) or real_cvt(*a, **k))
    nv12 = bgr_to_nv12(frame(WHITE, box=(100, 60, 180, 200), size=(320, 320)))
    calls.clear()
    detections = model(Nv12Frame(nv12.reshape(480, 320), 320, 320))
    assert calls == []                                     # no colour conversion at all
    assert all(np.shares_memory(a, nv12) for a in spy.arrays())   # and no copy
    assert_one(detections, 'white', (100, 60, 180, 200))


@pytest.mark.parametrize('file', ['model.bin', 'model.hbm'])
def test_bgr_and_other_sized_nv12_frames_are_converted_and_map_back(fakes, tmp_path,
                                                                    monkeypatch, file):
    model = load_model(fake_model(tmp_path, file))
    spy = ForwardSpy(monkeypatch, model.backend.runtime)
    image = frame(CYAN)
    assert_one(model(image), 'cyan')
    assert not any(np.shares_memory(a, image) for a in spy.arrays())
    nv12 = Nv12Frame(bgr_to_nv12(image), 640, 480)
    assert_one(model(nv12), 'cyan')
    assert not any(np.shares_memory(a, nv12.data) for a in spy.arrays())


def test_pyeasy_dnn_core_and_priority_reach_forward(fakes, tmp_path, monkeypatch):
    card = fake_model(tmp_path, 'model.bin', bpu_cores=2)
    model = load_model(card, backend_options={'bpu_core': 1, 'priority': 200})
    spy = ForwardSpy(monkeypatch, 'pyeasy_dnn')
    model(frame())
    assert spy.calls[-1][1] == {'core_id': 2, 'priority': 200}
    auto = load_model(card, backend_options={'bpu_core': 'auto'})
    auto(frame())
    assert spy.calls[-1][1] == {}


def test_hbm_runtime_core_selection_sets_the_scheduling_params(fakes, tmp_path):
    model = load_model(fake_model(tmp_path, 'model.hbm', bpu_cores=2),
                       backend_options={'bpu_core': 1, 'priority': 9})
    params = model.backend._runtime.sched_params[model.backend._model_name]
    assert (params.bpu_cores, params.priority) == ([1], 9)
    assert_one(model(frame()), 'white')


@pytest.mark.parametrize('file, core, match', [
    ('model.bin', 2, 'BPU core 0 or 1'), ('model.bin', 'two', 'BPU core 0 or 1'),
    ('model.hbm', 4, 'indices 0..3'), ('model.hbm', True, 'indices 0..3')])
def test_invalid_bpu_cores_are_rejected_with_the_reason(fakes, tmp_path, file, core, match):
    card = fake_model(tmp_path, file)
    with pytest.raises(ValueError, match=match):
        load_model(card, backend_options={'bpu_core': core})


def test_a_core_the_s100_lacks_fails_run_with_a_clear_message(fakes, tmp_path):
    model = load_model(fake_model(tmp_path, 'model.hbm', bpu_cores=1),
                       backend_options={'bpu_core': 3})
    with pytest.raises(RuntimeError, match=r'hbm_runtime run failed on .*model\.hbm '
                                           r'\(bpu_core 3\).*hbUCPSubmitTask failed.*BPU core '
                                           'the board lacks'):
        model(frame())


@pytest.mark.parametrize('core', ['auto', -1, '-1'])
def test_auto_never_hands_hbm_runtime_core_minus_one(fakes, tmp_path, monkeypatch, core):
    import hbm_runtime
    fake_model(tmp_path, 'probe.hbm')
    runtime = hbm_runtime.HB_HBMRuntime(str(tmp_path / 'probe.hbm'))
    with pytest.raises(RuntimeError, match=r'Invalid BPU core ID .*-1 \(valid range: \[0, 3\]'):
        runtime.set_scheduling_params(bpu_cores={runtime.model_names[0]: [-1]})
    calls = []
    monkeypatch.setattr(hbm_runtime.HB_HBMRuntime, 'set_scheduling_params',
                        lambda self, **kw: calls.append(kw))
    model = load_model(fake_model(tmp_path, 'model.hbm'), backend_options={'bpu_core': core})
    assert calls == [] and model.backend.bpu_core is None
    assert_one(model(frame()), 'white')


def test_a_core_the_x3_lacks_fails_forward_with_a_clear_message(fakes, tmp_path):
    model = load_model(fake_model(tmp_path, 'model.bin', bpu_cores=1),
                       backend_options={'bpu_core': 1})
    with pytest.raises(RuntimeError, match=r'forward failed on .*model\.bin \(bpu_core 1\): '
                                           r'RuntimeError: forward execution failed\..*BPU '
                                           'core the board lacks'):
        model(frame())


def test_unknown_options_and_bad_values_name_what_is_wrong(fakes, tmp_path):
    path = str(tmp_path / 'model.bin')
    fake_model(tmp_path, 'model.bin')
    with pytest.raises(ValueError, match=r"no options \['core_mask', 'fps'\]"):
        RdkBpuBackend(path, core_mask=1, fps=3)
    with pytest.raises(ValueError, match="runtime 'tensorrt' is not one of auto, pyeasy_dnn"):
        RdkBpuBackend(path, runtime='tensorrt')
    with pytest.raises(ValueError, match='priority 300 must be an integer 0..255'):
        RdkBpuBackend(path, priority=300)
    with pytest.raises(ValueError, match='threads -1'):
        RdkBpuBackend(path, threads=-1)
    cpu = min(os.sched_getaffinity(0))
    backend = RdkBpuBackend(path, threads=4, cpu_affinity=[cpu])     # threads: ignored
    assert backend.runtime == 'pyeasy_dnn'


@pytest.mark.parametrize('runtime, vendor_name, file', [
    ('pyeasy_dnn', 'hobot_dnn.pyeasy_dnn', 'broken.bin'), ('hbm_runtime', 'hbm_runtime',
                                                           'broken.hbm')])
def test_a_file_the_runtime_cannot_load_is_a_model_load_error(fakes, tmp_path, runtime,
                                                              vendor_name, file):
    path = tmp_path / file
    path.write_bytes(b'\x00not a model')
    with pytest.raises(ModelLoadError, match=f'{vendor_name} cannot load .*{file}.*'
                                             'OpenExplorer toolchain'):
        RdkBpuBackend(str(path), runtime=runtime)
    with pytest.raises(ModelLoadError, match='does not exist'):
        RdkBpuBackend(str(tmp_path / ('missing' + file[6:])), runtime=runtime)


@pytest.mark.parametrize('returned', [[], None])
def test_load_returning_no_model_is_a_model_load_error(fakes, tmp_path, monkeypatch, returned):
    fake_model(tmp_path, 'model.bin')
    import hobot_dnn.pyeasy_dnn as dnn
    monkeypatch.setattr(dnn, 'load', lambda path, **kw: returned)
    with pytest.raises(ModelLoadError, match=re.escape(f'returned {returned!r}, no model')):
        RdkBpuBackend(str(tmp_path / 'model.bin'))


def test_a_non_image_input_is_a_model_load_error(fakes, tmp_path):
    fake_model(tmp_path, 'model.bin', input_type='F32')
    with pytest.raises(ModelLoadError, match='tensor_type F32 is not an image input'):
        RdkBpuBackend(str(tmp_path / 'model.bin'))


@pytest.mark.parametrize('file', ['model.bin', 'model.hbm'])
def test_forward_failures_are_runtime_errors_saying_why(fakes, tmp_path, file):
    backend = load_model(fake_model(tmp_path, file)).backend
    with pytest.raises(RuntimeError, match='exactly 153600 bytes|does not fit'):
        backend.infer(np.zeros(100, np.uint8))
    backend.close()
    with pytest.raises(RuntimeError, match='closed'):
        backend.infer(np.zeros(320 * 480, np.uint8))


def test_without_a_vendor_runtime_backend_rdk_is_unavailable(tmp_path):
    if importlib.util.find_spec('hobot_dnn') or importlib.util.find_spec('hbm_runtime'):
        pytest.skip('a real RDK runtime is installed here')
    _forget_fakes()
    card = fake_model(tmp_path, 'model.bin')
    with pytest.raises(BackendUnavailableError) as info:
        load_model(card, backend='rdk')
    message = str(info.value)
    assert "'hobot_dnn' or 'hbm_runtime'" in message and 'RDK system image' in message
    with pytest.raises(BackendUnavailableError, match='no runtime for this model'):
        load_model(card)
    with pytest.raises(BackendUnavailableError, match=r'needs hobot_dnn\.pyeasy_dnn for'):
        RdkBpuBackend(str(tmp_path / 'model.bin'))
