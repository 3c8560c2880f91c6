//! Text as the inbox's search sees it: each character folded to lower case
//! without its combining marks (a final sigma as any sigma), so that a
//! search ignores case and accents in any script. SQLite's search index
//! holds texts folded so (the function `switchboard_fold`); PostgreSQL's
//! folds with `lower` and `unaccent`. And where a search matches a text, for
//! marking it.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A character folded: lower case (a final sigma as any sigma, as case
/// folding has it), decomposed, without combining marks.
pub fn fold_char(c: char) -> String {
    c.to_lowercase()
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect::<String>()
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// `text` folded.
pub fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// The byte ranges of `text` where `search` matches, in order, apart.
pub fn matches(text: &str, search: &str) -> Vec<(usize, usize)> {
    let needle: String = search.chars().map(fold_char).collect();
    if needle.is_empty() {
        return Vec::new();
    }
    // The folded text, and for each of its bytes the original character's
    // byte range.
    let mut folded = String::with_capacity(text.len());
    let mut origin: Vec<(usize, usize)> = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let piece = fold_char(c);
        for _ in 0..piece.len() {
            origin.push((at, at + c.len_utf8()));
        }
        folded.push_str(&piece);
    }
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while let Some(found) = folded[from..].find(&needle) {
        let start = from + found;
        let end = start + needle.len();
        let range = (origin[start].0, origin[end - 1].1);
        if ranges.last().is_none_or(|last| last.1 <= range.0) {
            ranges.push(range);
        }
        from = end;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(text: &str, search: &str) -> Vec<String> {
        matches(text, search)
            .into_iter()
            .map(|(s, e)| text[s..e].to_owned())
            .collect()
    }

    #[test]
    fn a_match_ignores_case_and_accents_in_any_script() {
        assert_eq!(marked("Björn Ångström", "ångstr"), ["Ångstr"]);
        assert_eq!(marked("Björn Ångström", "ANGSTROM"), ["Ångström"]);
        assert_eq!(
            marked("Σίσυφος, σίσυφος", "ΣΙΣΥΦΟΣ"),
            ["Σίσυφος", "σίσυφος"]
        );
        assert_eq!(marked("Москва", "моск"), ["Моск"]);
        assert_eq!(marked("nothing here", "zzz"), Vec::<String>::new());
    }
}
