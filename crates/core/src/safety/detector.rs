//! The scam and off-platform detector (API-v2 "Safety"): which warnings a message's text
//! carries, and the text with the flagged numbers masked. Pure: no I/O, no clock; built once
//! from the rules (`safety/rules.toml` and the operator's file) and shared by every send.

use super::fold::{fold_char, fold_text};
use super::rules::{self, CompiledRules, RulesError, TextRule};
use super::warnings::{Warning, Warnings};

/// What replaces each digit of a flagged number under `--safety-mask`.
pub const MASK: char = '●';

/// A digit as read from the text: its value and where its character stands.
#[derive(Clone, Copy, Debug)]
struct Digit {
    value: u8,
    at: usize,
    len: usize,
}

/// A group of digits written together, and the separators written before it.
#[derive(Debug)]
struct Group {
    digits: Vec<Digit>,
    sep: String,
}

/// What the detector found in one text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The kinds of risk found.
    pub warnings: Warnings,
    /// The text with the digits of every flagged number masked, when masking is on and a
    /// number was flagged.
    pub masked: Option<String>,
}

/// Checks texts against the rules; cheap to share (`Arc`), immutable once built.
pub struct Detector {
    rules: CompiledRules,
    mask: bool,
}

/// Numbers with fewer digits than this are never read further: no phone or account is shorter.
const SHORTEST_INTERESTING: usize = 7;
/// Groups looked at in one number: bounds the work a long list of numbers can cause.
const MAX_GROUPS: usize = 24;

fn is_hangul_syllable(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c)
}

impl Detector {
    /// The shipped rules followed by each operator file's text (`--safety-rules`); `mask`
    /// is `--safety-mask`.
    pub fn new(extra_rules: &[&str], mask: bool) -> Result<Detector, RulesError> {
        Ok(Detector {
            rules: rules::load(extra_rules)?,
            mask,
        })
    }

    /// The shipped rules alone, without masking: what a service gets unless configured.
    pub fn shipped() -> Detector {
        // The shipped file is part of the binary and loads in the unit tests: it cannot fail
        // at run time.
        #[allow(clippy::expect_used)]
        Detector::new(&[], false).expect("the shipped safety rules load")
    }

    /// Whether flagged numbers are masked before storage.
    pub fn masks(&self) -> bool {
        self.mask
    }

    /// The warnings `text` carries, and its masked form.
    pub fn check(&self, text: &str) -> Finding {
        let mut warnings = Warnings::NONE;
        let mut flagged: Vec<Digit> = Vec::new();
        if self.may_hold_a_number(text) {
            for groups in self.read_numbers(text) {
                self.classify(text, &groups, &mut warnings, &mut flagged);
            }
        }
        let folded = fold_text(text);
        let r = &self.rules;
        // One pass that stops at the first match tells the common case (nothing) apart; each
        // kind's patterns (and its exceptions) run only after it.
        if r.all_text.is_match(&folded) {
            for (rule, warning) in [
                (&r.account_text, Warning::BankAccount),
                (&r.messenger, Warning::Messenger),
                (&r.prepayment, Warning::Prepayment),
            ] {
                if !warnings.contains(warning) && text_hits(rule, &folded) {
                    warnings.insert(warning);
                }
            }
        }
        let masked = (self.mask && !flagged.is_empty()).then(|| mask(text, &mut flagged));
        Finding { warnings, masked }
    }

    /// Whether the text has enough characters that read as digits to hold a phone or account
    /// number at all: most messages do not, and skip the reading below.
    fn may_hold_a_number(&self, text: &str) -> bool {
        let r = &self.rules.numbers;
        let mut digits = 0;
        for c in text.chars() {
            // Most characters are ASCII, and no ASCII character but a digit reads as one here.
            let digit = if c.is_ascii() {
                c.is_ascii_digit()
            } else {
                let c = fold_char(c);
                c.is_ascii_digit()
                    || (is_hangul_syllable(c) && r.hangul_digits.get(&c).is_some())
                    || r.symbol_digits.get(&c).is_some()
            };
            if digit {
                digits += 1;
                if digits >= SHORTEST_INTERESTING {
                    return true;
                }
            }
        }
        false
    }

    /// Every number of the text long enough to matter, as its groups: digits, Hanja digits,
    /// Hangul digit words and look-alike letters, split by at most `max_separator_run`
    /// separators at a time.
    fn read_numbers(&self, text: &str) -> Vec<Vec<Group>> {
        let r = &self.rules.numbers;
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let n = chars.len();
        let mut numbers: Vec<Vec<Group>> = Vec::new();
        let mut current: Vec<Group> = Vec::new();
        let mut pending = String::new();
        let mut pending_count = 0usize;
        let flush = |current: &mut Vec<Group>, numbers: &mut Vec<Vec<Group>>| {
            let digits: usize = current.iter().map(|g| g.digits.len()).sum();
            if digits >= SHORTEST_INTERESTING {
                numbers.push(std::mem::take(current));
            } else {
                current.clear();
            }
        };
        let digit = |k: usize, value: u8| Digit {
            value,
            at: chars[k].0,
            len: chars[k].1.len_utf8(),
        };
        let alnum = |k: usize| fold_char(chars[k].1).is_ascii_alphanumeric();
        let mut i = 0;
        while i < n {
            let c = fold_char(chars[i].1);
            if r.ignored.contains(&c) {
                i += 1;
                continue;
            }
            // The token at `i`: its digits (None for a word that is not a number), its end.
            let token: Option<(Option<Vec<Digit>>, usize)> = if c.is_ascii_alphanumeric() {
                let mut j = i;
                while j < n && alnum(j) {
                    j += 1;
                }
                // A word without a digit (most words) is no number: nothing to build.
                if !chars[i..j]
                    .iter()
                    .any(|&(_, ch)| fold_char(ch).is_ascii_digit())
                {
                    flush(&mut current, &mut numbers);
                    pending.clear();
                    pending_count = 0;
                    i = j;
                    continue;
                }
                let mut digits = Vec::with_capacity(j - i);
                let mut real = false;
                for (k, &(_, ch)) in chars.iter().enumerate().take(j).skip(i) {
                    let f = fold_char(ch);
                    if let Some(d) = f.to_digit(10) {
                        real = true;
                        digits.push(digit(k, d as u8));
                    } else if let Some(&d) = r.lookalike_digits.get(&f) {
                        digits.push(digit(k, d));
                    } else {
                        real = false;
                        break;
                    }
                }
                Some((real.then_some(digits), j))
            } else if let Some(&d) = (!c.is_ascii()).then(|| r.symbol_digits.get(&c)).flatten() {
                Some((Some(vec![digit(i, d)]), i + 1))
            } else if is_hangul_syllable(c) {
                let mut j = i;
                while j < n && is_hangul_syllable(chars[j].1) {
                    j += 1;
                }
                let values: Option<Vec<u8>> = chars[i..j]
                    .iter()
                    .map(|(_, s)| r.hangul_digits.get(s).copied())
                    .collect();
                // A word made only of digit syllables is a number (공일공, 12삼4); one with any
                // other syllable is a word ("5678이에요", 오늘).
                let digits = values;
                Some((
                    digits.map(|values| {
                        values
                            .into_iter()
                            .enumerate()
                            .map(|(k, v)| digit(i + k, v))
                            .collect()
                    }),
                    j,
                ))
            } else {
                None
            };
            match token {
                Some((Some(digits), end)) => {
                    if current.is_empty() || pending_count > 0 {
                        if current.len() == MAX_GROUPS {
                            flush(&mut current, &mut numbers);
                        }
                        current.push(Group {
                            digits,
                            sep: std::mem::take(&mut pending),
                        });
                    } else if let Some(last) = current.last_mut() {
                        last.digits.extend(digits);
                    }
                    pending.clear();
                    pending_count = 0;
                    i = end;
                }
                Some((None, end)) => {
                    flush(&mut current, &mut numbers);
                    pending.clear();
                    pending_count = 0;
                    i = end;
                }
                None => {
                    let separator = c.is_whitespace() || r.separators.contains(&c);
                    if separator && !current.is_empty() && pending_count < r.max_separator_run {
                        pending.push(if c.is_whitespace() { ' ' } else { c });
                        pending_count += 1;
                    } else if !current.is_empty() {
                        flush(&mut current, &mut numbers);
                        pending.clear();
                        pending_count = 0;
                    }
                    i += 1;
                }
            }
        }
        flush(&mut current, &mut numbers);
        numbers
    }

    /// Tests every run of consecutive groups of one number: phone numbers first (the longest
    /// run from each group), then accounts among the groups no phone took.
    fn classify(
        &self,
        text: &str,
        groups: &[Group],
        warnings: &mut Warnings,
        flagged: &mut Vec<Digit>,
    ) {
        let n = groups.len();
        // A number written next to a bank name is its account, even where part of it reads
        // like a phone number (IBK 017-118273-01-011).
        let total: usize = groups.iter().map(|g| g.digits.len()).sum();
        let a = &self.rules.account;
        let whole_is_phone = || {
            let all: String = groups
                .iter()
                .flat_map(|g| g.digits.iter().map(|d| char::from(b'0' + d.value)))
                .collect();
            self.rules.phone.is_match(&all)
        };
        if (a.min_digits_with_bank..=a.max_digits).contains(&total)
            && !whole_is_phone()
            && self.is_account(text, groups, total) == Some(true)
        {
            warnings.insert(Warning::BankAccount);
            for group in groups {
                flagged.extend(&group.digits);
            }
            return;
        }
        let mut taken = vec![false; n];
        let mut digits = String::with_capacity(16);
        let mut i = 0;
        while i < n {
            digits.clear();
            let mut hit = None;
            for (j, group) in groups.iter().enumerate().skip(i) {
                digits.extend(group.digits.iter().map(|d| char::from(b'0' + d.value)));
                if digits.len() > 15 {
                    break;
                }
                if self.rules.phone.is_match(&digits) {
                    hit = Some(j);
                }
            }
            match hit {
                Some(j) => {
                    warnings.insert(Warning::PhoneNumber);
                    for k in i..=j {
                        taken[k] = true;
                        flagged.extend(&groups[k].digits);
                    }
                    i = j + 1;
                }
                None => i += 1,
            }
        }
        let mut i = 0;
        while i < n {
            let mut count = 0;
            let mut hit = None;
            for j in i..n {
                if taken[j] {
                    break;
                }
                count += groups[j].digits.len();
                if count > a.max_digits {
                    break;
                }
                if count >= a.min_digits_with_bank.min(a.min_digits)
                    && self.is_account(text, &groups[i..=j], count).is_some()
                {
                    hit = Some(j);
                }
            }
            match hit {
                Some(j) => {
                    warnings.insert(Warning::BankAccount);
                    for group in &groups[i..=j] {
                        flagged.extend(&group.digits);
                    }
                    i = j + 1;
                }
                None => i += 1,
            }
        }
    }

    /// The folded text within the window around these groups.
    fn around(&self, text: &str, groups: &[Group]) -> Option<String> {
        let first = groups.first()?.digits.first()?;
        let last = groups.last()?.digits.last()?;
        let (start, end) = (first.at, last.at + last.len);
        let window = self.rules.account.window;
        let from = text[..start]
            .char_indices()
            .rev()
            .nth(window.saturating_sub(1))
            .map_or(0, |(k, _)| k);
        let to = text[end..]
            .char_indices()
            .nth(window)
            .map_or(text.len(), |(k, _)| end + k);
        Some(fold_text(&text[from..to]))
    }

    /// Whether these groups (`count` digits) are an account number, by what is written around
    /// them: `None` when not, else whether a bank's name stands near.
    fn is_account(&self, text: &str, groups: &[Group], count: usize) -> Option<bool> {
        let a = &self.rules.account;
        let first = groups.first()?.digits.first()?;
        let last = groups.last()?.digits.last()?;
        let written = fold_text(&text[first.at..last.at + last.len]);
        if a.date_like.iter().any(|d| d.is_match(&written)) {
            return None;
        }
        let around = self.around(text, groups)?;
        let near = |words: &[String]| words.iter().any(|w| around.contains(w.as_str()));
        let bank = near(&a.banks);
        let money = near(&a.money_words);
        if !money && near(&a.other_number_words) {
            return None;
        }
        if bank && count >= a.min_digits_with_bank {
            return Some(true);
        }
        let dashed = groups.len() >= 3 && groups[1..].iter().all(|g| g.sep.trim() == "-");
        (count >= a.min_digits && (dashed || money)).then_some(bank)
    }
}

/// Whether one of the rule's patterns matches the folded text where none of its `unless`
/// patterns matches over it.
fn text_hits(rule: &TextRule, folded: &str) -> bool {
    let hits = rule.any.matches(folded);
    if !hits.matched_any() {
        return false;
    }
    if rule.unless.is_empty() {
        return true;
    }
    let exceptions: Vec<(usize, usize)> = rule
        .unless
        .iter()
        .flat_map(|u| u.find_iter(folded).map(|m| (m.start(), m.end())))
        .collect();
    hits.iter().any(|k| {
        rule.patterns[k].find_iter(folded).any(|m| {
            !exceptions
                .iter()
                .any(|&(s, e)| s < m.end().max(m.start() + 1) && m.start() < e)
        })
    })
}

/// `text` with each flagged digit's character replaced by [`MASK`].
fn mask(text: &str, flagged: &mut [Digit]) -> String {
    flagged.sort_unstable_by_key(|d| d.at);
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for d in flagged.iter() {
        if d.at < from {
            continue;
        }
        out.push_str(&text[from..d.at]);
        out.push(MASK);
        from = d.at + d.len;
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Built once: compiling the rules is what takes time in a debug build.
    fn shipped() -> &'static Detector {
        static SHIPPED: std::sync::OnceLock<Detector> = std::sync::OnceLock::new();
        SHIPPED.get_or_init(Detector::shipped)
    }

    fn kinds(text: &str) -> Vec<&'static str> {
        shipped()
            .check(text)
            .warnings
            .iter()
            .map(Warning::as_str)
            .collect()
    }

    #[test]
    fn phone_numbers_in_their_disguises() {
        for text in [
            "010-1234-5678로 연락주세요",
            "01012345678",
            "010 1234 5678",
            "010.1234.5678 이에요",
            "0 1 0 1 2 3 4 5 6 7 8",
            "０１０－１２３４－５６７８",
            "공일공 일이삼사 오육칠팔",
            "영일영-칠칠팔팔-구구공공",
            "〇一〇 一二三四 五六七八",
            "공1공-12삼4-5678",
            "O1O-1234-5678",
            "+82 10 1234 5678",
            "02-123-4567",
            "031 987 6543 으로 전화",
            "070-1234-5678",
            "010ㅡ1234ㅡ5678",
        ] {
            assert_eq!(kinds(text), ["PHONE_NUMBER"], "{text}");
        }
    }

    #[test]
    fn what_traders_write_all_day_is_not_flagged() {
        for text in [
            "150,000원에 가능할까요?",
            "15만원 네고 되나요",
            "1,500,000원",
            "12/7 오후 3시 강남역 11번 출구",
            "2024.12.07 14:30에 봬요",
            "아이폰 15 프로 256GB 팝니다",
            "RTX 3080 10GB",
            "265mm 신발이에요",
            "3개 일괄 2만원",
            "7일 이후에 가능해요",
            "010 으로 시작하는 번호는 안 받아요",
            "아파트 101동 1203호 앞에서 봬요",
            "CJ대한통운 운송장번호 6894 1234 5678 입니다",
            "당근페이로 결제할게요",
            "선입금은 안 받아요 직거래만 해요",
            "카톡 알림이 안 와서 늦게 봤어요",
            "텔레비전 팝니다",
            "온라인 최저가보다 싸요",
            "헤어라인 스크래치 있어요",
            "입금은 만나서 할게요",
            "android 14 업데이트 됐어요",
            "배터리 효율 87% 입니다 2019년식",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }

    #[test]
    fn accounts_messengers_and_prepayment() {
        assert_eq!(kinds("국민 123456-01-123456"), ["BANK_ACCOUNT"]);
        assert_eq!(kinds("신한 110 123 456789"), ["BANK_ACCOUNT"]);
        assert_eq!(kinds("3333-01-1234567"), ["BANK_ACCOUNT"]);
        assert_eq!(kinds("계좌 1002123456789 로 보내주세요"), ["BANK_ACCOUNT"]);
        assert_eq!(kinds("예금주 홍길동"), ["BANK_ACCOUNT"]);
        assert_eq!(kinds("카톡 아이디 abc123 추가해주세요"), ["MESSENGER"]);
        assert_eq!(kinds("open.kakao.com/o/sAbCdE 로 와주세요"), ["MESSENGER"]);
        assert_eq!(kinds("텔레그램으로 얘기해요"), ["MESSENGER"]);
        assert_eq!(kinds("선입금 해주시면 바로 보내드려요"), ["PREPAYMENT"]);
        assert_eq!(
            kinds("카뱅 3333-01-1234567 먼저 입금해주세요"),
            ["BANK_ACCOUNT", "PREPAYMENT"]
        );
    }

    #[test]
    fn masking_replaces_the_flagged_digits_only() {
        let d = Detector::new(&[], true).unwrap();
        let f = d.check("010-1234-5678 로 15만원");
        assert_eq!(f.masked.as_deref(), Some("●●●-●●●●-●●●● 로 15만원"));
        let f = d.check("공일공 1234 5678");
        assert_eq!(f.masked.as_deref(), Some("●●● ●●●● ●●●●"));
        assert_eq!(d.check("15만원이요").masked, None);
        assert_eq!(shipped().check("010-1234-5678").masked, None);
    }

    #[test]
    fn operator_rules_extend_the_shipped_ones_and_bad_ones_are_named() {
        let extra =
            "[messenger]\npatterns = ['디스코드']\n[numbers]\nhangul_digits = { \"하나\" = 1 }";
        assert!(matches!(
            Detector::new(&[extra], false),
            Err(RulesError::Value(_))
        ));
        let extra = "[messenger]\npatterns = ['디스코드']";
        let d = Detector::new(&[extra], false).unwrap();
        assert!(d
            .check("디스코드로 와요")
            .warnings
            .contains(Warning::Messenger));
        assert!(d.check("카톡 주세요").warnings.contains(Warning::Messenger));
        let err = Detector::new(&["[prepayment]\npatterns = ['(']"], false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("[prepayment]"), "{err}");
        assert!(Detector::new(&["[spam]\npatterns = []"], false).is_err());
    }

    #[test]
    fn long_inputs_stay_bounded() {
        // Thousands of one-digit groups, one 4,000-digit word: read in bounded pieces, and
        // neither is a phone or an account.
        assert!(kinds(&"1 ".repeat(2000)).is_empty());
        assert!(kinds(&"공".repeat(4000)).is_empty());
        assert!(kinds(&"010-1234-5678 ".repeat(300)).contains(&"PHONE_NUMBER"));
    }
}
