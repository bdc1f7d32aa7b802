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
The runtime side of an RDK build on a PC: read a ``.bin``, run it in ``hbdk-sim``, the BPU input.

``read_bin`` parses the file with the toolchain's own protobuf schema
(``horizon_tc_ui.hbdtort.runtime_pb2``, as ``hb_model_info`` does): the graph's input (name,
the runtime input type NV12 / RGB / ..., its layout and the (1, 3, H, W) shape pyeasy_dnn
reports), its outputs (name, element type, shape), the BPU subgraph that the packed ``.hbm``
holds, and the CPU nodes after it (``Dequantize`` with a per-channel scale for each float
output). ``simulate_bin`` extracts the ``.hbm`` (``hb_extract_hbm``), runs it on one NV12
frame in the BPU simulator (``hbdk-sim``), reads the integer outputs it writes and applies the
``.bin``'s Dequantize scales, giving the float outputs the board's libdnn would return.
``bpu_input`` is the BPU's view of an NV12 frame, what the quantized ONNX (``HB_ONNXRuntime``)
takes: YUV444 (1, H, W, 3) int8, chroma repeated 2x2, minus 128.

The ``rdk_sim`` backend uses these; the model toolchain (``edge_perception.tools``: convert,
verify) imports them from here, so that no runtime module imports the toolchain. The
toolchain's Python modules are imported only when a function needs them.
"""

import glob
import os
import tempfile
from typing import Dict, List, Optional

import numpy as np

from .rdk_commands import require, run
from ..errors import ModelLoadError

# element types of the runtime graph's tensors (onnx TensorProto numbering)
ELEMENT_TYPES = {1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32',
                 7: 'int64', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64'}


def _runtime_pb2():
    require()
    from horizon_tc_ui.hbdtort import runtime_pb2
    return runtime_pb2


def _shape(value_type) -> List[int]:
    return [int(d) for d in value_type.dim]


def read_bin(path: str) -> Dict[str, object]:
    """
    Return what an RDK .bin declares, as a JSON-ready dict.

    Keys: ``file``, ``graph``, ``march``, ``versions`` (hb_mapper, hbdk, hbdk runtime,
    horizon_nn), ``input_type_rt``, ``input_space_and_range``, ``yuv_range`` (``yuv_range_of``),
    ``bpu_graph`` (the subgraph name hbdk-sim runs),
    ``bpu_outputs`` (its output tensors, in hbdk-sim's order),
    ``inputs`` (name, tensor_type, layout, shape as pyeasy_dnn reports it, and the BPU
    tensor's element type and shape), ``outputs`` (name, element type, shape, layout, and for
    a dequantised output its int32 BPU tensor, per-channel scale and axis), ``cpu_nodes``.
    """
    pb2 = _runtime_pb2()
    if not os.path.isfile(path):
        raise ModelLoadError(f'RDK model {path} does not exist')
    proto = pb2.ModelProto()
    try:
        with open(path, 'rb') as f:
            proto.ParseFromString(f.read())
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ModelLoadError(f'{path} is not an RDK .bin model: {exc}') from None
    if proto.HasField('graph'):
        graph, info = proto.graph, proto.metadata_props
    elif len(proto.graphs):
        graph, info = proto.graphs[0], proto.metadata_props_info[0].model_info
    else:
        raise ModelLoadError(f'{path} holds no model graph (not an RDK .bin)')
    info = dict(info)
    scales = {t.name: [float(v) for v in t.float_data] for t in graph.initializer
              if len(t.float_data)}
    types = pb2.InputDataType
    layouts = pb2.InputLayoutType
    bpu = [n for n in graph.node if n.op_type == 'BPU']
    if len(bpu) != 1:
        raise ModelLoadError(f'{path} has {len(bpu)} BPU subgraphs; one is supported')
    inputs = []
    for i, tensor in enumerate(graph.input):
        kind = types.Name(graph.input_type[i]) if i < len(graph.input_type) else ''
        layout = layouts.Name(graph.input_layout[i]) if i < len(graph.input_layout) else ''
        bpu_shape = _shape(tensor.type)
        shape = bpu_shape
        if kind in ('NV12', 'NV12_SEPARATE', 'YUV444', 'RGB', 'BGR') and len(bpu_shape) == 4:
            h, w = (bpu_shape[1], bpu_shape[2]) if bpu_shape[3] == 3 else bpu_shape[2:]
            shape = [bpu_shape[0], 3, h, w] if layout != 'NHWC' else [bpu_shape[0], h, w, 3]
        inputs.append({'name': tensor.name, 'tensor_type': kind, 'layout': layout,
                       'shape': shape,
                       'bpu_dtype': ELEMENT_TYPES.get(tensor.type.elem_type, '?'),
                       'bpu_shape': bpu_shape})
    producers = {o: n for n in graph.node for o in n.output}
    outputs = []
    for tensor in graph.output:
        shape = _shape(tensor.type)
        entry = {'name': tensor.name, 'dtype': ELEMENT_TYPES.get(tensor.type.elem_type, '?'),
                 'shape': shape, 'layout': ''}
        node = producers.get(tensor.name)
        if node is not None and node.op_type == 'Dequantize':
            attributes = {a.name: a for a in node.attribute}
            if 'output_data_format' in attributes:
                entry['layout'] = attributes['output_data_format'].s.decode()
            entry.update(bpu_tensor=node.input[0], scale=scales.get(node.input[1], []),
                         axis=int(attributes['axis'].i) if 'axis' in attributes else -1)
        elif node is None or node.op_type != 'BPU':
            entry['cpu_op'] = node.op_type
        outputs.append(entry)
    return {
        'file': os.path.basename(path), 'graph': graph.name, 'march': info.get('MARCH', ''),
        'versions': {'hb_mapper': info.get('BUILDER_VERSION', '').strip(),
                     'hbdk': info.get('HBDK_VERSION', '').strip(),
                     'hbdk_runtime': info.get('HBDK_RUNTIME_VERSION', '').strip(),
                     'horizon_nn': info.get('HORIZON_NN_VERSION', '').strip()},
        'input_type_rt': info.get('INPUT_TYPE_RT', '').strip(),
        'input_space_and_range': info.get('INPUT_SPACE_AND_RANGE', '').strip().strip(';'),
        'yuv_range': yuv_range_of(info),
        'bpu_graph': bpu[0].name, 'bpu_outputs': list(bpu[0].output),
        'inputs': inputs, 'outputs': outputs,
        'cpu_nodes': sorted({n.op_type for n in graph.node if n.op_type != 'BPU'}),
    }


def yuv_range_of(info: Dict[str, str]) -> str:
    """
    Return the NV12 range ('full' or 'video') a .bin's metadata says its input decodes.

    hb_mapper records ``INPUT_SPACE_AND_RANGE`` (``regular`` = full range, its default;
    ``bt601_video``) and, for a bt601_video build, ``INPUT_TYPE_RT`` ``yuv420sp_bt601_video``.
    """
    text = f"{info.get('INPUT_SPACE_AND_RANGE', '')} {info.get('INPUT_TYPE_RT', '')}"
    return 'video' if 'bt601_video' in text else 'full'


def extract_hbm(path: str, folder: str) -> str:
    """Write the .bin's packed BPU program (``hb_extract_hbm``) into ``folder``; return it."""
    run('hb_extract_hbm', [os.path.abspath(path)], folder, 'hb_extract_hbm.log')
    found = sorted(glob.glob(os.path.join(folder, '*.hbm')))
    if not found:
        raise ModelLoadError(f'hb_extract_hbm wrote no .hbm for {path} (log in {folder})')
    return found[0]


def _read_sim_output(folder: str, index: int, name: str) -> np.ndarray:
    """Read hbdk-sim's ``hbdk_output<i>_feature_<name>_elem_int.txt`` (valid_dim NHWC)."""
    pattern = os.path.join(folder, f'hbdk_output{index}_*_elem_int.txt')
    # hbdk-sim writes '/' in tensor names as '_'
    ending = '_' + name.replace('/', '_') + '_elem_int.txt'
    files = [f for f in glob.glob(pattern) if os.path.basename(f).endswith(ending)]
    if len(files) != 1:
        raise ModelLoadError(f'hbdk-sim output {index} ({name}) not found in {folder}')
    dims, values = None, []
    with open(files[0], encoding='utf-8') as f:
        for line in f:
            if line.startswith('#valid_dim='):
                dims = [int(v) for v in line.split('=', 1)[1].strip().split('x')]
            elif not line.startswith('#'):
                values.extend(line.split())
    if dims is None:
        raise ModelLoadError(f'{files[0]} has no #valid_dim line')
    return np.array(values, dtype=np.int64).reshape(dims)


def simulate_bin(path: str, nv12: np.ndarray, info: Optional[Dict[str, object]] = None,
                 folder: Optional[str] = None) -> List[np.ndarray]:
    """
    Run the .bin's BPU program on one flat NV12 frame in hbdk-sim; return its outputs.

    Outputs are in the .bin's output order: float32 for dequantised outputs (int32 x the
    .bin's per-channel scale, as the board's CPU Dequantize does), else the raw integers.
    folder: where the .hbm and hbdk-sim's files go (default: a temporary folder, removed).
    """
    info = info or read_bin(path)
    (entry,) = info['inputs']
    if entry['tensor_type'] != 'NV12':
        raise ModelLoadError(f'{path}: simulate_bin feeds NV12 models only (input is '
                             f'{entry["tensor_type"]})')
    height, width = entry['shape'][2:]
    nv12 = np.ascontiguousarray(nv12, np.uint8).reshape(-1)
    if nv12.size != height * width * 3 // 2:
        raise ValueError(f'NV12 input of {nv12.size} bytes for a {width}x{height} model '
                         f'(needs {height * width * 3 // 2})')
    unsupported = [o for o in info['outputs'] if 'cpu_op' in o]
    if unsupported:
        raise ModelLoadError(f'{path}: outputs computed by CPU {unsupported[0]["cpu_op"]} nodes '
                             'are not simulated (only the BPU program and Dequantize)')
    with tempfile.TemporaryDirectory(prefix='edge_perception-hbdk-sim-') as scratch:
        work = os.path.abspath(folder or scratch)
        hbm = extract_hbm(path, work)
        image = os.path.join(work, 'input.yuv')
        nv12.tofile(image)
        out = os.path.join(work, 'sim_out')
        os.makedirs(out, exist_ok=True)
        run('hbdk-sim', ['-f', hbm, '-n', info['bpu_graph'], '-i', image,
                         '--yuv-size', f'{height}x{width}', '-o', out], work,
            'hbdk_sim.log', 'hbdk-sim')
        bpu_outputs = info['bpu_outputs']
        results = []
        for entry in info['outputs']:
            name = entry.get('bpu_tensor', entry['name'])
            raw = _read_sim_output(out, bpu_outputs.index(name), name)
            if 'bpu_tensor' in entry:
                scale = np.asarray(entry['scale'], np.float32)
                axis = entry['axis'] % raw.ndim
                shape = [1] * raw.ndim
                shape[axis] = scale.size
                raw = (raw * scale.reshape(shape)).astype(np.float32)
            results.append(raw.reshape(entry['shape']))
    return results


def nv12_planes(nv12: np.ndarray, width: int, height: int):
    """Y (H, W) and the 2x2-repeated U, V (H, W) planes of a flat NV12 buffer."""
    flat = np.asarray(nv12, np.uint8).reshape(-1)
    area = width * height
    if flat.size != area * 3 // 2:
        raise ValueError(f'NV12 {width}x{height} needs {area * 3 // 2} bytes, got {flat.size}')
    y = flat[:area].reshape(height, width)
    uv = flat[area:].reshape(height // 2, width // 2, 2)
    u = np.repeat(np.repeat(uv[..., 0], 2, axis=0), 2, axis=1)
    v = np.repeat(np.repeat(uv[..., 1], 2, axis=0), 2, axis=1)
    return y, u, v


def bpu_input(nv12: np.ndarray, width: int, height: int) -> np.ndarray:
    """Return what the BPU computes on for an NV12 frame: (1, H, W, 3) int8 YUV444 - 128."""
    y, u, v = nv12_planes(nv12, width, height)
    yuv = np.stack([y, u, v], axis=-1).astype(np.int16) - 128
    return yuv.astype(np.int8)[None]
