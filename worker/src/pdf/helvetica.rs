//! Helvetica, one of the PDF standard fonts every reader has (nothing embedded): its glyph
//! widths from Adobe's AFM (units of 1/1000 of the font size), for laying out text, and the
//! WinAnsi bytes the text is written in.

/// Widths of ASCII 32 (space) to 126 (`~`).
const ASCII: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];

/// Helvetica-Bold's widths of ASCII 32 to 126.
const ASCII_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0..?
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // P.._
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // `..o
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // p..~
];

/// Helvetica or Helvetica-Bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

/// The WinAnsi byte of `c` (Latin-1 and the typographic marks Windows-1252 adds); `?` for
/// what it cannot show.
pub fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '−' => b'-',
        _ => b'?',
    }
}

/// The width of `c` in 1/1000 of the font size.
fn width_of(c: char, weight: Weight) -> u16 {
    let table = match weight {
        Weight::Regular => &ASCII,
        Weight::Bold => &ASCII_BOLD,
    };
    match win_ansi(c) {
        byte @ 32..=126 => table[usize::from(byte - 32)],
        0x85 | 0x97 => 1000,
        0x95 => 350,
        0x91 | 0x92 => 222,
        0x93 | 0x94 => 333,
        // Accented letters and the rest are about as wide as a lower-case letter.
        _ => 556,
    }
}

/// The width of `text` at `size` points.
pub fn width(text: &str, size: f32, weight: Weight) -> f32 {
    text.chars()
        .map(|c| f32::from(width_of(c, weight)))
        .sum::<f32>()
        * size
        / 1000.0
}

/// `text` shortened with `…` to fit `max` points at `size`.
pub fn fit(text: &str, size: f32, weight: Weight, max: f32) -> String {
    if width(text, size, weight) <= max {
        return text.to_owned();
    }
    let ellipsis = width("…", size, weight);
    let mut out = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        let w = f32::from(width_of(c, weight)) * size / 1000.0;
        if used + w + ellipsis > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` as WinAnsi bytes.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(win_ansi).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_afm() {
        assert_eq!(width("0123456789", 10.0, Weight::Regular), 55.6);
        assert_eq!(width("Wi", 1000.0, Weight::Regular), 944.0 + 222.0);
        assert_eq!(width("Wi", 1000.0, Weight::Bold), 944.0 + 278.0);
        assert_eq!(encode("a–b €"), vec![b'a', 0x96, b'b', b' ', 0x80]);
        assert_eq!(encode("日"), vec![b'?']);
    }

    #[test]
    fn long_text_is_cut_to_fit_with_an_ellipsis() {
        let cut = fit(
            "/a/very/long/path/that/does/not/fit",
            10.0,
            Weight::Regular,
            60.0,
        );
        assert!(
            cut.ends_with('…') && width(&cut, 10.0, Weight::Regular) <= 60.0,
            "{cut}"
        );
        assert_eq!(fit("/short", 10.0, Weight::Bold, 60.0), "/short");
    }
}
