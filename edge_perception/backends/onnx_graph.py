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
Which operator produces each output of an ONNX model, read from the file's graph.

ONNX Runtime does not expose the graph, and the ``onnx`` package is not installed on robots,
so this reads the few protobuf fields it needs itself (onnx.proto3: ModelProto.graph = 7;
GraphProto.node = 1, output = 12; NodeProto.input = 1, output = 2, op_type = 4;
ValueInfoProto.name = 1). Shape-only operators (Reshape, Flatten, ...) between the deciding
operator and the output are looked through, so a Softmax followed by a Reshape still counts.
"""

from typing import Dict, List, Optional, Tuple

#: Operators that only move or re-type values: the producer is looked up behind them.
PASS_THROUGH = frozenset({'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Cast'})


def _varint(buf, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError('malformed protobuf varint')


def _fields(buf, start: int, end: int):
    """Yield (field number, (start, end)) of the length-delimited fields of one message."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ValueError('truncated protobuf field')
            yield key >> 3, (pos, pos + length)
            pos += length
        else:
            raise ValueError(f'unsupported protobuf wire type {wire}')
    if pos != end:
        raise ValueError('truncated protobuf message')


def _text(buf, span) -> str:
    return bytes(buf[span[0]:span[1]]).decode('utf-8', 'replace')


def graph_outputs(data: bytes) -> Tuple[List[str], Dict[str, Tuple[str, List[str]]]]:
    """Return (output names, {tensor name: (op_type, inputs) of the node producing it})."""
    buf = memoryview(data)
    graph = next((span for number, span in _fields(buf, 0, len(buf)) if number == 7), None)
    if graph is None:
        raise ValueError('no graph in the ONNX file')
    outputs, producers = [], {}
    for number, span in _fields(buf, *graph):
        if number == 12:
            outputs += [_text(buf, s) for n, s in _fields(buf, *span) if n == 1]
        elif number == 1:
            inputs, produced, op_type = [], [], ''
            for n, s in _fields(buf, *span):
                if n == 1:
                    inputs.append(_text(buf, s))
                elif n == 2:
                    produced.append(_text(buf, s))
                elif n == 4:
                    op_type = _text(buf, s)
            for name in produced:
                producers[name] = (op_type, inputs)
    return outputs, producers


def output_operators(path: str) -> List[Optional[str]]:
    """
    Return, per graph output in order, the operator that computes it (None: no operator).

    Shape-only operators (``PASS_THROUGH``) are looked through. ValueError when the file is
    not a readable ONNX model.
    """
    with open(path, 'rb') as f:
        outputs, producers = graph_outputs(f.read())
    found = []
    for name in outputs:
        op_type, seen = None, set()
        while name in producers and name not in seen:
            seen.add(name)
            op_type, inputs = producers[name]
            if op_type not in PASS_THROUGH or not inputs:
                break
            name = inputs[0]
        found.append(op_type)
    return found
