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
"""sensor_msgs/Image and CompressedImage <-> BGR conversion: every encoding, padding, errors."""

import array

import cv2
from edge_perception.errors import ImageFormatError
from edge_perception.preprocess import InputSpec, Nv12Frame, preprocess, Yuv422Frame
from edge_perception.ros.image_conversions import (bgr_to_compressed, bgr_to_image,
                                                   compressed_to_bgr, ENCODINGS, image_to_bgr,
                                                   image_to_frame)
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

from .helpers import raw_image
from .test_image_encodings import cv_bridge_8bit, ENCODINGS_TESTED_THERE

H, W = 6, 10


def smooth_bgr(h=H, w=W):
    """Draw a colourful image, constant over each 2x2 block (YUV 4:2:0 loses nothing)."""
    y, x = np.mgrid[0:h, 0:w] // 2 * 2
    return np.stack([40 + 10 * x, 60 + 15 * y, 200 - 8 * x - 5 * y], axis=2).astype(np.uint8)


def yuv_planes(bgr):
    """Y (h, w), U and V (h/2, w/2) planes of a BGR image, as OpenCV's I420 gives them."""
    h, w = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).reshape(-1)
    quarter = h * w // 4
    y = i420[:h * w].reshape(h, w)
    u = i420[h * w:h * w + quarter].reshape(h // 2, w // 2)
    v = i420[h * w + quarter:].reshape(h // 2, w // 2)
    return y, u, v


def nv12_of(bgr):
    """NV12 bytes (Y plane, then interleaved U V at half resolution) of a BGR image."""
    y, u, v = yuv_planes(bgr)
    return np.concatenate([y, np.stack([u, v], axis=2).reshape(u.shape[0], -1)])


def yuyv_of(bgr, uyvy=False):
    """Packed YUV 4:2:2 as (h, w, 2): Y0 U Y1 V per pixel pair (U Y0 V Y1 for UYVY)."""
    y, u, v = yuv_planes(bgr)
    chroma = np.stack([u, v], axis=2).reshape(u.shape[0], -1)     # U V U V ... per 2 rows
    chroma = np.repeat(chroma, 2, axis=0)
    out = np.stack([y, chroma], axis=2)
    return np.ascontiguousarray(out[:, :, ::-1]) if uyvy else out


def cases():
    """Yield (encoding, message pixels, expected BGR, tolerance) for every encoding."""
    bgr = smooth_bgr()
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    alpha = np.full((H, W, 1), 77, np.uint8)
    mono16 = (gray.astype(np.uint16) << 8) | 0x5A      # 256 g + 90 scales (/257) back to g
    yield 'bgr8', bgr, bgr, 0
    yield '8UC3', bgr, bgr, 0
    yield 'rgb8', bgr[..., ::-1], bgr, 0
    yield 'bgra8', np.concatenate([bgr, alpha], axis=2), bgr, 0
    yield 'rgba8', np.concatenate([bgr[..., ::-1], alpha], axis=2), bgr, 0
    yield 'mono8', gray, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), 0
    yield '8UC1', gray, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), 0
    yield 'mono16', mono16, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), 0
    yield '16UC1', mono16, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), 0
    yield 'nv12', nv12_of(bgr), bgr, 3
    yield 'yuyv', yuyv_of(bgr), bgr, 3
    yield 'yuv422_yuy2', yuyv_of(bgr), bgr, 3
    yield 'uyvy', yuyv_of(bgr, uyvy=True), bgr, 3
    yield 'yuv422', yuyv_of(bgr, uyvy=True), bgr, 3


CASES = list(cases())


def test_every_encoding_is_covered():
    assert sorted([c[0] for c in CASES] + ENCODINGS_TESTED_THERE) == sorted(ENCODINGS)


@pytest.mark.parametrize('padding', [0, 7], ids=['packed', 'padded'])
@pytest.mark.parametrize('encoding,pixels,expected,tolerance', CASES,
                         ids=[c[0] for c in CASES])
def test_encoding_to_bgr(encoding, pixels, expected, tolerance, padding):
    msg = raw_image(pixels, encoding, padding=padding, width=W, height=H)
    bgr = image_to_bgr(msg)
    assert bgr.shape == (H, W, 3) and bgr.dtype == np.uint8
    diff = np.abs(bgr.astype(int) - expected.astype(int)).max()
    assert diff <= tolerance, f'{encoding}: max difference {diff}'


@pytest.mark.parametrize('padding', [0, 4])
def test_mono16_big_endian(padding):
    values = np.arange(H * W, dtype=np.uint16).reshape(H, W) * 1000
    msg = raw_image(values, 'mono16', padding=padding, bigendian=True)
    assert np.array_equal(image_to_bgr(msg)[..., 1], cv_bridge_8bit(values))
    # The same bytes read as little endian give other values: the flag is honoured.
    msg.is_bigendian = 0
    assert not np.array_equal(image_to_bgr(msg)[..., 1], cv_bridge_8bit(values))


def test_nv12_matches_opencv_exactly():
    bgr = smooth_bgr(8, 12)
    nv12 = nv12_of(bgr)
    msg = raw_image(nv12, 'nv12', padding=3, height=8, width=12)
    assert np.array_equal(image_to_bgr(msg), cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12))


def test_bgr8_is_a_view_on_the_message_data():
    bgr = smooth_bgr()
    for padding in (0, 5):
        msg = raw_image(bgr, 'bgr8', padding=padding)
        out = image_to_bgr(msg)
        assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))
        assert np.array_equal(out, bgr)


def test_bytes_data_is_accepted():
    bgr = smooth_bgr()
    msg = raw_image(bgr, 'bgr8')
    msg.data = bgr.tobytes()         # converted by the message to array.array
    assert np.array_equal(image_to_bgr(msg), bgr)


def bad_images():
    bgr = smooth_bgr()
    good = raw_image(bgr, 'bgr8')

    def variant(**fields):
        msg = raw_image(bgr, 'bgr8')
        for name, value in fields.items():
            setattr(msg, name, value)
        return msg

    yield 'unknown encoding', variant(encoding='nv21'), \
        "unsupported image encoding 'nv21'"
    yield 'no encoding', variant(encoding=''), "unsupported image encoding ''"
    yield 'step < width*channels', variant(step=W * 3 - 1), \
        f'step {W * 3 - 1} is smaller than width {W} x 3 bytes per pixel = {W * 3}'
    yield 'step too large for data', variant(step=W * 3 + 2), \
        f'data has {H * W * 3} bytes, expected step {W * 3 + 2} x height {H}'
    yield 'truncated', variant(data=array.array('B', bytes(good.data)[:-5])), \
        f'data has {H * W * 3 - 5} bytes, expected step {W * 3} x height {H} = {H * W * 3} ' \
        '(truncated)'
    yield 'too long', variant(data=array.array('B', bytes(good.data) + b'\0')), '(too long)'
    yield 'zero width', variant(width=0), 'is empty (zero width or height)'
    yield 'zero height', variant(height=0, data=array.array('B')), 'is empty'
    yield 'empty data', variant(data=array.array('B')), 'data has 0 bytes'
    narrow = raw_image(np.zeros((H, W), np.uint16), 'mono16', height=H, width=W + 1)
    yield 'mono16 step for a narrower image', narrow, 'step 20 is smaller than width 11'
    yield 'nv12 odd height', raw_image(np.zeros((9, 4), np.uint8), 'nv12', height=3, width=4), \
        'nv12 needs an even width and height'
    yield 'nv12 without chroma', raw_image(np.zeros((4, 4), np.uint8), 'nv12'), \
        'expected step 4 x 6 rows (height x 3/2) = 24 (truncated)'
    yield 'yuyv odd width', raw_image(np.zeros((2, 3, 2), np.uint8), 'yuyv'), \
        'yuyv needs an even width'


BAD = list(bad_images())


@pytest.mark.parametrize('msg,message', [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_image_raises_with_a_precise_message(msg, message):
    with pytest.raises(ImageFormatError) as info:
        image_to_bgr(msg)
    assert message in str(info.value)


def test_unknown_encoding_lists_the_supported_ones():
    msg = raw_image(smooth_bgr(), 'bgr8')
    msg.encoding = 'BGR8'
    with pytest.raises(ImageFormatError, match='supported: .*bgr8.*nv12'):
        image_to_bgr(msg)


def compressed(data, fmt='jpeg'):
    msg = CompressedImage()
    msg.format = fmt
    msg.data = array.array('B', bytes(data))
    return msg


@pytest.mark.parametrize('fmt', ['jpeg', 'png'])
def test_compressed_round_trip(fmt):
    bgr = cv2.resize(smooth_bgr(), (64, 48), interpolation=cv2.INTER_LINEAR)
    header = Header(frame_id='cam')
    msg = bgr_to_compressed(bgr, header, fmt=fmt)
    assert msg.format == fmt and msg.header.frame_id == 'cam'
    out = compressed_to_bgr(msg)
    assert out.shape == bgr.shape
    assert np.abs(out.astype(int) - bgr.astype(int)).mean() <= (0 if fmt == 'png' else 4)


def test_compressed_format_string_does_not_matter():
    ok, jpeg = cv2.imencode('.jpg', smooth_bgr(16, 16))
    out = compressed_to_bgr(compressed(jpeg.tobytes(), 'rgb8; jpeg compressed bgr8'))
    assert out.shape == (16, 16, 3)


def test_compressed_mono_png_becomes_bgr():
    ok, png = cv2.imencode('.png', np.full((5, 7), 99, np.uint8))
    out = compressed_to_bgr(compressed(png.tobytes(), 'png'))
    assert out.shape == (5, 7, 3) and (out == 99).all()


def bad_compressed():
    ok, jpeg = cv2.imencode('.jpg', smooth_bgr(32, 32))
    ok, png = cv2.imencode('.png', smooth_bgr(32, 32))
    jpeg, png = jpeg.tobytes(), png.tobytes()
    yield 'empty', compressed(b''), 'is empty'
    yield 'not an image', compressed(b'hello, world' * 10), 'cannot be decoded'
    yield 'corrupt jpeg', compressed(jpeg[:2] + b'\x00' * 200 + jpeg[-2:]), 'corrupt JPEG'
    yield 'truncated jpeg', compressed(jpeg[:len(jpeg) // 2]), 'JPEG data is truncated'
    yield 'truncated png', compressed(png[:len(png) // 2], 'png'), 'PNG data is truncated'
    yield 'compressedDepth', compressed(png, '16UC1; compressedDepth png'), \
        'compressedDepth images are not supported'


BAD_COMPRESSED = list(bad_compressed())


@pytest.mark.parametrize('msg,message', [b[1:] for b in BAD_COMPRESSED],
                         ids=[b[0] for b in BAD_COMPRESSED])
def test_malformed_compressed_raises(msg, message):
    with pytest.raises(ImageFormatError) as info:
        compressed_to_bgr(msg)
    assert message in str(info.value)


def test_bgr_to_image_fields_and_fast_data():
    bgr = smooth_bgr()
    header = Header(frame_id='camera_optical')
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = bgr_to_image(bgr, header)
    assert (msg.height, msg.width, msg.step) == (H, W, W * 3)
    assert msg.encoding == 'bgr8' and msg.is_bigendian == 0
    assert msg.header.frame_id == 'camera_optical' and msg.header.stamp.nanosec == 345
    # An array.array('B') is what the field checks accept without a per-byte scan.
    assert isinstance(msg.data, array.array) and msg.data.typecode == 'B'
    assert np.array_equal(image_to_bgr(msg), bgr)


def test_bgr_to_image_copies_non_contiguous_input():
    bgr = smooth_bgr(8, 12)[::2, ::2]
    assert np.array_equal(image_to_bgr(bgr_to_image(bgr)), bgr)


@pytest.mark.parametrize('bad', [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((4, 4, 4), np.uint8), [[1, 2, 3]]])
def test_bgr_to_image_rejects_non_bgr(bad):
    with pytest.raises(ValueError, match=r'needs an \(H, W, 3\) uint8 array'):
        bgr_to_image(bad)


@pytest.mark.parametrize('padding', [0, 6], ids=['packed', 'padded'])
@pytest.mark.parametrize('encoding,pixels,expected,tolerance', CASES,
                         ids=[c[0] for c in CASES])
def test_keep_yuv_keeps_yuv_frames_as_views_and_converts_the_rest(
        encoding, pixels, expected, tolerance, padding):
    """keep_yuv: nv12 and YUV 4:2:2 stay YUV frames; their pixels and tensors are the BGR's."""
    msg = raw_image(pixels, encoding, padding=padding, width=W, height=H)
    frame = image_to_frame(msg, keep_nv12=False, keep_yuv=True)
    bgr = image_to_bgr(msg)
    if encoding in ('yuyv', 'yuv422_yuy2', 'uyvy', 'yuv422'):
        assert isinstance(frame, Yuv422Frame) and (frame.width, frame.height) == (W, H)
        assert frame.order == ('yuyv' if encoding in ('yuyv', 'yuv422_yuy2') else 'uyvy')
        assert np.shares_memory(frame.data, np.frombuffer(msg.data, np.uint8))   # no copy
    elif encoding == 'nv12':
        assert isinstance(frame, Nv12Frame)
    else:
        assert isinstance(frame, np.ndarray)
        assert np.array_equal(frame, bgr)
        return
    assert np.array_equal(frame.to_bgr(), bgr)
    specs = (InputSpec(height=8, width=8),
             InputSpec(height=4, width=6, dtype='uint8', layout='nhwc'),
             InputSpec(height=8, width=8, dtype='uint8', color='nv12'))
    for spec in specs:
        tensor, box = preprocess(frame, spec)
        expected_tensor, expected_box = preprocess(bgr, spec)
        assert np.array_equal(tensor, expected_tensor) and box == expected_box, encoding


def test_without_keep_yuv_frames_become_bgr_as_before():
    msg = raw_image(yuyv_of(smooth_bgr()), 'yuyv')
    assert isinstance(image_to_frame(msg, keep_nv12=True), np.ndarray)
    assert isinstance(image_to_frame(msg, keep_nv12=False), np.ndarray)
    nv12 = raw_image(nv12_of(smooth_bgr()), 'nv12', height=H, width=W)
    assert isinstance(image_to_frame(nv12, keep_nv12=False), np.ndarray)
    assert isinstance(image_to_frame(nv12, keep_nv12=True), Nv12Frame)


def test_keep_yuv_still_rejects_malformed_yuv_images():
    with pytest.raises(ImageFormatError, match='yuyv needs an even width'):
        image_to_frame(raw_image(np.zeros((2, 3, 2), np.uint8), 'yuyv'), False, keep_yuv=True)
    msg = raw_image(yuyv_of(smooth_bgr()), 'yuyv')
    msg.step -= 1
    with pytest.raises(ImageFormatError, match='step'):
        image_to_frame(msg, False, keep_yuv=True)
