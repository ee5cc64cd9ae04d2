//! The warning rules as data: the shipped `safety/rules.toml`, an operator's file appended to
//! it (`--safety-rules`), read and checked once at start-up into what the detector runs.

use std::collections::HashMap;

use regex::{Regex, RegexSet};
use serde::Deserialize;
use thiserror::Error;

/// The rules shipped inside the binary.
pub const SHIPPED_RULES: &str = include_str!("../../safety/rules.toml");

/// Why a rules file cannot be used: named precisely, since an operator wrote it.
#[derive(Debug, Error)]
pub enum RulesError {
    /// Not TOML of the expected shape (an unknown key, a wrong type).
    #[error("the safety rules are not valid: {0}")]
    Shape(#[from] toml::de::Error),
    /// A pattern does not compile.
    #[error("[{section}] pattern {pattern:?} is not a valid regular expression: {source}")]
    Pattern {
        section: &'static str,
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    /// A value is out of range (a digit above 9, a key longer than one character, …).
    #[error("the safety rules are not valid: {0}")]
    Value(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    numbers: NumbersFile,
    #[serde(default)]
    phone: PatternsFile,
    #[serde(default)]
    bank_account: AccountFile,
    #[serde(default)]
    messenger: PatternsFile,
    #[serde(default)]
    prepayment: PatternsFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NumbersFile {
    #[serde(default)]
    hangul_digits: HashMap<String, u8>,
    #[serde(default)]
    symbol_digits: HashMap<String, u8>,
    #[serde(default)]
    lookalike_digits: HashMap<String, u8>,
    separators: Option<String>,
    ignored: Option<String>,
    max_separator_run: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PatternsFile {
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AccountFile {
    min_digits: Option<usize>,
    max_digits: Option<usize>,
    min_digits_with_bank: Option<usize>,
    window: Option<usize>,
    #[serde(default)]
    banks: Vec<String>,
    #[serde(default)]
    money_words: Vec<String>,
    #[serde(default)]
    other_number_words: Vec<String>,
    #[serde(default)]
    date_like: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
}

impl RulesFile {
    /// Appends `more`'s lists to this file's and lets its single values replace these.
    fn extend(&mut self, more: RulesFile) {
        let n = &mut self.numbers;
        n.hangul_digits.extend(more.numbers.hangul_digits);
        n.symbol_digits.extend(more.numbers.symbol_digits);
        n.lookalike_digits.extend(more.numbers.lookalike_digits);
        if let Some(s) = more.numbers.separators {
            n.separators.get_or_insert_with(String::new).push_str(&s);
        }
        if let Some(s) = more.numbers.ignored {
            n.ignored.get_or_insert_with(String::new).push_str(&s);
        }
        n.max_separator_run = more.numbers.max_separator_run.or(n.max_separator_run);
        self.phone.extend(more.phone);
        self.messenger.extend(more.messenger);
        self.prepayment.extend(more.prepayment);
        let (a, m) = (&mut self.bank_account, more.bank_account);
        a.min_digits = m.min_digits.or(a.min_digits);
        a.max_digits = m.max_digits.or(a.max_digits);
        a.min_digits_with_bank = m.min_digits_with_bank.or(a.min_digits_with_bank);
        a.window = m.window.or(a.window);
        a.banks.extend(m.banks);
        a.money_words.extend(m.money_words);
        a.other_number_words.extend(m.other_number_words);
        a.date_like.extend(m.date_like);
        a.patterns.extend(m.patterns);
        a.unless.extend(m.unless);
    }
}

impl PatternsFile {
    fn extend(&mut self, more: PatternsFile) {
        self.patterns.extend(more.patterns);
        self.unless.extend(more.unless);
    }
}

/// Patterns of one kind, matched against the folded text: a match counts unless one of
/// `unless` matches over it.
pub(crate) struct TextRule {
    /// Every pattern at once, for the common case of no match at all.
    pub any: RegexSet,
    /// The same patterns one by one, to find where a hit lies.
    pub patterns: Vec<Regex>,
    pub unless: Vec<Regex>,
}

/// Characters read as digits: a sorted table searched by halves. It is asked about every
/// character of every message, where a few comparisons cost less than hashing the character.
pub(crate) struct DigitTable(Vec<(char, u8)>);

impl DigitTable {
    fn new(map: HashMap<char, u8>) -> Self {
        let mut table: Vec<(char, u8)> = map.into_iter().collect();
        table.sort_unstable();
        DigitTable(table)
    }

    /// The digit `c` is read as.
    pub fn get(&self, c: &char) -> Option<&u8> {
        let i = self.0.binary_search_by_key(c, |(k, _)| *k).ok()?;
        self.0.get(i).map(|(_, d)| d)
    }
}

/// A set of characters, sorted, for the same reason.
pub(crate) struct CharSet(Vec<char>);

impl CharSet {
    fn new(chars: impl Iterator<Item = char>) -> Self {
        let mut set: Vec<char> = chars.collect();
        set.sort_unstable();
        set.dedup();
        CharSet(set)
    }

    /// Whether `c` is in the set.
    pub fn contains(&self, c: &char) -> bool {
        self.0.binary_search(c).is_ok()
    }
}

/// How numbers are read (see `safety/rules.toml`, `[numbers]`).
pub(crate) struct NumberRules {
    pub hangul_digits: DigitTable,
    pub symbol_digits: DigitTable,
    pub lookalike_digits: DigitTable,
    pub separators: CharSet,
    pub ignored: CharSet,
    pub max_separator_run: usize,
}

/// When a number is an account (see `[bank_account]`).
pub(crate) struct AccountRules {
    pub min_digits: usize,
    pub max_digits: usize,
    pub min_digits_with_bank: usize,
    pub window: usize,
    pub banks: Vec<String>,
    pub money_words: Vec<String>,
    pub other_number_words: Vec<String>,
    pub date_like: Vec<Regex>,
}

/// The rules, compiled: what [`super::Detector`] runs.
pub(crate) struct CompiledRules {
    pub numbers: NumberRules,
    pub phone: RegexSet,
    pub account: AccountRules,
    pub account_text: TextRule,
    pub messenger: TextRule,
    pub prepayment: TextRule,
    /// Every text pattern of the three kinds at once: one pass tells the common case (no
    /// pattern matches) apart.
    pub all_text: RegexSet,
}

fn compile(section: &'static str, pattern: &str) -> Result<Regex, RulesError> {
    Regex::new(pattern).map_err(|e| RulesError::Pattern {
        section,
        pattern: pattern.to_owned(),
        source: Box::new(e),
    })
}

fn compile_set(section: &'static str, patterns: &[String]) -> Result<RegexSet, RulesError> {
    // Each one first, so that an error names the pattern.
    for p in patterns {
        compile(section, p)?;
    }
    RegexSet::new(patterns).map_err(|e| RulesError::Pattern {
        section,
        pattern: patterns.join(" | "),
        source: Box::new(e),
    })
}

fn text_rule(section: &'static str, file: &PatternsFile) -> Result<TextRule, RulesError> {
    Ok(TextRule {
        any: compile_set(section, &file.patterns)?,
        patterns: file
            .patterns
            .iter()
            .map(|p| compile(section, p))
            .collect::<Result<_, _>>()?,
        unless: file
            .unless
            .iter()
            .map(|p| compile(section, p))
            .collect::<Result<_, _>>()?,
    })
}

fn digit_map(name: &str, map: &HashMap<String, u8>) -> Result<HashMap<char, u8>, RulesError> {
    map.iter()
        .map(|(k, &v)| {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if v <= 9 => Ok((c, v)),
                _ => Err(RulesError::Value(format!(
                    "[numbers] {name}: {k:?} = {v} must be one character read as a digit 0-9"
                ))),
            }
        })
        .collect()
}

/// Reads the shipped rules, then each operator file in order, and compiles the result.
pub(crate) fn load(extra: &[&str]) -> Result<CompiledRules, RulesError> {
    let mut file: RulesFile = toml::from_str(SHIPPED_RULES)?;
    for source in extra {
        file.extend(toml::from_str(source)?);
    }
    let n = &file.numbers;
    let lower = |words: &[String]| -> Vec<String> {
        words
            .iter()
            .map(|w| super::fold::fold_text(w))
            .filter(|w| !w.is_empty())
            .collect()
    };
    let a = &file.bank_account;
    let account = AccountRules {
        min_digits: a.min_digits.unwrap_or(10),
        max_digits: a.max_digits.unwrap_or(14),
        min_digits_with_bank: a.min_digits_with_bank.unwrap_or(8),
        window: a.window.unwrap_or(20),
        banks: lower(&a.banks),
        money_words: lower(&a.money_words),
        other_number_words: lower(&a.other_number_words),
        date_like: a
            .date_like
            .iter()
            .map(|p| compile("bank_account", p))
            .collect::<Result<_, _>>()?,
    };
    if account.min_digits_with_bank > account.max_digits || account.min_digits > account.max_digits
    {
        return Err(RulesError::Value(
            "[bank_account] min_digits and min_digits_with_bank must not exceed max_digits".into(),
        ));
    }
    // Each kind first, so that a bad pattern is named with its section.
    let account_text = text_rule(
        "bank_account",
        &PatternsFile {
            patterns: a.patterns.clone(),
            unless: a.unless.clone(),
        },
    )?;
    let messenger = text_rule("messenger", &file.messenger)?;
    let prepayment = text_rule("prepayment", &file.prepayment)?;
    let all: Vec<String> = [
        &a.patterns,
        &file.messenger.patterns,
        &file.prepayment.patterns,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    let all_text = compile_set("all", &all)?;
    Ok(CompiledRules {
        all_text,
        numbers: NumberRules {
            hangul_digits: DigitTable::new(digit_map("hangul_digits", &n.hangul_digits)?),
            symbol_digits: DigitTable::new(digit_map("symbol_digits", &n.symbol_digits)?),
            lookalike_digits: DigitTable::new(
                digit_map("lookalike_digits", &n.lookalike_digits)?
                    .into_iter()
                    .map(|(c, v)| (c.to_ascii_lowercase(), v))
                    .collect(),
            ),
            separators: CharSet::new(
                n.separators
                    .as_deref()
                    .unwrap_or(" .-")
                    .chars()
                    .map(super::fold::fold_char),
            ),
            ignored: CharSet::new(n.ignored.as_deref().unwrap_or("").chars()),
            max_separator_run: n.max_separator_run.unwrap_or(3).max(1),
        },
        phone: compile_set("phone", &file.phone.patterns)?,
        account,
        account_text,
        messenger,
        prepayment,
    })
}
