//! Removing metadata from each format, re-encoding a turned picture in its own format, and
//! making thumbnails.

use std::io::Cursor;

use bytes::Bytes;
use chat_core::attachment::MediaType;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder, ImageError};
use img_parts::riff::RiffContent;

use crate::{damaged, PhotoError, ProcessLimits};

/// The quality a turned JPEG is re-encoded at: visually lossless for photos.
const JPEG_QUALITY: u8 = 90;

/// The quality of JPEG thumbnails.
const THUMBNAIL_QUALITY: u8 = 80;

/// PNG chunks that describe the picture (and animation); everything else (text, EXIF, time,
/// private chunks) is dropped.
const PNG_KEEP: [&[u8; 4]; 18] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
    b"cICP", b"mDCV", b"cLLI", b"bKGD", b"pHYs", b"acTL", b"fcTL", b"fdAT",
];

/// WebP chunks that describe the picture (and animation); EXIF and XMP are dropped.
const WEBP_KEEP: [&[u8; 4]; 7] = [
    b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];

/// The VP8X flag bits that announce EXIF and XMP chunks.
const WEBP_EXIF_XMP_FLAGS: u8 = 0b0000_1100;

/// JPEG markers of application segments (APP0–APP15) and comments.
fn jpeg_metadata(marker: u8, contents: &[u8]) -> bool {
    match marker {
        // APP2 holds the colour profile (kept) but also MPF and FlashPix data (dropped);
        // APP14 "Adobe" tells how colours are encoded, which decoders need.
        0xE2 => !contents.starts_with(b"ICC_PROFILE\0"),
        0xEE => !contents.starts_with(b"Adobe"),
        0xE0..=0xEF | 0xFE => true,
        _ => false,
    }
}

/// A JPEG up to its end-of-image marker without its metadata segments, walked marker by
/// marker (entropy-coded data only ever holds `FF` followed by `00` or a restart marker).
/// `None` when it ends before that marker: a truncated file. Whatever follows the marker (a
/// phone's MPF pictures, with metadata of their own) is not kept.
pub(crate) fn strip_jpeg(b: &[u8]) -> Option<Bytes> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    while i < b.len() {
        if b[i] != 0xFF {
            // Entropy-coded data (or stray bytes between segments, which decoders skip).
            let run = b[i..]
                .iter()
                .position(|&x| x == 0xFF)
                .unwrap_or(b.len() - i);
            out.extend_from_slice(&b[i..i + run]);
            i += run;
            continue;
        }
        let marker = *b.get(i + 1)?;
        match marker {
            // Stuffed byte, restart markers, TEM: part of the data.
            0x00 | 0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&b[i..i + 2]);
                i += 2;
            }
            // A fill byte before a marker.
            0xFF => {
                out.push(0xFF);
                i += 1;
            }
            0xD9 => {
                out.extend_from_slice(&b[i..i + 2]);
                return Some(Bytes::from(out));
            }
            0xD8 => return None,
            _ => {
                let len = usize::from(u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]));
                let end = i + 2 + len;
                if len < 2 || end > b.len() {
                    return None;
                }
                if !jpeg_metadata(marker, &b[i + 4..end]) {
                    out.extend_from_slice(&b[i..end]);
                }
                i = end;
            }
        }
    }
    None
}

/// Drops the metadata of a picture that needs no turning, keeping its picture data as it is.
pub(crate) fn strip(
    bytes: Bytes,
    media: MediaType,
    limits: &ProcessLimits,
) -> Result<Bytes, PhotoError> {
    match media {
        MediaType::Jpeg => strip_jpeg(&bytes).ok_or_else(|| damaged(media)),
        MediaType::Png => {
            let mut png = img_parts::png::Png::from_bytes(bytes).map_err(|_| damaged(media))?;
            png.chunks_mut()
                .retain(|c| PNG_KEEP.iter().any(|k| **k == c.kind()));
            Ok(png.encoder().bytes())
        }
        MediaType::Webp => {
            let mut webp = img_parts::webp::WebP::from_bytes(bytes).map_err(|_| damaged(media))?;
            webp.chunks_mut()
                .retain(|c| WEBP_KEEP.iter().any(|k| **k == c.id()));
            for chunk in webp.chunks_mut() {
                if chunk.id() == *b"VP8X" {
                    if let RiffContent::Data(data) = chunk.content_mut() {
                        if let Some(&flags) = data.first() {
                            let mut v = data.to_vec();
                            v[0] = flags & !WEBP_EXIF_XMP_FLAGS;
                            *data = Bytes::from(v);
                        }
                    }
                }
            }
            Ok(webp.encoder().bytes())
        }
        MediaType::Gif => copy_gif_frames(&bytes, limits),
    }
}

/// Copies a GIF's frames (compressed, as they are) into a new file: comments, XMP and other
/// application extensions are not copied; the loop count is. Counts frames and their pixels
/// without decompressing them.
fn copy_gif_frames(bytes: &[u8], limits: &ProcessLimits) -> Result<Bytes, PhotoError> {
    let bad = |_| damaged(MediaType::Gif);
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(bad)?;
    let (width, height) = (decoder.width(), decoder.height());
    let palette = decoder
        .global_palette()
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let repeat = decoder.repeat();
    let mut out = Vec::with_capacity(bytes.len());
    {
        let mut encoder = gif::Encoder::new(&mut out, width, height, &palette)
            .map_err(|_| damaged(MediaType::Gif))?;
        encoder
            .set_repeat(repeat)
            .map_err(|_| damaged(MediaType::Gif))?;
        let mut frames = 0u32;
        let mut pixels = 0u64;
        while let Some(frame) = decoder.read_next_frame().map_err(bad)? {
            frames += 1;
            pixels += u64::from(frame.width) * u64::from(frame.height);
            if frames > limits.max_frames || pixels > limits.max_total_frame_pixels {
                return Err(PhotoError::TooLarge(format!(
                    "the animation is too long (at most {} frames and {:.0} megapixels in all)",
                    limits.max_frames,
                    limits.max_total_frame_pixels as f64 / 1e6
                )));
            }
            encoder
                .write_lzw_pre_encoded_frame(frame)
                .map_err(|_| damaged(MediaType::Gif))?;
        }
        if frames == 0 {
            return Err(damaged(MediaType::Gif));
        }
    }
    Ok(Bytes::from(out))
}

/// Encodes a (turned) picture in its own format, with its colour profile and nothing else.
pub(crate) fn reencode(
    image: &DynamicImage,
    media: MediaType,
    icc: Option<Vec<u8>>,
) -> Result<Bytes, ImageError> {
    let mut out = Vec::new();
    match media {
        MediaType::Jpeg => {
            // A decoded JPEG is RGB already: no copy of a picture that may be 120 MB.
            return match image.as_rgb8() {
                Some(rgb) => jpeg(rgb, JPEG_QUALITY, icc.as_deref()),
                None => jpeg(&image.to_rgb8(), JPEG_QUALITY, icc.as_deref()),
            };
        }
        MediaType::Png | MediaType::Gif => {
            let mut encoder = PngEncoder::new(&mut out);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            encoder.write_image(
                image.as_bytes(),
                image.width(),
                image.height(),
                image.color().into(),
            )?;
        }
        MediaType::Webp => {
            let mut encoder = WebPEncoder::new_lossless(&mut out);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            let rgba = image.to_rgba8();
            encoder.write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )?;
        }
    }
    Ok(Bytes::from(out))
}

/// A thumbnail at most `edge` pixels on its longer side: JPEG, or PNG when the picture has
/// transparency.
pub(crate) fn thumbnail(image: &DynamicImage, edge: u32) -> Result<(Bytes, MediaType), ImageError> {
    let small = if image.width() > edge || image.height() > edge {
        image.thumbnail(edge, edge)
    } else {
        image.clone()
    };
    let mut out = Vec::new();
    if small.color().has_alpha() {
        let rgba = small.to_rgba8();
        PngEncoder::new(&mut out).write_image(
            rgba.as_raw(),
            rgba.width(),
            rgba.height(),
            image::ExtendedColorType::Rgba8,
        )?;
        Ok((Bytes::from(out), MediaType::Png))
    } else {
        Ok((
            jpeg(&small.to_rgb8(), THUMBNAIL_QUALITY, None)?,
            MediaType::Jpeg,
        ))
    }
}

/// Encodes RGB pixels as a JPEG with the `jpeg-encoder` crate (SIMD): the image crate's own
/// encoder took 60% of an upload's CPU (docs/BENCHMARKS.md, photos).
fn jpeg(rgb: &image::RgbImage, quality: u8, icc: Option<&[u8]>) -> Result<Bytes, ImageError> {
    let failed = |e: jpeg_encoder::EncodingError| {
        ImageError::Encoding(image::error::EncodingError::new(
            image::error::ImageFormatHint::Exact(image::ImageFormat::Jpeg),
            e,
        ))
    };
    let (Ok(w), Ok(h)) = (u16::try_from(rgb.width()), u16::try_from(rgb.height())) else {
        // JPEG itself cannot be larger; the pixel limit keeps photos far below it.
        return Err(failed(jpeg_encoder::EncodingError::BadImageData {
            length: 0,
            required: 0,
        }));
    };
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    // Chroma at half resolution each way, as phones write their photos (the encoder's default
    // at quality 90 keeps it whole: a third more work and bytes for colour the eye cannot see).
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    if let Some(icc) = icc {
        // A profile the encoder cannot embed is left out: the colours stay close.
        let _ = encoder.add_icc_profile(icc);
    }
    encoder
        .encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(failed)?;
    Ok(Bytes::from(out))
}
