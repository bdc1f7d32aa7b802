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
Hybrid builds give a clipped int8 Sigmoid input its calibrated range (real rknn-toolkit2).

rknn-toolkit2 2.5.0 quantises a Sigmoid's input over [-7, max] whatever range calibration
measured. With the Sigmoid in float16 that clip is the output's floor: every score below
sigmoid(-7) = 0.0009 becomes 0.0009 (the trained fall model's class maps live down there: its
logits calibrate to [-35.7, -2.0]). The model here is one convolution and a Sigmoid whose
logit is a ramp over [-20, 4] across grey ramp pictures; the oracle is ONNX Runtime fp32 on
the same pictures.
"""

from edge_perception.tools import rknn_hybrid
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import pytest

pytest.importorskip('rknn.api', reason='needs rknn-toolkit2: run in .venv-tools '
                                       '(bash scripts/setup_tools_env.sh)')

SIZE = 64
LOW, HIGH = -20.0, 4.0              # the logit's range over the pictures' brightness 0..1
FLOOR = 1 / (1 + np.exp(7.0))       # sigmoid(-7): the clip's score


def _write_ramp_model(path) -> str:
    """Conv 1x1 (logit = (HIGH - LOW) * mean(RGB) + LOW) then Sigmoid: output ``score``."""
    weight = np.full((1, 3, 1, 1), (HIGH - LOW) / 3, np.float32)
    graph = helper.make_graph(
        [helper.make_node('Conv', ['images', 'w', 'b'], ['logit'], kernel_shape=[1, 1]),
         helper.make_node('Sigmoid', ['logit'], ['score'])], 'ramp',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info('score', TensorProto.FLOAT, [1, 1, SIZE, SIZE])],
        [numpy_helper.from_array(weight, 'w'),
         numpy_helper.from_array(np.array([LOW], np.float32), 'b')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _ramps(count, seed):
    """Grey BGR pictures: brightness 0..255 left to right, a little noise."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, SIZE)[None, :, None]
    return [np.clip(ramp + rng.normal(0, 3, (SIZE, SIZE, 1)), 0, 255).repeat(3, 2)
            .astype(np.uint8) for _ in range(count)]


@pytest.fixture(scope='module')
def ramp(tmp_path_factory):
    """Yield the ramp model and one step-1 session of it (calibrated on 4 ramps)."""
    model = _write_ramp_model(tmp_path_factory.mktemp('ranges') / 'ramp.onnx')
    session = rknn_hybrid.HybridSession(model, 'rk3588', _ramps(4, 1))
    yield model, session
    session.close()


def _fp32(model, pictures, output='score'):
    """ONNX Runtime fp32: ``output`` (score, or the logit) for each picture."""
    import onnxruntime as ort
    proto = onnx.load(model)
    proto.graph.output.append(helper.make_tensor_value_info('logit', TensorProto.FLOAT, None))
    session = ort.InferenceSession(proto.SerializeToString(), providers=['CPUExecutionProvider'])
    return [session.run([output], {'images': (p.transpose(2, 0, 1)[None] / 255.0)
                                   .astype(np.float32)})[0] for p in pictures]


def _cfg_min(path, name):
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    return rknn_hybrid._value(lines, rknn_hybrid._entries(lines)[name], 'min')


def test_toolkit_clips_the_sigmoid_input_to_minus_7(ramp):
    """Step 1's cfg quantises the logit over [-7, ...]; fp32 saw about [-20, 4]."""
    model, session = ramp
    assert set(session.clipped) == {'logit'}, session.clipped
    assert _cfg_min(session.files['cfg'], 'logit') == -7.0
    logits = np.concatenate([t.ravel() for t in _fp32(model, _ramps(4, 1), 'logit')])
    assert logits.min() < -19.0 and logits.max() > 3.5
    assert session.clipped['logit'] == pytest.approx((logits.min(), logits.max()), abs=0.01)


def test_float16_sigmoid_gets_its_input_range_back(ramp):
    """
    The Sigmoid in float16: its int8 input's calibrated range is written back to the cfg.

    Built as step 1 wrote it, every score below sigmoid(-7) is sigmoid(-7); with the range
    restored the scores follow fp32 down to 1e-5 (logit -11.5).
    """
    model, session = ramp
    layers = ['score', 'score_int8']
    assert set(session.ranges_to_restore(layers)) == {'logit'}
    assert session.ranges_to_restore(['logit'] + layers) == {}      # float16 itself
    assert session.ranges_to_restore([]) == {}                      # int8 Sigmoid: as it was
    pictures = _ramps(2, 7)
    reference = np.concatenate([r.ravel() for r in _fp32(model, pictures)]).astype(np.float64)
    tail = (reference > 1e-5) & (reference < FLOOR / 2)          # logits -11.5 .. -7.7
    assert tail.mean() > 0.1
    errors, floor, written = {}, {}, {}
    for restore in (False, True):
        backend = session.backend(layers, restore=restore)
        try:
            written[restore] = (session.last_restored, _cfg_min(session.last_cfg, 'logit'))
            simulated = np.concatenate([backend.infer(p[None, :, :, ::-1].copy())[0].ravel()
                                        for p in pictures]).astype(np.float64)
        finally:
            backend.close()
        errors[restore] = np.abs(np.log(np.maximum(simulated[tail], 1e-12))
                                 - np.log(reference[tail]))
        floor[restore] = float(np.median(simulated[tail]))
    # measured: median log error 2.66 clipped (a factor 14), at most 0.05 restored
    assert floor[False] == pytest.approx(FLOOR, rel=0.05), floor
    assert np.median(errors[False]) > 1.0, np.median(errors[False])   # the floor
    assert np.max(errors[True]) < 0.2, np.max(errors[True])           # fp32's scores
    assert written == {False: ([], -7.0), True: (['logit'], session.clipped['logit'][0])}


@pytest.mark.parametrize('algorithm', ['kl_divergence', 'mmse'])
def test_kl_and_mmse_keep_the_toolkits_ranges(ramp, algorithm, monkeypatch):
    """Their step 2 refuses an edited range: nothing is restored, and the build works."""
    from edge_perception.errors import ModelLoadError
    session = rknn_hybrid.HybridSession(ramp[0], 'rk3588', _ramps(4, 1), algorithm=algorithm)
    try:
        layers = ['score', 'score_int8']
        assert set(session.clipped) == {'logit'}
        assert session.ranges_to_restore(layers) == {}
        session.backend(layers).close()
        assert session.last_restored == []
        monkeypatch.setattr(rknn_hybrid, 'NO_RANGE_EDITS', ())
        with pytest.raises(ModelLoadError, match='Not support modify quantize_parameters'):
            session.backend(layers)
    finally:
        session.close()
