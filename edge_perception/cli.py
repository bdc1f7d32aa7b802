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
The ``edge-perception`` command line.

edge-perception detect MODEL IMAGE... [--output DIR]   run a model (any task) on image files
edge-perception info MODEL                             show the recognised layout and input
edge-perception bench [--model CARD] [--npu-ms 13.6]   latency tables; pool on an NPU stand-in
edge-perception bench --pipeline [--npu-ms 13.6]       end to end through rclpy/DDS (stand-in)
edge-perception doctor [--model CARD]                  what this machine can run, and fixes
edge-perception demo [--output DIR]                    the ROS 2 demo graph (needs rclpy)
Model toolchain (tool environments, see README):
edge-perception export WEIGHTS.pt --layout rknn        .pt -> ONNX in a head layout + card
edge-perception convert MODEL.onnx --target rk3588     ONNX -> .rknn, or RDK compiler inputs
edge-perception verify MODEL.onnx --target rk3588      int8/fp16 (simulated) against fp32
edge-perception report RESULT.json... -o report.md     table and plot of verify results
"""

import argparse
import os
import sys


def _summary(result):
    """Return a headline and detail lines (one per object) for a result of any task."""
    from .results import Classifications, SemanticMap
    if isinstance(result, Classifications):
        return ', '.join(f'{n} {c:.2f}' for n, c in zip(result.names, result.confidence)), []
    if isinstance(result, SemanticMap):
        return 'classes present: ' + ', '.join(result.names_present), []
    lines = []
    for i, (name, score, box) in enumerate(zip(result.names, result.confidence, result.xyxy)):
        extra = ''
        if result.masks is not None:
            extra = f'  mask {int(result.masks.area[i])} px'
        if result.keypoints is not None:
            extra = f'  {int((result.keypoints[i, :, 2] >= 0.5).sum())} keypoints'
        lines.append(f'  {name:12s} {score:.2f}  [{box[0]:.0f}, {box[1]:.0f}, {box[2]:.0f}, '
                     f'{box[3]:.0f}]{extra}')
    return f'{len(result)} objects', lines


def _drawn(image, result):
    import cv2

    from .drawing import annotate, annotate_classes, colorize
    from .results import Classifications, SemanticMap
    if isinstance(result, Classifications):
        return annotate_classes(image, result)
    if isinstance(result, SemanticMap):
        return cv2.addWeighted(image, 0.5, colorize(result), 0.5, 0.0)
    return annotate(image, result)


def _cmd_detect(args) -> int:
    import cv2

    from .model import load_model
    model = load_model(args.model, backend=args.backend, confidence_threshold=args.conf)
    print(model.describe())
    if args.output:
        os.makedirs(args.output, exist_ok=True)
    status = 0
    for path in args.images:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            print(f'{path}: cannot read this file as an image', file=sys.stderr)
            status = 1
            continue
        result, times = model.predict(image)
        headline, lines = _summary(result)
        print(f'{path}: {headline} ({times.infer * 1000:.1f} ms inference)')
        for line in lines:
            print(line)
        if args.output:
            cv2.imwrite(os.path.join(args.output, os.path.basename(path)),
                        _drawn(image, result))
    return status


def _cmd_info(args) -> int:
    from .model import load_model
    with load_model(args.model, backend=args.backend) as model:
        print(model.describe())
        print(f'classes ({len(model.class_names)}): {", ".join(model.class_names[:20])}'
              + (' ...' if len(model.class_names) > 20 else ''))
    return 0


def _cmd_bench(args) -> int:
    if args.pipeline:
        return _bench_pipeline(args)
    from . import bench
    if args.npu_ms is not None and not args.workers:
        args.workers = '1,2,3'
    if not args.decode_only and not args.workers:
        from .model import load_model
        from .samples import sample_images
        images = [image for _, image in sample_images()]
        model = load_model(args.model, backend=args.backend, threads=args.threads)
        print(f'## {model.describe()}\n')
        table = bench.model_table(model, images, args.repeat)
        print(bench.format_model_table(model.spec.name, table))
        print(f"\nthroughput: {1000 / table['total']['median']:.1f} frames/s (median), "
              f'{len(images)} sample images, threads={args.threads or "default"}\n')
    if args.workers:
        from .model import load_model
        from .samples import sample_images
        images = [image for _, image in sample_images()]
        counts = [int(n) for n in args.workers.split(',')]
        if args.npu_ms is not None:
            make_models = _standin_models(args, max(counts))
            feed = args.feed_fps or 2 * max(counts) * 1000.0 / max(args.npu_ms, 0.1)
            cores = f'{args.npu_cores} simulated cores' if args.npu_cores else \
                'one simulated core per worker'
            what = f'NPU STAND-IN (simulation): {args.npu_ms:g} ms a call, {cores}'
        else:
            def make_models(n):
                return [load_model(args.model, backend=args.backend, threads=1)
                        for _ in range(n)]
            feed, what = args.feed_fps or 500.0, f'{args.backend}, 1 thread per worker'
        print(f'## worker pool ({what}), {args.seconds:g} s x {args.runs} run(s) per row, '
              f'offered {feed:.0f} frames/s{", drawing results" if args.draw else ""}\n')
        rows = bench.pool_table(make_models, images, counts, args.seconds, args.runs, feed,
                                args.npu_ms, args.draw)
        print(bench.format_pool_table(rows) + '\n')
    if not args.no_decode:
        print('## decode, 640x640 input, 80 classes, 8400 anchors, 20 objects\n')
        print(bench.format_decode_table(bench.decode_table(args.decode_repeat)))
    if not args.no_instances:
        print('\n## segmentation and pose decode, 640x640 input, 20 objects, masks / keypoints '
              'at source resolution (letterboxed frames)\n')
        print(bench.format_instance_table(bench.instance_table(max(10, args.decode_repeat // 4))))
    return 0


def _bench_pipeline(args) -> int:
    """Print the end-to-end tables through rclpy/DDS (NPU stand-in, SIMULATION)."""
    from . import bench_pipeline as bp
    print('## pipeline through rclpy/DDS, NPU STAND-IN (simulation): camera stamp to '
          'Detection2DArray received\n', flush=True)
    bp.run_pipeline(
        args.model, tuple(args.modes.split(',')), bp.parse_sizes(args.sizes),
        (args.npu_ms,) if args.npu_ms is not None else bp.NPU_MS,
        tuple(int(n) for n in (args.workers or '1,2,3').split(',')),
        4.0 if args.seconds == 15.0 else args.seconds,    # the pool defaults: too long here
        runs=3 if args.runs == 1 else args.runs, cores=args.npu_cores,
        params={'tracker': args.tracker} if args.tracker else None, raw_sink=args.raw_sink)
    return 0


def _standin_models(args, most):
    """Return make_models(n) for the NPU stand-in: the card recorded once, n contexts."""
    from .backends.npu_standin_backend import record, SimulatedNpu, standin_model
    recording = record(args.model)

    def make_models(n):
        npu = SimulatedNpu(args.npu_cores or n, args.npu_ms)
        return [standin_model(recording, npu, i % npu.cores) for i in range(n)]
    return make_models


def _cmd_doctor(args) -> int:
    from . import doctor
    checks = doctor.run(args.model if args.model_given else None, args.backend)
    print(doctor.report(checks))
    return 1 if any(c.level == doctor.FAIL for c in checks) else 0


def _cmd_demo(args) -> int:
    from .ros.demo import run_demo
    return run_demo(model=args.model, output=args.output, period=args.period)


# --- model toolchain: convert, verify, report (tools environment; edge_perception.tools) -----
def _cmd_convert(args) -> int:
    from .tools.convert import convert
    extra = {}
    if args.yuv_range is not None:          # the NV12 range the RDK .bin decodes
        if args.target not in ('rdk_x3', 'rdk_x5', 'rdk_ultra'):
            from .errors import ConfigError
            raise ConfigError(f'--yuv-range: {args.target} takes no NV12 range (it applies '
                              'to the RDK targets built here: rdk_x3, rdk_x5, rdk_ultra)')
        extra['yuv_range'] = args.yuv_range
    result = convert(args.onnx, args.target, dtype=args.dtype, calibration=args.calib,
                     algorithm=args.algorithm, method=args.method, hybrid=args.hybrid,
                     output=args.output, optimize=args.optimize, images=args.images, **extra)
    print(f'wrote {result.output} ({result.target}, {result.dtype}, '
          f'{result.calibration_files} calibration images)')
    if result.build_seconds is not None and 'march' in result.info:     # RDK .bin
        info = result.info
        print(f'built in {result.build_seconds:.1f} s (checker {info["checker_seconds"]} s, '
              f'makertbin {info["makertbin_seconds"]} s at {info["optimize"]}), '
              f'{result.size_bytes / 1e6:.2f} MB, march {info["march"]}, hb_mapper '
              f'{info["versions"]["hb_mapper"]}, hbdk {info["versions"]["hbdk"]}; quantized '
              f'ONNX {info["quantized_onnx"]}')
        for step in (info.get('hybrid_search') or {}).get('steps', []):
            print(f'hybrid step {step["step"]}: {len(step["precision"])} node settings, min '
                  f'cosine {step["min_cosine"]:.4f}, detections {step["matched"]}/'
                  f'{step["reference"]} of {step["simulated"]}, {step["size_bytes"] / 1e6:.2f} '
                  f'MB, ' + (step.get('why') or ('kept' if step['kept'] else 'not kept')))
    elif result.build_seconds is not None:
        info = result.info
        print(f'built in {result.build_seconds:.1f} s, {result.size_bytes / 1e6:.2f} MB, '
              f'rknn-toolkit2 {info["toolkit_version"]}, target '
              f'{",".join(info["target_platforms"])}, input {info["input_shapes"]}')
        if info.get('hybrid_layers') is not None:
            search = info.get('hybrid_search') or {}
            print(f'hybrid: {len(info["hybrid_layers"])} float16 layers '
                  f'({info["float16_share"]:.1%} of {info["int8_layers"]} int8 layers)'
                  + (f'; search: {search["stopped"]}' if search else '') + ': '
                  + ', '.join(info['hybrid_layers']))
    print(f'model card: {result.card}')
    print(result.next_step)
    return 0


def _cmd_verify(args) -> int:
    from .tools.verify import verify
    result = verify(args.onnx, args.images, rknn=args.rknn, target=args.target, dtype=args.dtype,
                    labels=args.labels, calibration=args.calib, algorithm=args.algorithm,
                    method=args.method, hybrid=args.hybrid, confidence=args.conf,
                    rdk_bin=args.bin, optimize=args.optimize, per_layer=args.per_layer)
    print(result.summary())
    if args.json:
        print(f'result: {result.write(args.json)}')
    return 0 if result.usable else 1


def _cmd_report(args) -> int:
    from .tools.report import write_report
    png = write_report(args.results, args.output)
    print(f'wrote {args.output} and {png}')
    return 0


def _add_toolchain_commands(sub) -> None:
    """Add convert, verify and report (ONNX -> NPU file, accuracy check, comparison)."""
    # Kept here (not imported from edge_perception.tools) so the CLI starts without the tools.
    targets = ('rk3588', 'rk3576', 'rk3568', 'rk3566', 'rk3562', 'rdk_x3', 'rdk_x5', 'rdk_ultra',
               'rdk_s100')
    algorithms = ('normal', 'mmse', 'kl_divergence')
    p = sub.add_parser('convert', help='ONNX -> .rknn (rknn-toolkit2) or RDK .bin (hb_mapper)')
    p.add_argument('onnx')
    p.add_argument('--target', required=True, choices=targets)
    p.add_argument('--dtype', default='int8', choices=('int8', 'fp16'))
    p.add_argument('--calib', default=None,
                   help='calibration images: a folder or a list file (default: sample pictures)')
    p.add_argument('--algorithm', default='normal', choices=algorithms)
    p.add_argument('--method', default='channel', choices=('channel', 'layer'))
    p.add_argument('--hybrid', default=None, metavar='auto|split|LAYER,...',
                   help='RKNN int8: keep layers in float16: auto (chosen from the per-layer '
                   'analysis, verified) or tensor names of the .quantization.cfg. RDK: auto '
                   '(int16 nodes from the per-node table, then a split build), split (every '
                   'non-head conv split into two int8-weight convs, int16-capable nodes '
                   'int16) or NODE[:int16|int16_in|cpu],...')
    p.add_argument('-o', '--output', default=None,
                   help='the .rknn file (RDK: a folder); default <name>_<soc>.rknn by the ONNX')
    p.add_argument('--images', default=None,
                   help='--hybrid auto: validation images (default: the calibration images)')
    p.add_argument('--optimize', default=None, choices=('O0', 'O1', 'O2', 'O3'),
                   help='RDK X3/X5/Ultra: hbdk optimisation level (default O3; O0 compiles in '
                   'seconds, for tests)')
    p.add_argument('--yuv-range', default=None, choices=('full', 'video'),
                   help='RDK X3/X5/Ultra: the NV12 range the .bin decodes (default full: '
                   "hb_mapper's regular; video: bt601_video, Y 16..235), recorded in the card")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser('verify', help='compare an NPU build (simulated) with the fp32 ONNX')
    p.add_argument('onnx')
    p.add_argument('--rknn', default=None, help='a built .rknn: its target and size are used')
    p.add_argument('--bin', default=None,
                   help='RDK: a built .bin (its quantized ONNX beside it); default: build one')
    p.add_argument('--optimize', default=None, choices=('O0', 'O1', 'O2', 'O3'),
                   help='RDK: optimisation level when verify builds the .bin (default O0)')
    p.add_argument('--target', default='rk3588')
    p.add_argument('--dtype', default='int8', choices=('int8', 'fp16'))
    p.add_argument('--images', required=True, help='validation images: a folder or a list file')
    p.add_argument('--labels', default=None, help='YOLO-format label folder (mAP@0.5)')
    p.add_argument('--calib', default=None, help='int8 calibration images (as convert)')
    p.add_argument('--algorithm', default='normal', choices=algorithms)
    p.add_argument('--method', default='channel', choices=('channel', 'layer'))
    p.add_argument('--hybrid', default=None, metavar='auto|LAYER,...',
                   help='RKNN int8: keep layers in float16: auto (chosen from the per-layer '
                   'analysis, verified) or tensor names of the .quantization.cfg')
    p.add_argument('--conf', type=float, default=0.25, help='confidence threshold')
    p.add_argument('--per-layer', action='store_true',
                   help="RKNN: the toolkit's accuracy_analysis (entire/single cosine per layer)")
    p.add_argument('--json', default=None, help='write the result here (for report)')
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser('report', help='Markdown table + PNG plot from verify results')
    p.add_argument('results', nargs='+', help='verify JSON files or folders of them')
    p.add_argument('-o', '--output', default='report.md')
    p.set_defaults(func=_cmd_report)
# --- end of the model toolchain commands ----------------------------------------------------


# --- export: ultralytics .pt -> ONNX in a vendor head layout (export environment) ----------
def _cmd_export(args) -> int:
    from .tools.export import export
    result = export(args.weights, args.layout, output=args.output, imgsz=args.imgsz,
                    opset=args.opset, end2end=args.end2end)
    print(f'{result.task} model, layout {result.layout}, input '
          f'{result.input_hw[1]}x{result.input_hw[0]}, {len(result.class_names)} classes, '
          f'outputs {[list(s) for s in result.output_shapes]}')
    print(f'wrote {result.onnx}; card {result.card}')
    return 0


def _add_export_command(sub) -> None:
    """Add export (ultralytics checkpoint -> ONNX with the ultralytics, rknn or rdk head)."""
    p = sub.add_parser('export', help='ultralytics .pt -> ONNX in a head layout, with a card')
    p.add_argument('weights', help='ultralytics checkpoint (.pt): detect, segment, pose, '
                   'classify, obb')
    p.add_argument('--layout', default='ultralytics', choices=('ultralytics', 'rknn', 'rdk'))
    p.add_argument('--imgsz', type=int, nargs='+', default=None,
                   help='input size N or H W (default: the training size)')
    p.add_argument('--opset', type=int, default=None,
                   help="ONNX opset (default: ultralytics' for ultralytics, 11 for rknn/rdk)")
    p.add_argument('--end2end', action='store_true',
                   help='YOLOv10/YOLO26: the one-to-one head (top-k inside, no NMS)')
    p.add_argument('-o', '--output', default=None,
                   help='the .onnx file (default <name>_<layout>.onnx here); card beside it')
    p.set_defaults(func=_cmd_export)
# --- end of export ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='edge-perception', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('detect', help='run a model on image files (no ROS)')
    p.add_argument('model', help='model card (.yaml) or model file (.onnx)')
    p.add_argument('images', nargs='+')
    p.add_argument('--output', help='write annotated images here')
    p.add_argument('--backend', default='auto')
    p.add_argument('--conf', type=float, default=0.25, help='confidence threshold')
    p.set_defaults(func=_cmd_detect)

    p = sub.add_parser('info', help="show a model's input, layout and classes")
    p.add_argument('model')
    p.add_argument('--backend', default='auto')
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser('bench', help='print latency tables')
    p.add_argument('--model', default=None, help='model card (default: the demo model)')
    p.add_argument('--backend', default='auto')
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--repeat', type=int, default=20, help='frames per model measurement')
    p.add_argument('--decode-repeat', type=int, default=200)
    p.add_argument('--decode-only', action='store_true', help='only the decode table')
    p.add_argument('--no-decode', action='store_true', help='skip the decode table')
    p.add_argument('--no-instances', action='store_true',
                   help='skip the segmentation / pose table')
    p.add_argument('--workers', default='',
                   help='pool throughput for these worker counts, e.g. 1,2 (1 thread each)')
    p.add_argument('--seconds', type=float, default=15.0, help='per pool measurement')
    p.add_argument('--runs', type=int, default=1, help='pool measurements per row (median)')
    p.add_argument('--feed-fps', type=float, default=0.0,
                   help='frames/s offered to the pool (0: 500, or 2x the ideal with --npu-ms)')
    p.add_argument('--draw', action='store_true', help='draw each result (debug image cost)')
    p.add_argument('--npu-ms', type=float, default=None,
                   help='SIMULATION: run the pool on an NPU stand-in replaying the recorded '
                   'outputs of the model at this latency per call (13.6: YOLOv8n on one RK3588 '
                   'core; 7.0: RDK X5); --workers defaults to 1,2,3')
    p.add_argument('--npu-cores', type=int, default=0,
                   help='simulated NPU cores (0: one per worker); workers share them round-robin')
    p.add_argument('--pipeline', action='store_true',
                   help='SIMULATION: end-to-end tables through rclpy/DDS (camera, detector node '
                   'on the NPU stand-in, sink; a relay node as the DDS floor), in-process and '
                   'across processes; --npu-ms default 13.6 and 7.0, --seconds 4, --runs 3')
    p.add_argument('--modes', default='inprocess,processes', help='with --pipeline')
    p.add_argument('--sizes', default='640x480,1280x720', help='with --pipeline')
    p.add_argument('--tracker', default='', help="with --pipeline: the detector's tracker "
                   "parameter (default: the node's, bytetrack; none: without tracking)")
    p.add_argument('--raw-sink', action='store_true', help='with --pipeline: time each answer '
                   'when its bytes arrive, before the sink deserializes it')
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser('doctor', help='check this machine: board, NPU, runtimes, ROS, a model')
    p.add_argument('--model', default=None, help='also load this card or model file')
    p.add_argument('--backend', default='auto')
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser('demo', help='run the ROS 2 demo graph on sample images')
    p.add_argument('--model', default=None)
    p.add_argument('--output', default='out/demo', help='annotated images go here')
    p.add_argument('--period', type=float, default=0.0,
                   help='seconds between frames (0: next frame when the last is answered)')
    p.set_defaults(func=_cmd_demo)
    _add_toolchain_commands(sub)
    _add_export_command(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``edge-perception`` console script."""
    args = build_parser().parse_args(argv)
    args.model_given = getattr(args, 'model', None) is not None
    if getattr(args, 'model', None) is None:
        from .share import demo_card
        args.model = demo_card()
    from .errors import EdgePerceptionError
    try:
        return args.func(args)
    except (EdgePerceptionError, RuntimeError) as exc:
        print(f'edge-perception {args.command}: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
