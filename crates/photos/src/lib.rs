//! Photo processing, pure and blocking (run it off the async runtime): the type read from the
//! bytes, size and pixel limits checked from the header before any pixel is decoded, metadata
//! removed, EXIF orientation applied, and a thumbnail made.
//!
//! The stored image keeps its format. It is re-encoded only when its pixels must turn (an EXIF
//! orientation other than "as stored") or when its format cannot be cleaned losslessly (GIF,
//! whose frames are copied as they are, compressed); otherwise the metadata segments and chunks
//! are dropped and the picture data is kept bit for bit, so a photo loses no quality.

mod clean;

use std::io::{BufRead, Cursor, Seek};

use bytes::Bytes;
use chat_core::attachment::MediaType;
use chat_core::photos::ProcessedPhoto;
use chat_core::ChatError;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use thiserror::Error;

/// Why a file was not taken.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PhotoError {
    /// Not a JPEG, PNG, WebP or GIF, or a damaged one (`415 unsupported_media_type`).
    #[error("{0}")]
    Unsupported(String),
    /// Over a pixel or frame limit (`413 too_large`).
    #[error("{0}")]
    TooLarge(String),
}

impl From<PhotoError> for ChatError {
    fn from(e: PhotoError) -> Self {
        match e {
            PhotoError::Unsupported(message) => ChatError::Unsupported {
                code: "unsupported_media_type",
                message,
            },
            PhotoError::TooLarge(message) => ChatError::TooLarge {
                code: "too_large",
                message,
            },
        }
    }
}

/// Limits of processing.
#[derive(Clone, Debug)]
pub struct ProcessLimits {
    /// Most pixels of an image (per frame for an animation).
    pub max_pixels: u64,
    /// Most frames of an animated GIF.
    pub max_frames: u32,
    /// Most pixels over all frames of an animated GIF.
    pub max_total_frame_pixels: u64,
    /// The thumbnail's longer side.
    pub thumbnail_edge: u32,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        ProcessLimits {
            max_pixels: 40_000_000,
            max_frames: 500,
            max_total_frame_pixels: 200_000_000,
            thumbnail_edge: 320,
        }
    }
}

/// What the header says, read before any pixel is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inspected {
    /// The type, from the bytes.
    pub media: MediaType,
    /// Width in pixels, as stored.
    pub width: u32,
    /// Height in pixels, as stored.
    pub height: u32,
}

impl Inspected {
    /// Bytes of memory decoding and processing this image may take at most: the decoded pixels
    /// (four bytes each at most) twice (turning makes a copy), plus the thumbnail's work.
    pub fn decode_cost(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height) * 4 * 2 + 4 * 1024 * 1024
    }
}

fn unsupported(what: &str) -> PhotoError {
    PhotoError::Unsupported(format!(
        "{what}; photos must be JPEG, PNG, WebP or GIF images"
    ))
}

fn damaged(media: MediaType) -> PhotoError {
    PhotoError::Unsupported(format!(
        "the file is not a complete, readable {} image",
        media.as_mime()
    ))
}

/// The type of a file from its first bytes (at least 16 are needed), whatever its name or
/// declared type says.
pub fn sniff(head: &[u8]) -> Result<MediaType, PhotoError> {
    match infer::get(head).map(|t| t.mime_type()) {
        Some("image/jpeg") => Ok(MediaType::Jpeg),
        Some("image/png") => Ok(MediaType::Png),
        Some("image/webp") => Ok(MediaType::Webp),
        Some("image/gif") => Ok(MediaType::Gif),
        Some(other) => Err(unsupported(&format!("the file is {other}"))),
        None => Err(unsupported("the file's type is not recognised")),
    }
}

fn format_of(media: MediaType) -> ImageFormat {
    match media {
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Png => ImageFormat::Png,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Gif => ImageFormat::Gif,
    }
}

/// Reads the type and dimensions from the start of a file and checks the pixel limit; decodes
/// no pixel.
pub fn inspect<R: BufRead + Seek>(
    mut file: R,
    limits: &ProcessLimits,
) -> Result<Inspected, PhotoError> {
    let mut head = [0u8; 32];
    let mut n = 0;
    while n < head.len() {
        let got = file
            .read(&mut head[n..])
            .map_err(|_| unsupported("the file cannot be read"))?;
        if got == 0 {
            break;
        }
        n += got;
    }
    let media = sniff(&head[..n])?;
    file.rewind()
        .map_err(|_| unsupported("the file cannot be read"))?;
    let (width, height) = ImageReader::with_format(file, format_of(media))
        .into_dimensions()
        .map_err(|_| damaged(media))?;
    if width == 0 || height == 0 {
        return Err(damaged(media));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(PhotoError::TooLarge(format!(
            "the image is {width}×{height} ({:.1} megapixels); at most {:.0} megapixels",
            pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    Ok(Inspected {
        media,
        width,
        height,
    })
}

/// Decodes the (first) picture with the memory it may take bounded, and reads its orientation
/// and colour profile.
fn decode(
    bytes: &[u8],
    found: &Inspected,
) -> Result<(DynamicImage, Orientation, Option<Vec<u8>>), PhotoError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format_of(found.media));
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(found.width);
    limits.max_image_height = Some(found.height);
    limits.max_alloc = Some(found.decode_cost());
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| damaged(found.media))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(|_| damaged(found.media))?;
    Ok((image, orientation, icc))
}

/// Processes an upload whose header [`inspect`] accepted: metadata removed, orientation
/// applied, thumbnail made.
pub fn process(
    bytes: Bytes,
    found: &Inspected,
    limits: &ProcessLimits,
) -> Result<ProcessedPhoto, PhotoError> {
    // Cleaning first also checks the file's structure to its end (decoders forgive a
    // truncated file by filling it in grey).
    let stripped = clean::strip(bytes.clone(), found.media, limits)?;
    let (mut image, orientation, icc) = decode(&bytes, found)?;
    let stored = if orientation == Orientation::NoTransforms {
        stripped
    } else {
        image.apply_orientation(orientation);
        clean::reencode(&image, found.media, icc).map_err(|_| damaged(found.media))?
    };
    let thumbnail =
        clean::thumbnail(&image, limits.thumbnail_edge).map_err(|_| damaged(found.media))?;
    Ok(ProcessedPhoto {
        media: found.media,
        bytes: stored,
        width: image.width(),
        height: image.height(),
        thumbnail: thumbnail.0,
        thumbnail_media: thumbnail.1,
    })
}

#[cfg(test)]
mod tests;
