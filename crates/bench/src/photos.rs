//! The photo load (API-v2 "Photos"): uploads per second and upload latency of phone photos
//! from many clients at once, and the server's peak memory while many large photos upload at
//! once against its decode budget. reuse-chat only.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::procstat::{rss_bytes, Snapshot};
use crate::report::{latency_histogram, Percentiles, Report};
use crate::scenario::Bench;
use crate::target::Kind;
use crate::BenchError;

/// The sensor noise's spread: with it a 12 MP photo is about 3 MB, as phones write them.
const PHONE_NOISE: u32 = 15;

/// A quieter sensor for the 40 MP photos, so that they stay under the 10 MiB upload limit.
const LARGE_NOISE: u32 = 9;

/// A photo as a phone takes it: `megapixels` at 4:3, a scene of smooth light with sensor
/// noise of spread `noise` (so it compresses like a photo), JPEG quality 92, and an EXIF
/// block with `orientation` (6: the phone was held upright, so the server turns it).
pub fn phone_photo(megapixels: f64, orientation: u16, noise: u32) -> Bytes {
    let w = ((megapixels * 1e6 * 4.0 / 3.0).sqrt()) as u32;
    let h = w * 3 / 4;
    let mut seed = 0x2545_f491_u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed % noise.max(1)) as i32 - noise as i32 / 2
    };
    let mut raw = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let base = [
                (x * 200 / w) as i32 + 30,
                (y * 180 / h) as i32 + 40,
                ((x + y) * 120 / (w + h)) as i32 + 80,
            ];
            for c in base {
                raw.push((c + noise()).clamp(0, 255) as u8);
            }
        }
    }
    let mut jpeg = Vec::new();
    // Encoding an in-memory RGB buffer of the right size cannot fail.
    let _ = JpegEncoder::new_with_quality(&mut jpeg, 92).write_image(
        &raw,
        w,
        h,
        ExtendedColorType::Rgb8,
    );
    // APP1 "Exif": a little-endian TIFF with one entry, Orientation.
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    exif.extend_from_slice(&orientation.to_le_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = Vec::with_capacity(jpeg.len() + exif.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    Bytes::from(out)
}

fn form(photo: &Bytes) -> (String, Bytes) {
    let boundary = "----reuse-chat-bench";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"IMG_0001.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        Bytes::from(body),
    )
}

/// Uploads one photo; the status.
async fn upload(
    http: &reqwest::Client,
    url: &str,
    user: &str,
    content_type: &str,
    body: Bytes,
) -> Result<u16, BenchError> {
    let resp = http
        .post(url)
        .header("X-Auth-User", user)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .map_err(|e| BenchError::Http(format!("upload: {e}")))?;
    let status = resp.status().as_u16();
    // Read the answer whole, as a client does.
    let _ = resp.bytes().await;
    Ok(status)
}

impl Bench {
    /// `clients` clients each upload `megapixels` phone photos one after another for `secs`
    /// (each to a room of its own): uploads/s, latency from request to answer, server CPU per
    /// upload and its peak memory.
    pub async fn photo_upload(
        &self,
        clients: usize,
        megapixels: f64,
        orientation: u16,
        secs: Duration,
    ) -> Result<Report, BenchError> {
        let photo = phone_photo(megapixels, orientation, PHONE_NOISE);
        let params = format!(
            "clients={clients} megapixels={megapixels} orientation={orientation} bytes={}",
            photo.len()
        );
        self.uploads("photo-upload", params, clients, photo, Some(secs))
            .await
    }

    /// `parallel` clients upload one `megapixels` photo each, all at once: the server's peak
    /// memory (sampled every 10 ms) against its decode budget, and how long the last one took.
    pub async fn photo_memory(
        &self,
        parallel: usize,
        megapixels: f64,
    ) -> Result<Report, BenchError> {
        let photo = phone_photo(megapixels, 6, LARGE_NOISE);
        let params = format!(
            "parallel={parallel} megapixels={megapixels} bytes={}",
            photo.len()
        );
        self.uploads("photo-memory", params, parallel, photo, None)
            .await
    }

    /// `clients` clients upload `photo` to rooms of their own, one after another until `secs`
    /// are over, or once each when `None`; the server's RSS is sampled throughout and its peak
    /// reported as `server_rss_after`.
    async fn uploads(
        &self,
        scenario: &str,
        params: String,
        clients: usize,
        photo: Bytes,
        secs: Option<Duration>,
    ) -> Result<Report, BenchError> {
        if self.target.kind != Kind::ReuseChat {
            return Err(BenchError::Protocol(format!(
                "{scenario}: only reuse-chat takes photos"
            )));
        }
        let mut report = self.report(scenario, params);
        let rooms = self.target.member_rooms(&self.run, clients, 1).await?;
        let (content_type, body) = form(&photo);
        let http = reqwest::Client::new();
        let ok = Arc::new(AtomicU64::new(0));
        let lat = Arc::new(std::sync::Mutex::new(latency_histogram()));
        let peak = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = self.sample_rss(peak.clone(), done.clone());
        let s0 = Snapshot::take(self.server_pid);
        let deadline = secs.map(|s| Instant::now() + s);
        let mut set = JoinSet::new();
        for (user, room) in rooms {
            let url = format!("http://{}/room/{}/attachments", self.target.addr, room[0]);
            let (http, ct, body, ok, lat) = (
                http.clone(),
                content_type.clone(),
                body.clone(),
                ok.clone(),
                lat.clone(),
            );
            set.spawn(async move {
                loop {
                    let t = Instant::now();
                    let status = upload(&http, &url, &user, &ct, body.clone()).await?;
                    if status != 201 {
                        return Err(BenchError::Http(format!("upload answered {status}")));
                    }
                    ok.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut h) = lat.lock() {
                        let _ = h.record(t.elapsed().as_micros() as u64);
                    }
                    if deadline.is_none_or(|d| Instant::now() >= d) {
                        return Ok(());
                    }
                }
            });
        }
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => report.error(e),
                Err(e) => report.error(e),
            }
        }
        let s1 = Snapshot::take(self.server_pid);
        done.store(true, Ordering::Relaxed);
        let _ = sampler.await;
        let uploads = ok.load(Ordering::Relaxed);
        report.costs(&s0, &s1);
        report.sessions = clients as u64;
        report.sent = uploads;
        report.receipts = uploads;
        report.rate = uploads as f64 / report.seconds.max(1e-9);
        report.per_item(uploads);
        report.receipt_latency = lat.lock().ok().map(|h| Percentiles::of(&h));
        report.server_rss_after = Some(peak.load(Ordering::Relaxed)).filter(|p| *p > 0);
        Ok(report)
    }

    /// Samples the server's RSS every 10 ms into `peak` until `done`.
    fn sample_rss(
        &self,
        peak: Arc<AtomicU64>,
        done: Arc<AtomicBool>,
    ) -> tokio::task::JoinHandle<()> {
        let pid = self.server_pid;
        tokio::spawn(async move {
            let Some(pid) = pid else { return };
            while !done.load(Ordering::Relaxed) {
                if let Some(rss) = rss_bytes(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_photo_is_a_jpeg_with_its_orientation() {
        let p = phone_photo(0.3, 6, PHONE_NOISE);
        assert_eq!(&p[..4], &[0xFF, 0xD8, 0xFF, 0xE1]);
        assert!(p.windows(4).any(|w| w == b"Exif"));
        let img = image::load_from_memory(&p).unwrap();
        assert_eq!(img.width() * 3 / 4, img.height());
    }
}
