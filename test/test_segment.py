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
"""Instance segmentation: every vendor layout, float and quantised, masks at source size."""

from edge_perception import decode, letterbox
from edge_perception.decoders import DecodeOptions, Decoder
from edge_perception.errors import LayoutError
from edge_perception.layouts import match_layout, TASK_LAYOUTS
from edge_perception.synthetic import make_outputs, random_objects, source_mask, SyntheticObject
from edge_perception.tensors import QuantizedTensor
import numpy as np
import pytest

# every test here runs through the compiled kernels and through the numpy rules
pytestmark = pytest.mark.usefixtures('decode_path')

SEG = list(TASK_LAYOUTS['segment'])
SOURCES = [(480, 640), (720, 1280), (640, 640), (300, 451)]


def shapes(outputs):
    return [tuple(o.shape) for o in outputs]


def source_letterbox(src_hw):
    return letterbox(np.zeros(src_hw + (3,), np.uint8), 640, 640)[1]


def objects_inside(info, n, seed):
    """Return n objects inside the image part of the letterboxed input (not on the padding)."""
    content = (round(info.src_height * info.scale_y), round(info.src_width * info.scale_x))
    objects = random_objects(n, 80, content, seed=seed, masks=('box', 'ellipse'))
    for obj in objects:
        x1, y1, x2, y2 = obj.xyxy
        obj.xyxy = (x1 + info.pad_x, y1 + info.pad_y, x2 + info.pad_x, y2 + info.pad_y)
    return objects


def expected_mask(obj, info):
    """
    Return the (H, W) mask a decoder should give for ``obj`` at source resolution (oracle).

    The planted shape (its signed distance at each source pixel centre mapped to the input)
    cropped as ultralytics' crop_mask crops: column u is in the source box when x1 <= u < x2.
    """
    v, u = np.mgrid[0:info.src_height, 0:info.src_width]
    x = (u + 0.5) * info.scale_x + info.pad_x
    y = (v + 0.5) * info.scale_y + info.pad_y
    bx1, by1, bx2, by2 = info.boxes_to_source(np.array([obj.xyxy], np.float32))[0]
    in_box = (u >= bx1) & (u < bx2) & (v >= by1) & (v < by2)
    return in_box & (obj.signed_distance(x, y) > 0)


def test_expected_mask_crops_as_the_synthetic_reference_but_for_the_half_pixel():
    """The oracle differs from synthetic.source_mask (pixel centre in the box) by the crop only."""
    info = source_letterbox((300, 451))
    for obj in objects_inside(info, 12, seed=7):
        ours, centre = expected_mask(obj, info), source_mask(obj, info)
        v, u = np.nonzero(ours != centre)
        bx1, by1, bx2, by2 = info.boxes_to_source(np.array([obj.xyxy], np.float32))[0]
        near = np.minimum.reduce([np.abs(u + 0.5 - bx1), np.abs(u + 0.5 - bx2),
                                  np.abs(v + 0.5 - by1), np.abs(v + 0.5 - by2)])
        assert (near <= 0.5).all()


def check_masks(det, objects, info, input_hw=(640, 640)):
    """
    Check every planted mask comes back: IoU >= 0.95, errors only near its boundary.

    Bilinear upsampling of 4x coarser prototypes rounds corners and may move an edge by a
    fraction of a prototype cell: wrong pixels must lie within half a cell (2 input px) of
    the shape's or the box's edge. Nothing may be set outside the detection's box.
    """
    assert det.masks is not None and det.masks.dtype == bool
    assert det.masks.shape == (len(objects), info.src_height, info.src_width)
    v, u = np.mgrid[0:info.src_height, 0:info.src_width]
    x = (u + 0.5) * info.scale_x + info.pad_x
    y = (v + 0.5) * info.scale_y + info.pad_y
    for obj in objects:
        expected = expected_mask(obj, info)
        box = info.boxes_to_source(np.array([obj.xyxy], np.float32))[0]
        i = int(np.abs(det.xyxy - box).max(axis=1).argmin())
        iou = (det.masks[i] & expected).sum() / max(1, (det.masks[i] | expected).sum())
        assert iou >= 0.95, (obj, iou)
        wrong = det.masks[i] != expected
        if wrong.any():
            x1, y1, x2, y2 = obj.xyxy
            xs, ys = x[wrong], y[wrong]
            edge = np.minimum.reduce([np.abs(obj.signed_distance(xs, ys)), np.abs(xs - x1),
                                      np.abs(xs - x2), np.abs(ys - y1), np.abs(ys - y2)])
            assert edge.max() <= 2.0, edge.max()
        bx1, by1, bx2, by2 = det.xyxy[i]
        rows, cols = np.nonzero(det.masks[i])
        assert cols.min() >= bx1 and cols.max() < bx2       # ultralytics' crop_mask
        assert rows.min() >= by1 and rows.max() < by2


CASES = [(layout, False) for layout in SEG] + [('rknn_seg', True), ('rdk_seg', True)]


@pytest.mark.parametrize('layout,quantized', CASES)
@pytest.mark.parametrize('src_hw', SOURCES)
def test_masks_come_back_at_source_resolution(layout, quantized, src_hw):
    info = source_letterbox(src_hw)
    objects = objects_inside(info, 12, seed=7)
    outs = make_outputs(layout, objects, 80, quantized=quantized)
    assert any(isinstance(o, QuantizedTensor) for o in outs) == quantized
    det = decode(outs, task='segment', letterbox=info)
    assert len(det) == len(objects)
    check_masks(det, objects, info)


def test_rectangle_masks_are_exact_but_for_rounded_corners():
    """
    Box-shaped masks come back as the box's pixels, edges exact.

    Only pixels within one input pixel of an edge and one prototype cell (4 input px) of a
    corner may be missing (bilinear upsampling rounds corners, as in the ultralytics
    reference); none may be added.
    """
    objects = [SyntheticObject((96.3, 120.6, 224.2, 300.9), 3),
               SyntheticObject((400, 200, 560, 280), 5),
               SyntheticObject((300.5, 401.1, 380.7, 519.2), 1)]
    for src_hw in ((480, 640), (720, 1280)):
        info = source_letterbox(src_hw)
        for layout in SEG:
            det = decode(make_outputs(layout, objects, 80), task='segment', letterbox=info)
            for obj in objects:
                expected = expected_mask(obj, info)
                box = info.boxes_to_source(np.array([obj.xyxy], np.float32))[0]
                mask = det.masks[int(np.abs(det.xyxy - box).max(axis=1).argmin())]
                assert not (mask & ~expected).any(), layout
                v, u = np.nonzero(mask != expected)
                x = (u + 0.5) * info.scale_x + info.pad_x
                y = (v + 0.5) * info.scale_y + info.pad_y
                x1, y1, x2, y2 = obj.xyxy
                corner = np.minimum.reduce([np.hypot(x - cx, y - cy)
                                            for cx in (x1, x2) for cy in (y1, y2)])
                edge = np.minimum.reduce([np.abs(x - x1), np.abs(x - x2), np.abs(y - y1),
                                          np.abs(y - y2)])
                assert (corner <= 4).all() and (edge <= 1).all(), layout


def test_rdk_int32_mask_coefficients_with_per_channel_scale():
    objects = random_objects(8, 80, seed=11, masks=('ellipse',))
    outs = make_outputs('rdk_seg', objects, 80, int32_boxes=True)
    coef = outs[2]
    assert coef.data.dtype == np.int32 and coef.per_channel
    info = source_letterbox((480, 640))
    check_masks(decode(outs, task='segment', letterbox=info), objects, info)


def test_masks_only_for_kept_detections_and_without_letterbox_at_input_size():
    objects = [SyntheticObject((10, 10, 90, 90), 0, 0.9),
               SyntheticObject((200, 200, 300, 330), 1, 0.4)]
    outs = make_outputs('rknn_seg', objects, 2)
    det = decode(outs, task='segment', confidence_threshold=0.5)
    assert len(det) == 1 and det.masks.shape == (1, 640, 640)
    assert det.masks[0, 12:88, 12:88].all() and not det.masks[0, 90:].any()
    det = decode(outs, task='segment', classes=(1,))
    assert det.class_id.tolist() == [1] and det.masks[0, 202:328, 202:298].all()
    empty = decode(make_outputs('rdk_seg', [], 2), task='segment')
    assert len(empty) == 0 and empty.masks.shape == (0, 640, 640)


def test_selecting_detections_keeps_their_masks():
    objects = random_objects(4, 3, seed=2)
    det = decode(make_outputs('ultralytics_seg', objects, 3), task='segment')
    two = det[[0, 2]]
    assert two.masks.shape[0] == 2 and (two.masks[1] == det.masks[2]).all()


@pytest.mark.parametrize('layout', SEG)
def test_segment_layouts_are_recognised_whatever_the_output_order(layout):
    outs = make_outputs(layout, [], 80)
    binding = match_layout(shapes(outs), (640, 640), task='segment')
    assert binding.layout.name == layout and binding.mask_dim == 32
    assert binding.num_classes == 80
    reordered = [outs[-1]] + outs[:-1]          # prototypes first
    binding = match_layout(shapes(reordered), (640, 640), task='segment')
    assert binding.layout.name == layout and binding.global_outputs['protos'] == 0
    assert 'protos' in binding.describe()


def test_rknn_seg_without_score_sum():
    outs = make_outputs('rknn_seg', random_objects(3, 80), 80, score_sum=False)
    assert len(outs) == 10
    binding = match_layout(shapes(outs), (640, 640), task='segment')
    assert binding.layout.name == 'rknn_seg' and 'score_sum' not in binding.levels[0].outputs


def test_segment_model_without_prototypes_says_so():
    det_outs = shapes(make_outputs('rknn', [], 80))
    with pytest.raises(LayoutError) as info:
        match_layout(det_outs, (640, 640), task='segment')
    text = str(info.value)
    assert 'segment layout' in text and 'prototype' in text
    for name in SEG:
        assert f'- {name}:' in text


def test_detection_layout_named_for_a_segment_model_is_rejected():
    outs = shapes(make_outputs('rknn_seg', [], 80))
    with pytest.raises(LayoutError, match='is a detect layout'):
        match_layout(outs, (640, 640), layout='rknn', task='segment')


def test_segment_decoder_needs_the_input_size():
    binding = match_layout(shapes(make_outputs('rdk_seg', [], 4)), (640, 640), task='segment')
    with pytest.raises(ValueError, match='input_hw'):
        Decoder(binding)
    decoder = Decoder(binding, input_hw=(640, 640))
    assert len(decoder(make_outputs('rdk_seg', [], 4), None, DecodeOptions())) == 0
