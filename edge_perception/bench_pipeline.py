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
End-to-end pipeline benchmark through real rclpy / DDS, with the NPU stand-in (SIMULATION).

A camera publishes stamped bgr8 frames; the detector node runs on the NPU stand-in (the demo
model's real outputs replayed at a fixed latency per call, one simulated core per worker, an
NPU-style uint8 NHWC input: no float normalisation, as RKNN takes it); a sink receives the
Detection2DArray and takes the latency from the header stamp (camera stamp to reception, one
system clock). A relay (subscribe the image, republish an empty Detection2DArray with its
header) measured the same way, in the same run, is the DDS floor. The detector (or relay) runs
in the bench process on an executor of its own (``inprocess``) or as its own process
(``processes``: ``python -m edge_perception.bench_pipeline serve ...``).

Each target is measured twice per run: under load (the camera offers more than the pool can
serve: frames/s) and paced (a camera rate no target falls behind on: latency without queueing;
``overhead`` = p50 - NPU time, ``ours`` = overhead - the relay's p50). Runs interleave the
targets; each figure is the median over runs.
"""

import argparse
import array
import dataclasses
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

RELAY = 'relay'
MODES = ('inprocess', 'processes')
SIZES = ((640, 480), (1280, 720))
NPU_MS = (13.6, 7.0)
DISCOVERY_TIMEOUT = 30.0
SETTLE = 0.4                    # seconds to wait for the last answers after the camera stops


# -- the recording the stand-in replays --------------------------------------------------------
def bench_image(width: int, height: int) -> np.ndarray:
    """Return the camera's picture: a sample (a person lying) resized to width x height."""
    import cv2
    from .samples import sample_images
    return cv2.resize(dict(sample_images())['camera_rot90'], (width, height))


def npu_recording(card: str, image: np.ndarray):
    """
    Record ``card`` once (ONNX Runtime) on ``image``; give it an NPU's input: uint8 NHWC.

    The outputs are those of the very frame the camera sends, so the detections the node
    publishes are the real model's on that frame (RKNN takes uint8 NHWC with the mean / std
    inside the model: no float normalisation; the letterbox geometry is the same).
    """
    from .backends.npu_standin_backend import record
    rec = record(card, image)
    shape = rec.input_shape
    h, w = (shape[2], shape[3]) if shape[1] in (1, 3) else (shape[1], shape[2])
    return dataclasses.replace(rec, input_shape=(1, h, w, 3), input_dtype='uint8',
                               source=rec.source + ', NPU input uint8 NHWC')


def standin_factory(recording, npu_ms: float, workers: int, cores: int = 0):
    """
    Return model_factory(index) for PerceptionNode: one simulated core per worker.

    cores: simulated NPU cores (0: one per worker); workers share them round-robin, so two
    workers on one core pipeline: one pre-processes / decodes while the other's call runs.
    """
    from .backends.npu_standin_backend import SimulatedNpu, standin_model
    npu = SimulatedNpu(cores or workers, npu_ms)

    def factory(index):
        return standin_model(recording, npu, index % npu.cores)
    factory.npu = npu
    return factory


# -- nodes ---------------------------------------------------------------------------------------
def frame_message(width: int, height: int, frame_id: str = 'camera'):
    """Return a bgr8 Image of ``bench_image(width, height)`` (data: one array.array)."""
    from sensor_msgs.msg import Image
    image = bench_image(width, height)
    msg = Image()
    msg.header.frame_id = frame_id
    msg.height, msg.width, msg.encoding, msg.is_bigendian = height, width, 'bgr8', 0
    msg.step = width * 3
    msg.data = array.array('B', np.ascontiguousarray(image).tobytes())
    return msg


def stamp_ns(stamp) -> int:
    """Return a builtin_interfaces/Time as integer nanoseconds."""
    return stamp.sec * 1_000_000_000 + stamp.nanosec


class Sink:
    """
    Receives Detection2DArray; latency = reception time - header stamp (system clock).

    raw=False: the time the callback gets the message, i.e. after rclpy built its Python
    objects (~0.12 ms a Detection2D here, more than the publishing side's cost). raw=True: the
    time the serialized message arrives, read before the sink builds its own copy (what a C++
    consumer would see); the detections are counted the same way.
    """

    def __init__(self, node, topic: str, raw: bool = False):
        from vision_msgs.msg import Detection2DArray
        self._lock = threading.Lock()
        self.raw = bool(raw)
        self.reset()
        self.subscription = node.create_subscription(
            Detection2DArray, topic, self._on_raw if self.raw else self._on, 50, raw=self.raw)

    def reset(self):
        with self._lock:
            self.latencies: List[float] = []      # ms
            self.received: List[float] = []       # perf_counter of each reception
            self.stamps: List[int] = []
            self.detections = 0
            self.last = None

    def _on_raw(self, data):
        from rclpy.serialization import deserialize_message
        from vision_msgs.msg import Detection2DArray
        now = time.time_ns()
        self._on(deserialize_message(data, Detection2DArray), now)

    def _on(self, msg, now=None):
        now = time.time_ns() if now is None else now
        with self._lock:
            self.latencies.append((now - stamp_ns(msg.header.stamp)) / 1e6)
            self.received.append(time.perf_counter())
            self.stamps.append(stamp_ns(msg.header.stamp))
            self.detections += len(msg.detections)
            self.last = msg

    def snapshot(self):
        with self._lock:
            return list(self.latencies), list(self.received), list(self.stamps), self.detections


class DiagnosticsProbe:
    """The latest /diagnostics status of one node (its per-stage latency medians)."""

    STAGES = ('convert', 'pre', 'infer', 'decode', 'publish')

    def __init__(self, node, name_prefix: str):
        from diagnostic_msgs.msg import DiagnosticArray
        self._prefix, self._cond = name_prefix, threading.Condition()
        self._latest, self._when = None, 0.0
        self.subscription = node.create_subscription(DiagnosticArray, '/diagnostics',
                                                     self._on, 10)

    def _on(self, msg):
        for status in msg.status:
            if status.name.startswith(self._prefix):
                with self._cond:
                    self._latest = {kv.key: kv.value for kv in status.values}
                    self._when = time.monotonic()
                    self._cond.notify_all()

    def stages_after(self, since: float, timeout: float = 3.0) -> Optional[Dict[str, float]]:
        """Stage medians (ms) of the first status received after ``since`` (monotonic)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._when > since, timeout):
                return None
            values = dict(self._latest)
        out = {}
        for stage in self.STAGES:
            try:
                out[stage] = float(values.get(f'latency_{stage}_ms', 'nan'))
            except ValueError:
                out[stage] = float('nan')
        return out


class Camera:
    """Publishes one frame message at ``hz`` from a thread of its own, a fresh stamp each time."""

    def __init__(self, node, topic: str, msg, qos=None):
        from rclpy.qos import qos_profile_sensor_data
        self.node, self.msg = node, msg
        self.publisher = node.create_publisher(type(msg), topic, qos or qos_profile_sensor_data)
        self.sent = 0

    def run(self, hz: float, seconds: Optional[float] = None, frames: Optional[int] = None,
            stop: Optional[threading.Event] = None) -> float:
        """Publish for ``seconds`` or ``frames``; return the rate achieved (frames/s)."""
        from builtin_interfaces.msg import Time
        period, sent = 1.0 / hz, 0
        t0 = time.perf_counter()
        t_next = t0
        while True:
            now = time.perf_counter()
            if (seconds is not None and now - t0 >= seconds) or \
                    (frames is not None and sent >= frames) or \
                    (stop is not None and stop.is_set()):
                break
            ns = time.time_ns()
            self.msg.header.stamp = Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)
            self.publisher.publish(self.msg)
            sent += 1
            t_next += period
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -period:
                t_next = time.perf_counter()    # fell behind: publish back to back, no burst
        self.sent += sent
        return sent / max(time.perf_counter() - t0, 1e-9)


def make_relay_class():
    """Return the relay node class (rclpy imported lazily)."""
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray

    class Relay(Node):
        """Do-nothing relay: an empty Detection2DArray with the image's header, per image."""

        def __init__(self, **kwargs):
            super().__init__('relay', **kwargs)
            self._pub = self.create_publisher(Detection2DArray, 'detections', 10)
            self.create_subscription(Image, 'image', self._on_image, qos_profile_sensor_data)

        def _on_image(self, msg):
            self._pub.publish(Detection2DArray(header=msg.header))

    return Relay


# -- targets: a detector or the relay, in this process or in another ------------------------------
class InProcessTarget:
    """The detector (on the stand-in) or the relay in this process, on its own executor."""

    def __init__(self, kind, namespace, context, recording=None, npu_ms=0.0, params=None,
                 cores=0):
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter
        self.executor = SingleThreadedExecutor(context=context)
        if kind == RELAY:
            self.node = make_relay_class()(namespace=namespace, context=context)
        else:
            from .ros.detector_node import DetectorNode
            import rclpy.logging
            params = dict(params or {})
            params['workers'] = int(kind)
            rclpy.logging.set_logger_level(f'{namespace.strip("/")}.detector',
                                           rclpy.logging.LoggingSeverity.WARN)
            factory = standin_factory(recording, npu_ms, int(kind), cores)
            self.node = DetectorNode(
                namespace=namespace, context=context, model_factory=factory,
                parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True,
                                       name=f'bench-{kind}')
        self.thread.start()

    def counters(self):
        return self.node.counters() if hasattr(self.node, 'counters') else {}

    def rss_kb(self) -> int:
        return rss_kb(os.getpid())

    def alive(self) -> bool:
        return True

    def close(self):
        self.executor.shutdown(timeout_sec=5.0)
        self.thread.join(5.0)
        if hasattr(self.node, 'close'):
            self.node.close()
        self.node.destroy_node()


class ProcessTarget:
    """The detector (on the stand-in) or the relay as its own process."""

    def __init__(self, kind, namespace, recording_file=None, npu_ms=0.0, params=None,
                 cores=0):
        command = [sys.executable, '-m', 'edge_perception.bench_pipeline', 'serve', str(kind),
                   '--npu-ms', str(npu_ms), '--npu-cores', str(cores)]
        if recording_file:
            command += ['--recording', recording_file]
        command += ['--ros-args', '-r', f'__ns:={namespace}', '--log-level', 'warn']
        params = dict(params or {})
        if kind != RELAY:
            params['workers'] = int(kind)
        for name, value in params.items():
            command += ['-p', f'{name}:={value}']
        self.process = subprocess.Popen(command, env=child_env())

    def counters(self):
        return {}

    def rss_kb(self) -> int:
        return rss_kb(self.process.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self):
        import signal
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def child_env() -> dict:
    """Return this process's environment (ROS, domain id...), this package importable."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH')) if p)
    env['PYTHONUNBUFFERED'] = '1'
    return env


def rss_kb(pid: int) -> int:
    """Resident set size of a process in kB, from /proc/<pid>/status (Linux)."""
    with open(f'/proc/{pid}/status', encoding='ascii') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError(f'no VmRSS in /proc/{pid}/status')


def serve(argv: Sequence[str]) -> int:
    """Child process: run the relay or a stand-in detector until SIGINT (``serve`` command)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    ros_args = list(argv)
    own = ros_args[:ros_args.index('--ros-args')] if '--ros-args' in ros_args else ros_args
    parser = argparse.ArgumentParser(prog='bench_pipeline serve')
    parser.add_argument('kind')
    parser.add_argument('--npu-ms', type=float, default=0.0)
    parser.add_argument('--npu-cores', type=int, default=0)
    parser.add_argument('--recording', default=None)
    args = parser.parse_args(own)
    rclpy.init(args=ros_args)
    node = None
    try:
        if args.kind == RELAY:
            node = make_relay_class()()
        else:
            from .ros.detector_node import DetectorNode
            with open(args.recording, 'rb') as f:
                recording = pickle.load(f)
            node = DetectorNode(model_factory=standin_factory(
                recording, args.npu_ms, int(args.kind), args.npu_cores))
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            if hasattr(node, 'close'):
                node.close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


# -- measurement ---------------------------------------------------------------------------------
def percentiles(values: Sequence[float]) -> Dict[str, float]:
    """p50 / p95 / max of ``values`` (NaN when empty)."""
    if not len(values):
        return {'p50': float('nan'), 'p95': float('nan'), 'max': float('nan')}
    v = np.asarray(values, float)
    return {'p50': float(np.median(v)), 'p95': float(np.percentile(v, 95)),
            'max': float(v.max())}


def fps_of(received: Sequence[float]) -> float:
    """Frames/s between the first and the last reception."""
    if len(received) < 2:
        return 0.0
    return (len(received) - 1) / max(received[-1] - received[0], 1e-9)


def _wait_connected(camera, sink, target, timeout=DISCOVERY_TIMEOUT):
    deadline = time.monotonic() + timeout
    while camera.publisher.get_subscription_count() < 1 or \
            sink.subscription.get_publisher_count() < 1:
        if not target.alive():
            raise RuntimeError('the target process exited during start-up')
        if time.monotonic() > deadline:
            raise RuntimeError(f'no connection through DDS within {timeout:g} s')
        time.sleep(0.02)


def measure(camera, sink, load_hz, seconds, pace_hz, paced_seconds, warmup=1.0):
    """One run on a connected target: under load (fps, latency), then paced (latency)."""
    camera.run(load_hz, warmup)
    time.sleep(SETTLE)
    sink.reset()
    offered = camera.run(load_hz, seconds)
    time.sleep(SETTLE)
    lat, received, stamps, _ = sink.snapshot()
    loaded = {'fps': fps_of(received), 'offered': offered, 'latency': percentiles(lat),
              'ordered': stamps == sorted(stamps), 'answers': len(received)}
    sink.reset()
    camera.run(pace_hz, paced_seconds)
    time.sleep(SETTLE)
    lat, received, stamps, _ = sink.snapshot()
    paced = {'latency': percentiles(lat), 'answers': len(received),
             'sent': int(round(pace_hz * paced_seconds)), 'ordered': stamps == sorted(stamps)}
    return {'loaded': loaded, 'paced': paced}


def run_configuration(mode: str, size, npu_ms: float, workers: Sequence[int], recording,
                      recording_file, context, seconds=4.0, paced_seconds=3.5, runs=3,
                      load_hz=0.0, pace_hz=30.0, log=None, cores=0, params=None,
                      raw_sink=False) -> dict:
    """
    Measure the relay and each worker count for one mode / frame size / NPU latency.

    Returns {'rows': {target: [run results]}, ...}; see ``summarize``. load_hz 0: 1.25 x the
    ideal rate of the largest worker count. cores: simulated NPU cores (0: one per worker).
    params: detector parameters (e.g. {'tracker': 'none'}; the relay takes none).
    raw_sink: time the answers on arrival, before the sink deserializes them (``Sink``).
    """
    from rclpy.node import Node
    width, height = size
    load_hz = load_hz or 1.25 * min(max(workers), cores or max(workers)) * 1000.0 / npu_ms
    msg = frame_message(width, height)
    targets = [RELAY] + [int(n) for n in workers]
    results: Dict[object, List[dict]] = {t: [] for t in targets}
    serial = 0
    for run in range(runs):
        for kind in targets:
            serial += 1
            namespace = f'/pbench{os.getpid()}_{serial}'
            node = Node(f'bench_{serial}', namespace=namespace, context=context)
            from rclpy.executors import SingleThreadedExecutor
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            spinner = threading.Thread(target=executor.spin, daemon=True)
            spinner.start()
            sink = Sink(node, 'detections', raw=raw_sink)
            camera = Camera(node, 'image', msg)
            probe = DiagnosticsProbe(node, f'{namespace}/detector:') if kind != RELAY else None
            if mode == 'inprocess':
                target = InProcessTarget(kind, namespace, context, recording, npu_ms,
                                         params=None if kind == RELAY else params, cores=cores)
            else:
                target = ProcessTarget(kind, namespace, recording_file, npu_ms,
                                       params=None if kind == RELAY else params, cores=cores)
            try:
                _wait_connected(camera, sink, target)
                result = measure(camera, sink, load_hz, seconds, pace_hz, paced_seconds)
                result['counters'] = target.counters()
                if probe is not None:   # the node's last 100 frames: the paced ones
                    result['stages'] = probe.stages_after(time.monotonic())
                results[kind].append(result)
                if log:
                    log(f'  run {run + 1} {kind}: {result["loaded"]["fps"]:.1f} fps, paced p50 '
                        f'{result["paced"]["latency"]["p50"]:.2f} ms')
            finally:
                target.close()
                executor.shutdown(timeout_sec=5.0)
                spinner.join(5.0)
                node.destroy_node()
    return {'mode': mode, 'size': size, 'npu_ms': npu_ms, 'load_hz': load_hz, 'cores': cores,
            'params': dict(params or {}), 'raw_sink': bool(raw_sink),
            'pace_hz': pace_hz, 'seconds': seconds, 'paced_seconds': paced_seconds,
            'runs': runs, 'results': results}


def _median(values):
    values = [v for v in values if v == v]
    return float(np.median(values)) if values else float('nan')


def summarize(config: dict) -> List[dict]:
    """One row per target: medians over runs of fps and latencies; overhead and ours."""
    results, npu_ms = config['results'], config['npu_ms']
    relay = _median([r['paced']['latency']['p50'] for r in results[RELAY]])
    relay_loaded = _median([r['loaded']['latency']['p50'] for r in results[RELAY]])
    rows = []
    for kind, runs in results.items():
        row = {'target': kind,
               'fps': _median([r['loaded']['fps'] for r in runs]),
               'runs_fps': [r['loaded']['fps'] for r in runs],
               'offered': _median([r['loaded']['offered'] for r in runs]),
               'loaded_p50': _median([r['loaded']['latency']['p50'] for r in runs]),
               'loaded_p95': _median([r['loaded']['latency']['p95'] for r in runs]),
               'p50': _median([r['paced']['latency']['p50'] for r in runs]),
               'p95': _median([r['paced']['latency']['p95'] for r in runs]),
               'answered': sum(r['paced']['answers'] for r in runs),
               'sent': sum(r['paced']['sent'] for r in runs),
               'ordered': all(r['loaded']['ordered'] and r['paced']['ordered'] for r in runs)}
        measured = [r['stages'] for r in runs if r.get('stages')]
        row['stages'] = {stage: _median([m[stage] for m in measured])
                         for stage in DiagnosticsProbe.STAGES} if measured else None
        if kind == RELAY:
            row.update(ideal=None, overhead=row['p50'], ours=0.0)
        else:
            busy = min(kind, config.get('cores') or kind)        # cores the workers use
            row.update(ideal=min(busy * 1000.0 / npu_ms, config['load_hz']),
                       overhead=row['p50'] - npu_ms, ours=row['p50'] - npu_ms - relay,
                       ours_loaded=row['loaded_p50'] - npu_ms - relay_loaded)
        rows.append(row)
    one = next((r for r in rows if r['target'] == 1), None)
    for row in rows:
        row['speedup'] = row['fps'] / one['fps'] if one and row['target'] != RELAY else None
    return rows


def format_table(config: dict, rows: List[dict]) -> str:
    """Markdown table of one configuration."""
    w, h = config['size']
    cores = f"{config['cores']} simulated core(s)" if config.get('cores') else \
        'one simulated core per worker'
    params = ', '.join(f'{k}:={v}' for k, v in sorted(config.get('params', {}).items()))
    head = (f"### {config['mode']}, {w}x{h} bgr8, NPU stand-in {config['npu_ms']:g} ms "
            f"(SIMULATION, {cores}), load {rows[0]['offered']:.0f} Hz offered, paced "
            f"{config['pace_hz']:g} Hz, median of {config['runs']} runs, detector "
            f"{params or 'defaults'}"
            f"{', answers timed on arrival (raw sink)' if config.get('raw_sink') else ''}\n\n")
    lines = ['| target | fps (load) | runs fps | speed-up | ideal fps | load p50 ms | '
             'load p95 ms | paced p50 ms | paced p95 ms | overhead p50 ms | ours p50 ms | '
             'answered | in order | node stages ms, paced: convert/pre/infer/decode/publish |',
             '|---' * 14 + '|']
    for r in rows:
        name = 'relay (DDS floor)' if r['target'] == RELAY else f"{r['target']} worker(s)"
        lines.append(
            f"| {name} | {r['fps']:.1f} | {' '.join(f'{f:.0f}' for f in r['runs_fps'])} | "
            + (f"{r['speedup']:.2f}x | {r['ideal']:.1f} | " if r['speedup'] else '- | - | ')
            + f"{r['loaded_p50']:.2f} | {r['loaded_p95']:.2f} | {r['p50']:.2f} | "
            f"{r['p95']:.2f} | "
            + (f"{r['overhead']:.2f} | {r['ours']:.2f} | " if r['target'] != RELAY
               else '- | - | ')
            + f"{r['answered']}/{r['sent']} | {'yes' if r['ordered'] else 'NO'} | "
            + ('/'.join(f'{v:.2f}' for v in r['stages'].values()) if r['stages'] else '-')
            + ' |')
    return head + '\n'.join(lines)


def write_recording(recording) -> str:
    """Pickle the recording for the child processes; return the file's path."""
    fd, path = tempfile.mkstemp(prefix='edge_perception-standin-', suffix='.pkl')
    with os.fdopen(fd, 'wb') as f:
        pickle.dump(recording, f)
    return path


def run_pipeline(card: str, modes=MODES, sizes=SIZES, npu_list=NPU_MS, workers=(1, 2, 3),
                 seconds=4.0, paced_seconds=3.5, runs=3, load_hz=0.0, pace_hz=30.0,
                 verbose=True, cores=0, params=None, raw_sink=False) -> List[dict]:
    """Every configuration, one table each printed as it is done; returns the configs."""
    import rclpy
    from rclpy.context import Context
    recordings = {size: npu_recording(card, bench_image(*size)) for size in sizes}
    files = {size: write_recording(rec) for size, rec in recordings.items()} \
        if 'processes' in modes else {}
    context = Context()
    rclpy.init(context=context)
    configs = []
    log = (lambda text: print(text, file=sys.stderr, flush=True)) if verbose else None
    try:
        for mode in modes:
            for size in sizes:
                recording, recording_file = recordings[size], files.get(size)
                for npu_ms in npu_list:
                    config = run_configuration(mode, size, npu_ms, workers, recording,
                                               recording_file, context, seconds, paced_seconds,
                                               runs, load_hz, pace_hz, log, cores, params,
                                               raw_sink)
                    config['rows'] = summarize(config)
                    print(format_table(config, config['rows']) + '\n', flush=True)
                    configs.append(config)
    finally:
        if context.ok():
            rclpy.shutdown(context=context)
        for path in files.values():
            os.unlink(path)
    return configs


def parse_sizes(text: str):
    """'640x480,1280x720' -> ((640, 480), (1280, 720))."""
    return tuple(tuple(int(v) for v in item.lower().split('x')) for item in text.split(','))


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the pipeline benchmark (also used by ``edge-perception bench --pipeline``)."""
    p = argparse.ArgumentParser(prog='python -m edge_perception.bench_pipeline',
                                description=__doc__.splitlines()[1])
    p.add_argument('--model', default=None, help='model card (default: the demo model)')
    p.add_argument('--modes', default=','.join(MODES))
    p.add_argument('--sizes', default='640x480,1280x720')
    p.add_argument('--npu-ms', default='13.6,7.0', help='stand-in latencies, comma-separated')
    p.add_argument('--workers', default='1,2,3')
    p.add_argument('--npu-cores', type=int, default=0,
                   help='simulated NPU cores (0: one per worker); more workers than cores '
                   'pipeline pre-processing / decoding with the NPU calls')
    p.add_argument('--seconds', type=float, default=4.0, help='under load, per run')
    p.add_argument('--paced-seconds', type=float, default=3.5,
                   help='paced, per run (>= 100 frames: the stage medians cover them only)')
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--load-hz', type=float, default=0.0,
                   help='camera rate under load (0: 1.25x the ideal of the most workers)')
    p.add_argument('--pace-hz', type=float, default=30.0, help='camera rate of the paced runs')
    p.add_argument('--tracker', default='',
                   help="the detector's tracker parameter (default: the node's, bytetrack; "
                   'none measures the pipeline without tracking)')
    p.add_argument('--raw-sink', action='store_true',
                   help='time each answer when it arrives, before the sink deserializes it '
                   '(rclpy builds ~0.12 ms of Python objects per Detection2D; in-process that '
                   "also holds the node's interpreter lock)")
    return p


def main(argv=None) -> int:
    """Run the pipeline benchmark, or (``serve``) one target process."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ['serve']:
        return serve(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [m for m in args.modes.split(',') if m not in MODES]
    if unknown:
        parser.error(f'--modes: unknown {", ".join(unknown)}; known: {", ".join(MODES)}')
    if args.model is None:
        from .share import demo_card
        args.model = demo_card()
    run_pipeline(args.model, tuple(args.modes.split(',')), parse_sizes(args.sizes),
                 tuple(float(v) for v in args.npu_ms.split(',')),
                 tuple(int(v) for v in args.workers.split(',')), args.seconds,
                 args.paced_seconds, args.runs, args.load_hz, args.pace_hz,
                 cores=args.npu_cores, params={'tracker': args.tracker} if args.tracker else None,
                 raw_sink=args.raw_sink)
    return 0


if __name__ == '__main__':
    sys.exit(main())
