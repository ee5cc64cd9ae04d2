//! The searchable form of a message and the query matched against it. Korean words carry
//! particles (`자전거는`) and hide inside longer words (`택배` in `택배거래`), so a word is
//! found as a substring of the folded text, never as a token; a word made only of initial
//! consonants (`ㅌㅂ`) is found in a line of the text's initials (초성) kept beside it.

use unicode_normalization::UnicodeNormalization;

use crate::error::ChatError;
use crate::safety::fold::fold_char;

/// The initial consonants (초성) of Hangul syllables, in the order of their index in a
/// precomposed syllable (Unicode's `L` jamo), as the compatibility jamo people type.
pub const CHOSUNG: [char; 19] = [
    'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ',
    'ㅌ', 'ㅍ', 'ㅎ',
];

/// Longest query, in characters: a search is a few words, not a paragraph.
pub const MAX_QUERY_CHARS: usize = 100;

/// Most words in one query (each one is a pass over the candidate messages).
pub const MAX_QUERY_WORDS: usize = 8;

/// Separates the folded text from the line of initials in [`index_text`]. Folding turns
/// every control character into a space, so no query word contains it and no word can match
/// across the two parts.
const PARTS: char = '\u{1}';

/// The initial consonant of a precomposed Hangul syllable (`가`..=`힣`).
fn chosung_of(c: char) -> Option<char> {
    let offset = (c as u32).checked_sub(0xAC00)?;
    if offset > 0xD7A3 - 0xAC00 {
        return None;
    }
    CHOSUNG.get((offset / 588) as usize).copied()
}

/// Whether `word` is a 초성 query: initial consonants only (`ㅌㅂ`).
pub fn is_chosung_word(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| CHOSUNG.contains(&c))
}

/// Whether `text` is certainly NFC already, at a glance: every character below the combining
/// marks (U+0300) or a precomposed Hangul syllable, so nothing can compose or decompose (a
/// syllable composes only with a conjoining jamo, which is above U+0300). Nearly every chat
/// message; the others go through the full check.
fn plainly_nfc(text: &str) -> bool {
    text.chars()
        .all(|c| c < '\u{0300}' || ('\u{AC00}'..='\u{D7A3}').contains(&c))
        || unicode_normalization::is_nfc_quick(text.chars())
            == unicode_normalization::IsNormalized::Yes
}

/// Folds `text` the way both sides of a match are — composed (NFC: decomposed Hangul, as some
/// keyboards send it, is the same syllable), full-width forms as ASCII, letters lower case,
/// every run of whitespace or control characters one space — into `out`, and the initials of
/// each run of Hangul syllables, runs separated by a space, into `initials`. One pass: this
/// runs for every stored message.
fn fold_into(text: &str, out: &mut String, initials: &mut String) {
    let composed: String;
    let text = if plainly_nfc(text) {
        text
    } else {
        composed = text.nfc().collect();
        &composed
    };
    let (mut in_space, mut in_run) = (true, false);
    for c in text.chars().map(fold_char) {
        if c.is_ascii() {
            in_run = false;
            if c.is_ascii_whitespace() || c.is_ascii_control() {
                if !in_space {
                    out.push(' ');
                }
                in_space = true;
            } else {
                out.push(c);
                in_space = false;
            }
            continue;
        }
        if let Some(initial) = chosung_of(c) {
            if !in_run && !initials.is_empty() {
                initials.push(' ');
            }
            initials.push(initial);
            out.push(c);
            (in_space, in_run) = (false, true);
            continue;
        }
        in_run = false;
        if c.is_whitespace() || c.is_control() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.extend(c.to_lowercase());
            in_space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
}

/// Text folded as [`fold_into`] folds it, without the initials.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out, &mut String::new());
    out
}

/// What storage keeps beside a message for search: its folded text and, when it has Hangul
/// syllables, a separator and the initials of each run of syllables (`택배 거래 OK` →
/// `택배 거래 ok␁ㅌㅂ ㄱㄹ`). A query word matches a message when it is a substring of this.
pub fn index_text(content: &str) -> String {
    let mut out = String::with_capacity(content.len() + content.len() / 2 + 1);
    let mut initials = String::with_capacity(content.len() / 2);
    fold_into(content, &mut out, &mut initials);
    if !initials.is_empty() {
        out.push(PARTS);
        out.push_str(&initials);
    }
    out
}

/// A parsed search: its distinct words, folded like [`index_text`]. Every word must occur in
/// a message for it to be a hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

impl SearchQuery {
    /// Parses `q`: at most [`MAX_QUERY_CHARS`] characters and [`MAX_QUERY_WORDS`] words, and
    /// at least one word of two characters or more (one syllable alone matches most of a
    /// history: it is no search).
    pub fn parse(q: &str) -> Result<SearchQuery, ChatError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ChatError::bad(
                "invalid_query",
                format!("'q' is longer than {MAX_QUERY_CHARS} characters"),
            ));
        }
        let folded = fold(q);
        let mut words: Vec<String> = Vec::new();
        for word in folded.split(' ').filter(|w| !w.is_empty()) {
            if !words.iter().any(|w| w == word) {
                words.push(word.to_owned());
            }
        }
        if words.is_empty() {
            return Err(ChatError::bad("invalid_query", "'q' must contain a word"));
        }
        if words.len() > MAX_QUERY_WORDS {
            return Err(ChatError::bad(
                "invalid_query",
                format!("'q' has more than {MAX_QUERY_WORDS} words"),
            ));
        }
        if words.iter().all(|w| w.chars().count() < 2) {
            return Err(ChatError::bad(
                "invalid_query",
                "'q' needs a word of at least 2 characters",
            ));
        }
        // The longest word first: the rarest, so a backend that tests words in order stops
        // sooner on a miss.
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        Ok(SearchQuery { words })
    }

    /// The folded words, each a substring every hit's [`index_text`] contains.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether a message whose searchable form is `indexed` is a hit.
    pub fn matches(&self, indexed: &str) -> bool {
        self.words.iter().all(|w| indexed.contains(w.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(q: &str, text: &str) -> bool {
        SearchQuery::parse(q).unwrap().matches(&index_text(text))
    }

    #[test]
    fn index_text_folds_and_keeps_initials_per_word() {
        assert_eq!(index_text("택배 거래 OK"), "택배 거래 ok\u{1}ㅌㅂ ㄱㄹ");
        assert_eq!(index_text("  Ｈｅｌｌｏ\n\tWORLD  "), "hello world");
        assert_eq!(
            index_text("iPhone15 팝니다!"),
            "iphone15 팝니다!\u{1}ㅍㄴㄷ"
        );
        assert_eq!(index_text(""), "");
        // A control character in a message can never join the two parts.
        assert_eq!(index_text("a\u{1}b 가"), "a b 가\u{1}ㄱ");
    }

    #[test]
    fn decomposed_hangul_is_the_same_syllable() {
        let decomposed = "\u{1110}\u{1162}\u{11A8}\u{1107}\u{1162}"; // 택배 as jamo
        assert_eq!(index_text(decomposed), "택배\u{1}ㅌㅂ");
        assert!(hit(decomposed, "택배거래"));
    }

    #[test]
    fn korean_words_inside_longer_words_and_with_particles() {
        assert!(hit("택배", "택배거래 가능한가요"));
        assert!(hit("자전거", "자전거는 아직 있나요?"));
        assert!(hit("자전거", "자전거를 사고 싶어요"));
        assert!(!hit("자전거", "자전 거래"));
    }

    #[test]
    fn chosung_queries_match_initials_of_one_word() {
        assert!(hit("ㅌㅂ", "택배 거래"));
        assert!(hit("ㅌㅂㄱㄹ", "택배거래"));
        assert!(!hit("ㅌㅂㄱㄹ", "택배 거래"));
        assert!(hit("ㅋㅋ", "ㅋㅋㅋ 좋아요"));
        assert!(hit("ㄱㅅ", "감사합니다"));
        assert!(is_chosung_word("ㅌㅂ"));
        assert!(!is_chosung_word("택ㅂ"));
    }

    #[test]
    fn several_words_all_must_match_in_any_order() {
        assert!(hit("강남역 3시", "3시에 강남역 2번 출구"));
        assert!(!hit("강남역 4시", "3시에 강남역 2번 출구"));
    }

    #[test]
    fn latin_is_case_insensitive_and_metacharacters_are_literal() {
        assert!(hit("IPHONE", "iPhone 15 Pro"));
        assert!(hit("Ａｉｒｐｏｄｓ", "airpods 2세대"));
        assert!(hit("100%", "100% 정품"));
        assert!(!hit("10_%", "100% 정품"));
        assert!(hit("a_b", "a_b"));
        assert!(!hit("a_b", "acb"));
    }

    #[test]
    fn bad_queries_are_refused() {
        for q in ["", "   ", "\t\n", "가", "a", "가 a"] {
            assert_eq!(
                SearchQuery::parse(q).unwrap_err().code(),
                "invalid_query",
                "{q:?}"
            );
        }
        let long = "가".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(
            SearchQuery::parse(&long).unwrap_err().code(),
            "invalid_query"
        );
        let many: Vec<String> = (0..=MAX_QUERY_WORDS).map(|i| format!("w{i}")).collect();
        let many = many.join(" ");
        assert_eq!(
            SearchQuery::parse(&many).unwrap_err().code(),
            "invalid_query"
        );
        // A one-letter word beside a real one is a filter like any other.
        assert!(hit("가 택배", "가방 택배"));
    }

    #[test]
    fn words_are_distinct_longest_first() {
        let q = SearchQuery::parse("ab 자전거 AB ab").unwrap();
        assert_eq!(q.words(), ["자전거", "ab"]);
    }
}
