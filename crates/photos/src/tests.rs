//! Processing real files of every format made here: metadata gone, orientation applied,
//! thumbnails bounded, and every kind of bad file refused with its error.

use std::io::Cursor;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage, RgbaImage};
use img_parts::{ImageEXIF, ImageICC};

use super::*;

/// A little-endian TIFF/EXIF block with an orientation tag and a GPS pointer (what phones
/// write), followed by a recognisable marker string.
fn exif(orientation: u16) -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(b"II*\0");
    e.extend_from_slice(&8u32.to_le_bytes());
    e.extend_from_slice(&2u16.to_le_bytes()); // two entries
                                              // 0x0112 Orientation, SHORT, 1, value
    e.extend_from_slice(&0x0112u16.to_le_bytes());
    e.extend_from_slice(&3u16.to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&orientation.to_le_bytes());
    e.extend_from_slice(&[0, 0]);
    // 0x8825 GPSInfo pointer (LONG), pointing past the IFD
    e.extend_from_slice(&0x8825u16.to_le_bytes());
    e.extend_from_slice(&4u16.to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&38u32.to_le_bytes());
    e.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    e.extend_from_slice(b"GPS-37.5665N-126.9780E");
    e
}

/// A picture whose left half is red and right half blue, so a turn can be seen in pixels.
fn halves(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            image::Rgb([250, 0, 0])
        } else {
            image::Rgb([0, 0, 250])
        }
    })
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// A JPEG as a phone writes it: EXIF (orientation, GPS), XMP, a comment, a colour profile.
fn phone_jpeg(img: &RgbImage, orientation: u16) -> Bytes {
    let mut j = img_parts::jpeg::Jpeg::from_bytes(Bytes::from(jpeg(img))).unwrap();
    // Trailing data after the picture, as phones append (MPF), with a secret of its own.
    j.set_exif(Some(Bytes::from(exif(orientation))));
    j.set_icc_profile(Some(Bytes::from_static(b"fake-icc-profile-bytes")));
    let mut xmp =
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>CreatorTool=SECRET-XMP</x:xmpmeta>".to_vec();
    xmp.truncate(200);
    j.segments_mut().insert(
        1,
        img_parts::jpeg::JpegSegment::new_with_contents(0xE1, Bytes::from(xmp)),
    );
    j.segments_mut().insert(
        1,
        img_parts::jpeg::JpegSegment::new_with_contents(
            0xFE,
            Bytes::from_static(b"SECRET-COMMENT"),
        ),
    );
    let mut out = j.encoder().bytes().to_vec();
    out.extend_from_slice(b"\xFF\xD8MPF-SECOND-IMAGE GPS-37.5665N\xFF\xD9");
    Bytes::from(out)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn run(bytes: Bytes) -> Result<ProcessedPhoto, PhotoError> {
    let limits = ProcessLimits::default();
    let found = inspect(Cursor::new(&bytes[..]), &limits)?;
    process(bytes, &found, &limits)
}

fn assert_no_metadata(out: &[u8]) {
    for secret in [
        &b"GPS-37.5665N"[..],
        b"SECRET-XMP",
        b"SECRET-COMMENT",
        b"Exif\0",
        b"SECRET-TEXT",
    ] {
        assert!(
            !contains(out, secret),
            "{} survived",
            String::from_utf8_lossy(secret)
        );
    }
}

#[test]
fn a_phone_jpeg_loses_its_metadata_and_keeps_its_pixels_and_colour_profile() {
    let input = phone_jpeg(&halves(64, 32), 1);
    assert!(contains(&input, b"GPS-37.5665N") && contains(&input, b"SECRET-XMP"));
    let out = run(input.clone()).unwrap();
    assert_eq!(out.media, MediaType::Jpeg);
    assert_eq!((out.width, out.height), (64, 32));
    assert_no_metadata(&out.bytes);
    assert!(
        contains(&out.bytes, b"fake-icc-profile-bytes"),
        "the colour profile was dropped"
    );
    // Not re-encoded: the compressed picture data is the same, only segments went.
    assert!(out.bytes.len() < input.len());
    let decoded = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 32));
}

#[test]
fn an_orientation_is_applied_and_then_forgotten() {
    // 6: the camera was turned; the picture is shown turned 90° clockwise.
    let out = run(phone_jpeg(&halves(64, 32), 6)).unwrap();
    assert_eq!((out.width, out.height), (32, 64));
    assert_no_metadata(&out.bytes);
    let decoded = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    assert_eq!((decoded.width(), decoded.height()), (32, 64));
    // Turned clockwise, the left (red) half is on top.
    let top = decoded.get_pixel(16, 4);
    let bottom = decoded.get_pixel(16, 60);
    assert!(top[0] > 200 && top[2] < 60, "top is {top:?}");
    assert!(bottom[2] > 200 && bottom[0] < 60, "bottom is {bottom:?}");
    let thumb = image::load_from_memory(&out.thumbnail).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (32, 64));
}

#[test]
fn png_text_and_exif_chunks_are_dropped() {
    let img = RgbaImage::from_fn(40, 30, |x, y| image::Rgba([x as u8, y as u8, 9, 200]));
    let mut raw = Vec::new();
    PngEncoder::new(&mut raw)
        .write_image(img.as_raw(), 40, 30, ExtendedColorType::Rgba8)
        .unwrap();
    let mut png = img_parts::png::Png::from_bytes(Bytes::from(raw)).unwrap();
    let at = png.chunks().len() - 1;
    png.chunks_mut().insert(
        at,
        img_parts::png::PngChunk::new(*b"tEXt", Bytes::from_static(b"Comment\0SECRET-TEXT")),
    );
    png.set_exif(Some(Bytes::from(exif(1))));
    let input = png.encoder().bytes();
    assert!(contains(&input, b"SECRET-TEXT") && contains(&input, b"GPS-37.5665N"));
    let out = run(input).unwrap();
    assert_eq!(out.media, MediaType::Png);
    assert_no_metadata(&out.bytes);
    let decoded = image::load_from_memory(&out.bytes).unwrap().to_rgba8();
    assert_eq!(decoded, img, "the pixels changed");
    // Transparency keeps the thumbnail a PNG.
    assert_eq!(out.thumbnail_media, MediaType::Png);
}

#[test]
fn webp_exif_and_xmp_chunks_are_dropped_and_the_flags_follow() {
    let img = halves(50, 20);
    let mut raw = Vec::new();
    WebPEncoder::new_lossless(&mut raw)
        .write_image(img.as_raw(), 50, 20, ExtendedColorType::Rgb8)
        .unwrap();
    let mut webp = img_parts::webp::WebP::from_bytes(Bytes::from(raw)).unwrap();
    webp.set_exif(Some(Bytes::from(exif(1))));
    webp.chunks_mut().push(img_parts::riff::RiffChunk::new(
        *b"XMP ",
        img_parts::riff::RiffContent::Data(Bytes::from_static(b"<x>SECRET-XMP</x>")),
    ));
    let input = webp.encoder().bytes();
    assert!(contains(&input, b"SECRET-XMP"));
    let out = run(input).unwrap();
    assert_eq!(out.media, MediaType::Webp);
    assert_no_metadata(&out.bytes);
    let back = img_parts::webp::WebP::from_bytes(out.bytes.clone()).unwrap();
    if let Some(vp8x) = back.chunk_by_id(*b"VP8X") {
        let flags = vp8x.content().data().unwrap()[0];
        assert_eq!(flags & 0b1100, 0, "VP8X still announces EXIF or XMP");
    }
    let decoded = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    assert_eq!(decoded, img);
}

fn animated_gif(frames: u16, comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let palette = [255u8, 0, 0, 0, 0, 255];
        let mut enc = gif::Encoder::new(&mut out, 8, 8, &palette).unwrap();
        enc.set_repeat(gif::Repeat::Infinite).unwrap();
        enc.write_extension(gif::ExtensionData::new_control_ext(
            10,
            gif::DisposalMethod::Keep,
            false,
            None,
        ))
        .unwrap();
        enc.write_raw_extension(gif::Extension::Comment.into(), &[comment])
            .unwrap();
        for i in 0..frames {
            let frame = gif::Frame {
                width: 8,
                height: 8,
                buffer: std::borrow::Cow::Owned(vec![(i % 2) as u8; 64]),
                ..gif::Frame::default()
            };
            enc.write_frame(&frame).unwrap();
        }
    }
    out
}

#[test]
fn a_gif_keeps_its_frames_and_loop_and_loses_its_comments() {
    let input = Bytes::from(animated_gif(3, b"SECRET-COMMENT"));
    assert!(contains(&input, b"SECRET-COMMENT"));
    let out = run(input).unwrap();
    assert_eq!(out.media, MediaType::Gif);
    assert_no_metadata(&out.bytes);
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut d = options.read_info(Cursor::new(&out.bytes[..])).unwrap();
    assert_eq!(d.repeat(), gif::Repeat::Infinite);
    let mut n = 0;
    while let Some(f) = d.read_next_frame().unwrap() {
        assert_eq!(f.buffer[0], (n % 2) as u8, "frame {n} changed");
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn too_many_gif_frames_are_too_large() {
    let limits = ProcessLimits {
        max_frames: 5,
        ..ProcessLimits::default()
    };
    let input = Bytes::from(animated_gif(6, b"x"));
    let found = inspect(Cursor::new(&input[..]), &limits).unwrap();
    assert!(matches!(
        process(input, &found, &limits),
        Err(PhotoError::TooLarge(_))
    ));
}

#[test]
fn thumbnails_fit_320_pixels() {
    let out = run(Bytes::from(jpeg(&halves(1000, 500)))).unwrap();
    let thumb = image::load_from_memory(&out.thumbnail).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 160));
    assert_eq!(out.thumbnail_media, MediaType::Jpeg);
    let small = run(Bytes::from(jpeg(&halves(100, 300)))).unwrap();
    let thumb = image::load_from_memory(&small.thumbnail).unwrap();
    assert_eq!(
        (thumb.width(), thumb.height()),
        (100, 300),
        "a photo within 320 px stays its size"
    );
    let tall = run(Bytes::from(jpeg(&halves(300, 3000)))).unwrap();
    let thumb = image::load_from_memory(&tall.thumbnail).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (32, 320));
}

#[test]
fn what_is_not_a_photo_is_unsupported() {
    let cases: [(&str, &[u8]); 7] = [
        ("svg", b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"),
        ("html", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
        ("zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00aaaaaaaaaaaaaaaaaaaaaaa"),
        ("text", b"hello, this is not a photo at all"),
        ("empty", b""),
        ("bmp", b"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x18\x00"),
    ];
    for (name, bytes) in cases {
        let r = inspect(Cursor::new(bytes), &ProcessLimits::default());
        assert!(
            matches!(r, Err(PhotoError::Unsupported(_))),
            "{name}: {r:?}"
        );
    }
}

#[test]
fn truncated_files_are_refused() {
    let jpeg = Bytes::from(jpeg(&halves(200, 100)));
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(halves(200, 100).as_raw(), 200, 100, ExtendedColorType::Rgb8)
        .unwrap();
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .write_image(halves(200, 100).as_raw(), 200, 100, ExtendedColorType::Rgb8)
        .unwrap();
    let gif = animated_gif(3, b"c");
    for (name, whole) in [
        ("jpeg", jpeg.to_vec()),
        ("png", png),
        ("webp", webp),
        ("gif", gif),
    ] {
        assert!(run(Bytes::from(whole.clone())).is_ok(), "{name} whole");
        for cut in [whole.len() * 2 / 3, whole.len() - 3] {
            let r = run(Bytes::from(whole[..cut].to_vec()));
            assert!(
                matches!(r, Err(PhotoError::Unsupported(_))),
                "{name} cut at {cut} of {}: {:?}",
                whole.len(),
                r.map(|p| p.bytes.len())
            );
        }
    }
}

#[test]
fn pixel_bombs_are_refused_from_the_header() {
    // A real small JPEG whose frame header claims 60000×60000 pixels: 3.6 gigapixels.
    let bomb = with_jpeg_size(60000, 60000);
    let r = inspect(Cursor::new(&bomb), &ProcessLimits::default());
    assert!(matches!(r, Err(PhotoError::TooLarge(_))), "{r:?}");
    // A GIF whose screen is 65535×65535.
    let mut gif = animated_gif(1, b"c");
    gif[6..8].copy_from_slice(&65535u16.to_le_bytes());
    gif[8..10].copy_from_slice(&65535u16.to_le_bytes());
    let r = inspect(Cursor::new(&gif), &ProcessLimits::default());
    assert!(matches!(r, Err(PhotoError::TooLarge(_))), "{r:?}");
    // Just over 40 megapixels, an honest header.
    let limits = ProcessLimits {
        max_pixels: 40_000_000,
        ..ProcessLimits::default()
    };
    assert!(matches!(
        inspect(Cursor::new(&with_jpeg_size(8000, 5001)), &limits),
        Err(PhotoError::TooLarge(_))
    ));
    assert!(inspect(Cursor::new(&with_jpeg_size(8000, 5000)), &limits).is_ok());
}

/// A real 16×16 JPEG with its frame header (SOF0) rewritten to claim `w`×`h`.
fn with_jpeg_size(w: u16, h: u16) -> Vec<u8> {
    let mut j = jpeg(&halves(16, 16));
    let at = j.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
    j[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
    j[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
    j
}

#[test]
fn errors_map_to_their_codes() {
    let e: ChatError = PhotoError::Unsupported("x".into()).into();
    assert_eq!(e.code(), "unsupported_media_type");
    let e: ChatError = PhotoError::TooLarge("x".into()).into();
    assert_eq!(e.code(), "too_large");
    let found = Inspected {
        media: MediaType::Jpeg,
        width: 8000,
        height: 5000,
    };
    assert!(found.decode_cost() >= 8000 * 5000 * 8);
}
