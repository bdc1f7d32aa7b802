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
Camera encodings beyond 8-bit colour: Bayer mosaics, 16-bit colour, depth on both topics.

Oracles from outside the code under test:
* Bayer: mosaics sampled from real colour pictures (scikit-image's) by the sensor_msgs
  definition (the pattern names the top-left 2x2 pixels in row order), demosaiced, must give
  the picture back (small error); every other OpenCV Bayer code gives a large one.
* 16 to 8 bits: cv_bridge's ``toCvCopy`` factor 255/65535 rounded to nearest
  (``convertTo(..., 255. / 65535.)`` in cv_bridge/src/cv_bridge.cpp), computed here with
  integers, over every 16-bit value.
* Depth: a rendered scene whose 3D truth is known (depth_scenes), sent as 32FC1 / 16UC1.
"""

import struct

import cv2
from edge_perception.depth import decode_depth
from edge_perception.errors import ImageFormatError
from edge_perception.ros.image_conversions import bgr_to_image, ENCODINGS, image_to_bgr
from edge_perception.samples import sample_images
import numpy as np
import pytest
from rcl_interfaces.msg import Log
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection2DArray, Detection3DArray

from . import depth_scenes as scene
from .helpers import raw_image, stamped, wait_for
from .models import COLOR_CLASSES, expected_scores
from .test_depth_node import board_frames, board_model, CENTRE, info_msg  # noqa: F401
from .test_detector_node import RELIABLE, same_header, send_and_receive, start_detector

PATTERNS = ('rggb', 'bggr', 'gbrg', 'grbg')
COLOUR_16 = ('bgr16', 'rgb16', 'bgra16', 'rgba16')
#: the encodings this file tests (test_image_conversions.py covers the others)
ENCODINGS_TESTED_THERE = sorted([f'bayer_{p}{bits}' for p in PATTERNS for bits in (8, 16)]
                                + list(COLOUR_16))
ALL_BAYER_CODES = {'BayerBG': cv2.COLOR_BayerBG2BGR, 'BayerGB': cv2.COLOR_BayerGB2BGR,
                   'BayerRG': cv2.COLOR_BayerRG2BGR, 'BayerGR': cv2.COLOR_BayerGR2BGR}
# Mean absolute error per channel, demosaiced vs the picture, away from the 2-pixel border.
# Measured (OpenCV 4.14 and 4.5.4 give bit-identical results): the right pattern <= 3.73
# levels (astronaut) / 3.47 (rocket); each wrong one >= 27.4 on some channel (R/B swapped:
# ~49 on the astronaut).
RIGHT_PATTERN_ERROR, WRONG_PATTERN_ERROR = 6.0, 12.0


def cv_bridge_8bit(values) -> np.ndarray:
    """Return round(v * 255 / 65535) in exact integers (v / 257 never ends in .5)."""
    v = np.asarray(values).astype(np.int64)
    return ((v * 510 + 65535) // 131070).astype(np.uint8)


def pictures():
    """Return two real colour BGR images: 512x512, and 640x427 (an odd height)."""
    images = dict(sample_images())
    return {name: images[name] for name in ('astronaut', 'rocket')}


PICTURES = pictures()


def mosaic(bgr: np.ndarray, pattern: str) -> np.ndarray:
    """Sample a Bayer mosaic: pixel (y, x) keeps channel pattern[2 * (y % 2) + x % 2]."""
    channel = {'b': 0, 'g': 1, 'r': 2}
    out = np.empty(bgr.shape[:2], bgr.dtype)
    for index, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        out[dy::2, dx::2] = bgr[dy::2, dx::2, channel[pattern[index]]]
    return out


def channel_errors(bgr: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mean absolute error of each channel (B, G, R) inside a 2-pixel border."""
    diff = np.abs(bgr.astype(np.int32) - truth.astype(np.int32))[2:-2, 2:-2]
    return diff.mean(axis=(0, 1))


def to_16bit(bgr: np.ndarray, seed: int = 0) -> np.ndarray:
    """8-bit picture to 16 bits (x 257, cv_bridge's 8 -> 16) plus low bits that round away."""
    noise = np.random.default_rng(seed).integers(0, 128, bgr.shape)
    return np.minimum(bgr.astype(np.int64) * 257 + noise, 65535).astype(np.uint16)


@pytest.mark.parametrize('name', sorted(PICTURES))
@pytest.mark.parametrize('pattern', PATTERNS)
def test_bayer8_mosaic_of_a_real_picture_demosaics_back_to_it(pattern, name):
    picture = PICTURES[name]
    bayer = mosaic(picture, pattern)
    got = image_to_bgr(raw_image(bayer, f'bayer_{pattern}8', padding=3))
    assert got.shape == picture.shape and got.dtype == np.uint8
    errors = channel_errors(got, picture)
    assert errors.max() < RIGHT_PATTERN_ERROR, f'bayer_{pattern}8 on {name}: {errors}'
    # the margin: of OpenCV's four readings of the mosaic one fits and the others are far
    # off (the known trap: OpenCV names a pattern otherwise than sensor_msgs does)
    worst = {code_name: channel_errors(cv2.cvtColor(bayer, code), picture).max()
             for code_name, code in ALL_BAYER_CODES.items()}
    fits = sorted(n for n, e in worst.items() if e < RIGHT_PATTERN_ERROR)
    assert len(fits) == 1, worst
    assert all(e >= WRONG_PATTERN_ERROR for n, e in worst.items() if n not in fits), worst


@pytest.mark.parametrize('bigendian', [False, True], ids=['little', 'big'])
@pytest.mark.parametrize('pattern', PATTERNS)
def test_bayer16_is_demosaiced_at_16_bits_then_scaled(pattern, bigendian):
    picture = PICTURES['rocket']
    deep = mosaic(to_16bit(picture), pattern)
    got = image_to_bgr(raw_image(deep, f'bayer_{pattern}16', padding=5, bigendian=bigendian))
    assert got.dtype == np.uint8 and got.shape == picture.shape
    assert channel_errors(got, picture).max() < RIGHT_PATTERN_ERROR
    # cv_bridge's order (demosaic, then scale) differs from the 8-bit path by rounding only
    eight = image_to_bgr(raw_image(mosaic(picture, pattern), f'bayer_{pattern}8'))
    assert np.abs(got.astype(int) - eight.astype(int)).max() <= 1


def code_that_fits(pattern: str) -> int:
    """Return the one OpenCV Bayer code that turns the picture's mosaic back into it."""
    picture = PICTURES['astronaut']
    bayer = mosaic(picture, pattern)
    fits = [code for code in ALL_BAYER_CODES.values()
            if channel_errors(cv2.cvtColor(bayer, code), picture).max() < RIGHT_PATTERN_ERROR]
    assert len(fits) == 1
    return fits[0]


@pytest.mark.parametrize('pattern', PATTERNS)
def test_bayer16_demosaics_first_and_scales_after_as_cv_bridge(pattern):
    """cv_bridge's toCvCopy: cvtColor at 16 bits, then convertTo(255/65535); exact."""
    deep = np.random.default_rng(3).integers(0, 65536, (37, 50)).astype(np.uint16)
    got = image_to_bgr(raw_image(deep, f'bayer_{pattern}16', padding=1, bigendian=True))
    assert np.array_equal(got, cv_bridge_8bit(cv2.cvtColor(deep, code_that_fits(pattern))))


def full_range(channels: int) -> np.ndarray:
    """Return a (64, 1024, channels) uint16 image of every 16-bit value (sample i: i % 65536)."""
    values = np.arange(64 * 1024 * channels) % 65536
    return values.reshape(64, 1024, channels).astype(np.uint16)


@pytest.mark.parametrize('padding', [0, 3])
@pytest.mark.parametrize('bigendian', [False, True], ids=['little', 'big'])
@pytest.mark.parametrize('encoding', COLOUR_16)
def test_16bit_colour_scales_every_value_as_cv_bridge(encoding, bigendian, padding):
    channels = 4 if encoding.endswith('a16') else 3
    values = full_range(channels)
    assert len(np.unique(values)) == 65536
    got = image_to_bgr(raw_image(values, encoding, padding=padding, bigendian=bigendian))
    bgr = values[..., :3] if encoding.startswith('bgr') else values[..., 2::-1]
    assert np.array_equal(got, cv_bridge_8bit(bgr))


@pytest.mark.parametrize('encoding', COLOUR_16)
def test_16bit_colour_of_a_real_picture(encoding):
    picture = PICTURES['astronaut']
    deep = to_16bit(picture, seed=1)
    if encoding.startswith('rgb'):
        deep = deep[..., ::-1]
    if encoding.endswith('a16'):
        deep = np.concatenate([deep, np.full(deep.shape[:2] + (1,), 65535, np.uint16)], axis=2)
    got = image_to_bgr(raw_image(deep, encoding, padding=1, bigendian=True))
    assert np.array_equal(got, picture)     # the low bits (< 128) round away, as in cv_bridge


@pytest.mark.parametrize('encoding', ['mono16', '16UC1', 'bgr16', 'rgb16', 'bayer_rggb16',
                                      'bayer_grbg16'])
def test_every_16bit_encoding_scales_a_flat_field_the_same(encoding):
    values = [0, 128, 129, 256, 385, 32767, 32896, 32897, 65279, 65280, 65534, 65535]
    for value in values:
        shape = (4, 6, 3) if encoding in ('bgr16', 'rgb16') else (4, 6)
        got = image_to_bgr(raw_image(np.full(shape, value, np.uint16), encoding,
                                     bigendian=value % 2 == 1))
        assert np.all(got == cv_bridge_8bit(value)), (encoding, value, np.unique(got))


def test_32fc1_on_the_image_topic_is_refused_naming_the_depth_topic():
    msg = raw_image(np.ones((4, 6), np.float32).view(np.uint8), '32FC1', width=6)
    with pytest.raises(ImageFormatError) as info:
        image_to_bgr(msg)
    text = str(info.value)
    assert '32FC1 image 6x4' in text and '"depth" topic' in text and 'use_depth' in text
    assert '32FC1' not in ENCODINGS


def depth_msg(encoding, values, bigendian, padding):
    """Build a real sensor_msgs/Image of 16UC1 (uint16) or 32FC1 (float32) values, padded."""
    fmt = ('>' if bigendian else '<') + ('H' if encoding == '16UC1' else 'f') * values.shape[1]
    rows = [struct.pack(fmt, *row) + b'\xcd' * padding
            for row in values.tolist()]
    msg = Image(encoding=encoding, height=values.shape[0], width=values.shape[1],
                is_bigendian=int(bigendian), step=len(rows[0]))
    msg.data = b''.join(rows)
    return msg


@pytest.mark.parametrize('padding', [0, 3])
@pytest.mark.parametrize('bigendian', [False, True], ids=['little', 'big'])
def test_decode_depth_32fc1_real_image_with_nan_inf_padding_and_byte_order(bigendian, padding):
    metres = np.array([[1.25, np.nan, np.inf, 0.5], [-np.inf, 0.0, -2.0, 7.75]], np.float32)
    depth = decode_depth(depth_msg('32FC1', metres, bigendian, padding))
    assert depth.dtype == np.float32 and depth.shape == (2, 4)
    valid = np.isfinite(metres) & (metres > 0)
    assert np.array_equal(np.isnan(depth), ~valid)
    assert np.array_equal(depth[valid], metres[valid])


@pytest.mark.parametrize('padding', [0, 5])
@pytest.mark.parametrize('bigendian', [False, True], ids=['little', 'big'])
def test_decode_depth_16uc1_real_image_padding_and_byte_order(bigendian, padding):
    mm = np.array([[0, 1, 258, 65535], [1500, 0, 4097, 800]], np.uint16)
    depth = decode_depth(depth_msg('16UC1', mm, bigendian, padding))
    assert np.array_equal(np.isnan(depth), mm == 0)
    np.testing.assert_allclose(depth[mm > 0], mm[mm > 0] / 1000.0, rtol=1e-6)


# over the real rclpy -------------------------------------------------------------------------

def node_frames(picture):
    """(label, Image) of one real picture in every way a camera may send it."""
    yield 'bgr8', bgr_to_image(picture)
    for pattern in PATTERNS:
        yield f'bayer_{pattern}8', raw_image(mosaic(picture, pattern), f'bayer_{pattern}8',
                                             padding=2)
    deep = to_16bit(picture, seed=2)
    yield 'bayer_rggb16', raw_image(mosaic(deep, 'rggb'), 'bayer_rggb16', padding=3,
                                    bigendian=True)
    yield 'rgb16', raw_image(deep[..., ::-1], 'rgb16', bigendian=True)


@pytest.mark.ros
def test_detector_node_gives_the_bgr8_detections_for_bayer_and_16_bit_frames(
        nodes, probe, namespace, tiny_model):
    """
    The colour model's scores are the means of R and B of the letterboxed input.

    Bilinear demosaicing keeps each channel's mean of a real picture (measured: scores move by
    0.0003-0.0013 on these, 16-bit included), so the node must publish the bgr8 frame's class
    and box with its score within 0.005; a wrong pattern swaps R and B, moving the scores by
    ~0.1-0.18 and flipping the class (astronaut red 0.555 / blue 0.378, rocket red 0.284 /
    blue 0.364).
    """
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    sec = 100
    for name, picture in sorted(PICTURES.items()):
        red, blue = expected_scores(picture)
        assert abs(red - blue) > 0.05            # each picture has a clear winner
        reference = None
        for label, msg in node_frames(picture):
            sec += 1
            got = send_and_receive(pub, detections, msg, stamped(f'cam_{label}', sec))
            assert got is not None, f'no detections for {name} as {label}'
            assert len(got.detections) == 1, (name, label, len(got.detections))
            det = got.detections[0]
            hyp = det.results[0].hypothesis
            box = (det.bbox.center.position.x, det.bbox.center.position.y,
                   det.bbox.size_x, det.bbox.size_y)
            if reference is None:
                reference = (hyp.class_id, hyp.score, box)
                winner = 'red' if red > blue else 'blue'
                assert hyp.class_id == str(COLOR_CLASSES.index(winner))
                assert hyp.score == pytest.approx(max(red, blue), abs=1e-5)
                continue
            assert hyp.class_id == reference[0], (name, label)
            assert abs(hyp.score - reference[1]) < 0.005, (name, label, hyp.score, reference)
            assert box == pytest.approx(reference[2], abs=1e-3)
    assert node.counters()['frames_bad'] == 0


@pytest.mark.ros
def test_detector_node_refuses_32fc1_on_image_and_says_where_depth_goes(
        nodes, probe, namespace, tiny_model):
    rosout = probe.collect(Log, '/rosout', RELIABLE)
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    logger = node.get_logger().name
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert wait_for(lambda: pub.get_subscription_count() >= 1)
    depth = depth_msg('32FC1', np.full((48, 64), 1.5, np.float32), False, 0)
    depth.header = stamped('cam', 1)
    pub.publish(depth)
    assert wait_for(lambda: node.counters()['frames_bad'] == 1), node.counters()
    said = rosout.wait(lambda m: m.name == logger and '32FC1' in m.msg, timeout=10.0)
    assert said is not None and '"depth" topic' in said.msg and 'use_depth' in said.msg
    assert detections.messages == []
    red = np.zeros((48, 64, 3), np.uint8)
    red[..., 2] = 255
    assert send_and_receive(pub, detections, bgr_to_image(red), stamped('cam', 2)) is not None


@pytest.mark.ros
def test_detector_node_takes_16uc1_on_image_as_grey_and_hints_once_at_the_depth_topic(
        nodes, probe, namespace, tiny_model):
    """16UC1 is a legal grey image (answered as mono16), but most likely a depth camera."""
    rosout = probe.collect(Log, '/rosout', RELIABLE)
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    logger = node.get_logger().name
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)

    def hints():
        return [m for m in rosout.messages if m.name == logger and '16UC1' in m.msg]

    ramp = np.tile(np.linspace(500, 4000, 64).astype(np.uint16), (48, 1))     # mm
    mono16 = raw_image(ramp, 'mono16')
    for sec in range(1, 5):
        depth = depth_msg('16UC1', ramp, False, 0)
        assert send_and_receive(pub, detections, depth, stamped('cam', sec)) is not None, sec
        assert rosout.wait(lambda m: m in hints(), timeout=10.0) is not None
    assert send_and_receive(pub, detections, mono16, stamped('cam', 9)) is not None
    said = hints()
    assert len(said) == 1, [m.msg for m in said]
    assert said[0].level == Log.WARN and '"depth" topic' in said[0].msg \
        and 'use_depth' in said[0].msg and node.resolve_topic_name('image') in said[0].msg
    assert not [m for m in rosout.messages if m.name == logger and 'mono16 image' in m.msg]
    assert node.counters()['frames_bad'] == 0


@pytest.mark.ros
@pytest.mark.parametrize('encoding,bigendian,padding', [('32FC1', True, 3),
                                                        ('32FC1', False, 0),
                                                        ('16UC1', True, 5)])
def test_depth_topic_takes_32fc1_and_16uc1_of_either_byte_order(
        nodes, probe, namespace, board_model, encoding, bigendian, padding):  # noqa: F811
    """The board scene of test_depth_node: its 3D centre to 1 cm from every depth encoding."""
    node = start_detector(nodes, namespace, board_model, image_qos='reliable', use_depth=True)
    detections = probe.collect(Detection2DArray, 'detections')
    boxes_3d = probe.collect(Detection3DArray, 'detections_3d')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    pub_depth = probe.publisher_for(Image, 'depth', RELIABLE)
    pub_info = probe.publisher_for(CameraInfo, 'camera_info', RELIABLE)
    pub_depth_info = probe.publisher_for(CameraInfo, 'depth/camera_info', RELIABLE)
    colour, millimetres = board_frames()
    holes = np.zeros(millimetres.shape, bool)       # no measurement: every 5th pixel, one band
    holes[::5, ::5] = True
    holes[:, :40] = True
    if encoding == '32FC1':         # as drivers write it: NaN, +inf (and 0) for no measurement
        values = millimetres.astype(np.float32) / 1000.0
        values[holes] = np.nan
        values[:, :20] = np.inf
        values[:, 20:30] = 0.0
    else:
        values = np.where(holes, 0, millimetres).astype(np.uint16)
    found = None
    for sec in (1, 2, 3):
        header = stamped(scene.FRAME, sec)
        pub_info.publish(info_msg(scene.COLOUR_K, header))
        pub_depth_info.publish(info_msg(scene.DEPTH_K, header))
        wait_for(lambda: False, timeout=0.05)
        depth = depth_msg(encoding, values, bigendian, padding)
        depth.header = header
        pub_depth.publish(depth)
        got = send_and_receive(pub, detections, bgr_to_image(colour), header)
        assert got is not None and len(got.detections) == 1
        found = boxes_3d.wait(lambda m, h=header: same_header(m, h), timeout=5)
        if found is not None and found.detections:
            break
    assert found is not None and len(found.detections) == 1, (found, node._depth.diagnostics())
    position = found.detections[0].bbox.center.position
    assert np.linalg.norm(np.array([position.x, position.y, position.z]) - CENTRE) < 0.01
    assert node._depth.diagnostics().get('depth_bad_depth_image', 0) == 0
