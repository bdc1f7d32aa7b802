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
The NPU stand-in (simulation): the demo model's real outputs replayed at a fixed latency.

The oracle is the real model through ONNX Runtime: the stand-in, with the package's own
pre-processing and decoding around it, must give the same detections on the recorded image.
Latency is checked only from below (a sleep never returns early); queueing on a shared core
through the peak number of calls inside it.
"""

import threading
import time

from edge_perception.backends import npu_standin_backend as standin
from edge_perception.model import load_model
from edge_perception.pool import WorkerPool
from edge_perception.samples import sample_images
import numpy as np
import pytest


@pytest.fixture(scope='module')
def recording(fall_model_card):
    image = dict(sample_images())['camera_rot90']
    return standin.record(fall_model_card, image), image


def test_the_stand_in_gives_the_real_models_detections(recording, fall_model_card):
    rec, image = recording
    with load_model(fall_model_card, backend='onnxruntime') as real:
        expected = real(image)
    model = standin.standin_model(rec, standin.SimulatedNpu(1, 1.0))
    got = model(image)
    assert expected.names == ['Fall'] and got.names == expected.names
    np.testing.assert_allclose(got.xyxy, expected.xyxy, atol=1e-3)
    np.testing.assert_allclose(got.confidence, expected.confidence, atol=1e-5)
    assert 'SIMULATION' in model.backend.describe() and model.backend.name == 'npu_standin'


def test_one_lock_per_core_contexts_on_one_core_queue(recording):
    rec, image = recording
    npu = standin.SimulatedNpu(2, 20.0)
    shared = [standin.standin_model(rec, npu, 0) for _ in range(2)]
    own = standin.standin_model(rec, npu, 1)
    calls = 4

    def run(model):
        for _ in range(calls):
            model(image)

    threads = [threading.Thread(target=run, args=(m,)) for m in shared + [own]]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    assert npu.calls == [2 * calls, calls]
    assert npu.peak == [1, 1]                       # never two calls inside one core
    assert elapsed >= 2 * calls * 0.020             # core 0 served its 8 calls one by one


def test_the_stand_in_checks_its_input_and_refuses_a_released_context(recording):
    rec, _ = recording
    backend = standin.NpuStandinBackend(rec, standin.SimulatedNpu(1, 0.0))
    with pytest.raises(ValueError, match='the model takes'):
        backend.infer(np.zeros((1, 3, 320, 320), np.float32))
    backend.close()
    with pytest.raises(RuntimeError, match='released'):
        backend.infer(np.zeros(rec.input_shape, np.float32))
    with pytest.raises(ValueError, match='simulated cores'):
        standin.NpuStandinBackend(rec, standin.SimulatedNpu(1, 0.0), core=1)


def test_a_pool_of_stand_in_contexts_serves_a_flood_in_order(recording):
    rec, image = recording
    npu = standin.SimulatedNpu(3, 5.0)
    models = [standin.standin_model(rec, npu, i) for i in range(3)]
    emitted, fates = [], []
    pool = WorkerPool(3, lambda model, item: model(image), contexts=models,
                      emit=lambda item, result: emitted.append((item, result.names)),
                      close=lambda model: model.close(), max_latency_ms=500,
                      inference_timeout_ms=5000,
                      reopen=lambda i, old: standin.standin_model(rec, npu, i),
                      on_settle=lambda item, fate, reason: fates.append(item))
    for item in range(400):
        pool.submit(item)
        time.sleep(0.0005)
    assert pool.wait_idle(20)
    pool.stop()
    items = [item for item, _ in emitted]
    assert items == sorted(items) and all(names == ['Fall'] for _, names in emitted)
    assert sorted(fates) == list(range(400))
    assert pool.published + pool.dropped + pool.bad == 400 and pool.bad == 0
    assert min(npu.calls) > 0 and all(m.backend is None for m in models)


def test_the_bench_pool_table_runs_the_stand_in_and_accounts_for_every_frame(recording):
    """`edge-perception bench --npu-ms`: correctness of its table, not its speed."""
    from edge_perception import bench
    rec, image = recording

    def make_models(n):
        npu = standin.SimulatedNpu(n, 5.0)
        return [standin.standin_model(rec, npu, i) for i in range(n)]

    rows = bench.pool_table(make_models, [image], (1, 2), seconds=0.5, runs=2, feed_fps=400.0,
                            npu_ms=5.0, draw=True)
    assert [r['workers'] for r in rows] == [1, 2] and all(len(r['runs']) == 2 for r in rows)
    assert all(r['ordered'] and r['accounted'] and r['frames'] > 0 for r in rows)
    assert [r['ideal'] for r in rows] == [200.0, 400.0]
    text = bench.format_pool_table(rows)
    assert '| of ideal |' in text and len(text.splitlines()) == 4
