//! The safety settings (`--admin-token`, `--safety-rules`, `--safety-mask`, `--rate-limits`),
//! validated: a rules file that does not load, or a limit that does not parse, stops the start
//! with a message naming the flag.

use std::time::Duration;

use crate::config::{bad, ConfigError, RawSettings};
use crate::rate_limits::{Limit, LimitSettings};

/// Validated safety settings.
#[derive(Clone)]
pub struct SafetySettings {
    /// The operators' bearer token; `None` turns the operators' API off.
    pub admin_token: Option<String>,
    /// The operator's rules file, read (appended to the shipped rules).
    pub extra_rules: Option<String>,
    /// Mask flagged numbers before storage.
    pub mask: bool,
    /// The rate limits in force.
    pub limits: LimitSettings,
}

impl std::fmt::Debug for SafetySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetySettings")
            .field("admin_token", &self.admin_token.as_ref().map(|_| "…"))
            .field("extra_rules", &self.extra_rules.as_ref().map(String::len))
            .field("mask", &self.mask)
            .field("limits", &self.limits)
            .finish()
    }
}

impl SafetySettings {
    pub(crate) fn resolve(raw: &RawSettings) -> Result<Self, ConfigError> {
        let admin_token = match &raw.admin_token {
            Some(t) if t.len() < 16 => {
                return Err(bad("--admin-token", "must be at least 16 bytes"))
            }
            other => other.clone(),
        };
        let extra_rules = match &raw.safety_rules {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    bad(
                        "--safety-rules",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                // Loaded once here so that a bad file stops the start, not the first message.
                chat_core::safety::Detector::new(&[&text], false)
                    .map_err(|e| bad("--safety-rules", e.to_string()))?;
                Some(text)
            }
        };
        let limits = match &raw.rate_limits {
            None => LimitSettings::default(),
            Some(spec) => LimitSettings::parse(spec).map_err(|e| bad("--rate-limits", e))?,
        };
        Ok(SafetySettings {
            admin_token,
            extra_rules,
            mask: raw.safety_mask.unwrap_or(false),
            limits,
        })
    }
}

/// Reads `RATE/PERIOD[:BURST]` (`10/s:30`, `30/m`, `5/h:2`) or `off`.
pub(crate) fn parse_limit(spec: &str) -> Result<Option<Limit>, String> {
    let spec = spec.trim();
    if spec == "off" {
        return Ok(None);
    }
    let (rate, burst) = match spec.split_once(':') {
        Some((r, b)) => (r, Some(b)),
        None => (spec, None),
    };
    let (count, period) = rate
        .split_once('/')
        .ok_or_else(|| format!("'{spec}' is not RATE/PERIOD[:BURST], e.g. 10/s:30"))?;
    let count: u32 = count
        .trim()
        .parse()
        .ok()
        .filter(|c| (1..=1_000_000).contains(c))
        .ok_or_else(|| format!("'{spec}': the rate must be 1 to 1000000"))?;
    let period = match period.trim() {
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => return Err(format!("'{spec}': the period '{other}' is not s, m or h")),
    };
    let burst = match burst {
        None => count,
        Some(b) => b
            .trim()
            .parse()
            .ok()
            .filter(|b| (1..=1_000_000).contains(b))
            .ok_or_else(|| format!("'{spec}': the burst must be 1 to 1000000"))?,
    };
    Ok(Some(Limit {
        count,
        period,
        burst,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(raw: RawSettings) -> Result<SafetySettings, ConfigError> {
        SafetySettings::resolve(&raw)
    }

    #[test]
    fn each_bad_setting_names_its_flag() {
        let short = RawSettings {
            admin_token: Some("short".into()),
            ..Default::default()
        };
        assert_eq!(resolve(short).unwrap_err().name, "--admin-token");
        let limits = RawSettings {
            rate_limits: Some("messages=fast".into()),
            ..Default::default()
        };
        let e = resolve(limits).unwrap_err();
        assert_eq!(e.name, "--rate-limits");
        assert!(
            e.reason.contains("messages=fast") || e.reason.contains("fast"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let missing = RawSettings {
            safety_rules: Some(dir.path().join("none.toml")),
            ..Default::default()
        };
        assert_eq!(resolve(missing).unwrap_err().name, "--safety-rules");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[messenger]\npatterns = ['(']\n").unwrap();
        let e = resolve(RawSettings {
            safety_rules: Some(bad),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.name, "--safety-rules");
        assert!(e.reason.contains("[messenger]"), "{e}");
    }

    #[test]
    fn good_settings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.toml");
        std::fs::write(&rules, "[messenger]\npatterns = ['디스코드']\n").unwrap();
        let s = resolve(RawSettings {
            admin_token: Some("0123456789abcdef".into()),
            safety_rules: Some(rules),
            safety_mask: Some(true),
            rate_limits: Some("off".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(s.mask);
        assert_eq!(s.admin_token.as_deref(), Some("0123456789abcdef"));
        assert!(s.extra_rules.unwrap().contains("디스코드"));
        assert_eq!(s.limits.get(crate::rate_limits::Kind::Messages), None);
        let defaults = resolve(RawSettings::default()).unwrap();
        assert!(!defaults.mask && defaults.admin_token.is_none());
        assert!(defaults
            .limits
            .get(crate::rate_limits::Kind::Messages)
            .is_some());
    }
}
