//! The four kinds of scam and off-platform warning a message can carry, and the small set of
//! them that travels with a message (stored as a bit mask, shown as a list of names).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a message is risky (API-v2 "Safety"): what a scammer sends to move the deal out of the
/// marketplace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Warning {
    /// A phone number.
    PhoneNumber,
    /// A bank account number (or an account holder's line).
    BankAccount,
    /// A messenger id or link: the chat moving elsewhere.
    Messenger,
    /// A request to pay first, outside the app's safe payment.
    Prepayment,
}

impl Warning {
    /// Every kind, in the order a list shows them.
    pub const ALL: [Warning; 4] = [
        Warning::PhoneNumber,
        Warning::BankAccount,
        Warning::Messenger,
        Warning::Prepayment,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Warning::PhoneNumber => "PHONE_NUMBER",
            Warning::BankAccount => "BANK_ACCOUNT",
            Warning::Messenger => "MESSENGER",
            Warning::Prepayment => "PREPAYMENT",
        }
    }

    /// Reads the wire spelling.
    pub fn parse(s: &str) -> Option<Warning> {
        Warning::ALL.into_iter().find(|w| w.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The warnings of one message: a set, stored as a small integer (`messages.warnings`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Warnings(u8);

impl Warnings {
    /// No warning.
    pub const NONE: Warnings = Warnings(0);

    /// Whether the message carries none.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Adds one.
    pub fn insert(&mut self, w: Warning) {
        self.0 |= w.bit();
    }

    /// Whether `w` is among them.
    pub fn contains(self, w: Warning) -> bool {
        self.0 & w.bit() != 0
    }

    /// The warnings, in [`Warning::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Warning> {
        Warning::ALL.into_iter().filter(move |w| self.contains(*w))
    }

    /// The stored form.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// Reads the stored form; bits this node does not know (a newer node's kinds) are dropped.
    pub fn from_bits(bits: i64) -> Warnings {
        let known = Warning::ALL.iter().fold(0u8, |acc, w| acc | w.bit());
        Warnings((bits & i64::from(known)) as u8)
    }
}

impl FromIterator<Warning> for Warnings {
    fn from_iter<I: IntoIterator<Item = Warning>>(iter: I) -> Self {
        let mut set = Warnings::NONE;
        for w in iter {
            set.insert(w);
        }
        set
    }
}

impl Serialize for Warnings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Warning::as_str))
    }
}

impl<'de> Deserialize<'de> for Warnings {
    /// Names this node does not know are skipped (a newer node may add kinds).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names: Vec<String> = Vec::deserialize(deserializer)?;
        Ok(names.iter().filter_map(|n| Warning::parse(n)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_round_trip_as_bits_and_names() {
        let set: Warnings = [Warning::Prepayment, Warning::PhoneNumber]
            .into_iter()
            .collect();
        assert_eq!(Warnings::from_bits(set.bits()), set);
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["PHONE_NUMBER","PREPAYMENT"]"#
        );
        let back: Warnings =
            serde_json::from_str(r#"["PREPAYMENT","FUTURE_KIND","PHONE_NUMBER"]"#).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            Warnings::from_bits(0xF0 | 2),
            [Warning::BankAccount].into_iter().collect()
        );
        assert!(Warnings::NONE.is_empty());
        for w in Warning::ALL {
            assert_eq!(Warning::parse(w.as_str()), Some(w));
        }
    }
}
