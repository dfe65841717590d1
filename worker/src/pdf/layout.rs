//! Laying blocks (a title, tables, bar charts) out on pages, and writing the PDF.
//!
//! The rule users of other tools complain about is the one this keeps: nothing is cut across a
//! page. A chart moves whole to the next page when it does not fit; a table breaks only between
//! rows, keeps its title with its header and first rows, and repeats title and header (marked
//! "continued") on the next page. Layout is a pass of its own ([`layout`]) so tests can check
//! every placement, and so the footer can say "page 2 of 3".

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::helvetica::{Weight, encode, fit, width};

/// Paper sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// ISO A4, 210 × 297 mm.
    A4,
    /// US Letter, 8.5 × 11 in.
    Letter,
}

impl Paper {
    /// The stored name (`a4`, `letter`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::A4 => "a4",
            Self::Letter => "letter",
        }
    }

    /// The paper named `name`; A4 for any other name.
    pub fn parse(name: &str) -> Self {
        if name == "letter" {
            Self::Letter
        } else {
            Self::A4
        }
    }

    /// Width and height in points.
    pub fn size(self) -> (f32, f32) {
        match self {
            Self::A4 => (595.28, 841.89),
            Self::Letter => (612.0, 792.0),
        }
    }
}

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table column: header, share of the table's width, alignment.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header.
    pub header: String,
    /// Share of the width (shares are relative to each other).
    pub share: f32,
    /// Alignment.
    pub align: Align,
}

/// What goes on the pages, in order.
#[derive(Debug, Clone)]
pub enum Block {
    /// The document's title and a line under it.
    Title {
        /// Title.
        text: String,
        /// The line under it (the period).
        subtitle: String,
    },
    /// A table.
    Table {
        /// Its title.
        title: String,
        /// Columns.
        columns: Vec<Column>,
        /// Rows of cells, one per column.
        rows: Vec<Vec<String>>,
        /// Shown instead of rows when there are none.
        empty: String,
    },
    /// A bar chart of values in order (visitors per day).
    Bars {
        /// Its title.
        title: String,
        /// The values.
        values: Vec<i64>,
        /// Under the first bar and the last (`2026-11-01`, `2026-11-30`).
        ends: (String, String),
    },
}

const MARGIN: f32 = 48.0;
const FOOTER: f32 = 24.0;
const TITLE_SIZE: f32 = 18.0;
const HEADING_SIZE: f32 = 12.0;
const TEXT_SIZE: f32 = 9.5;
const ROW: f32 = 15.0;
const HEADING: f32 = 20.0;
const GAP: f32 = 14.0;
const CHART: f32 = 150.0;
/// Rows kept with a table's title and header (fewer when the table has fewer).
const KEEP_WITH_HEADER: usize = 3;

/// One drawing on a page (points from the bottom left).
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// Text at a baseline.
    Text {
        /// Left end.
        x: f32,
        /// Baseline.
        y: f32,
        /// Size.
        size: f32,
        /// Helvetica-Bold instead of Helvetica.
        bold: bool,
        /// What it says.
        text: String,
    },
    /// A filled rectangle.
    Rect {
        /// Left.
        x: f32,
        /// Bottom.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill, RGB 0–1.
        rgb: (f32, f32, f32),
    },
}

/// A laid-out page: its marks and the vertical extent of each placed piece (`(top, bottom)`,
/// for checking that nothing crosses the page's edges).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Drawings.
    pub marks: Vec<Mark>,
    /// Pieces placed: a table row, a header, a chart, a title.
    pub pieces: Vec<(f32, f32)>,
}

struct Cursor {
    pages: Vec<Page>,
    y: f32,
    top: f32,
    bottom: f32,
    left: f32,
    right: f32,
}

impl Cursor {
    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn room(&self) -> f32 {
        self.y - self.bottom
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = self.top;
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: String) {
        let y = self.y - size;
        self.page().marks.push(Mark::Text {
            x,
            y,
            size,
            bold,
            text,
        });
    }

    fn place(&mut self, height: f32) {
        let (top, bottom) = (self.y, self.y - height);
        self.page().pieces.push((top, bottom));
        self.y = bottom;
    }
}

/// Lays `blocks` out on pages of `paper`.
pub fn layout(paper: Paper, blocks: &[Block]) -> Vec<Page> {
    let (width, height) = paper.size();
    let mut at = Cursor {
        pages: Vec::new(),
        y: height - MARGIN,
        top: height - MARGIN,
        bottom: MARGIN + FOOTER,
        left: MARGIN,
        right: width - MARGIN,
    };
    for block in blocks {
        match block {
            Block::Title { text, subtitle } => {
                at.text(at.left, TITLE_SIZE, true, text.clone());
                at.place(TITLE_SIZE + 6.0);
                at.text(at.left, TEXT_SIZE + 1.0, false, subtitle.clone());
                at.place(TEXT_SIZE + 1.0 + GAP);
            }
            Block::Bars {
                title,
                values,
                ends,
            } => {
                if at.room() < HEADING + CHART + ROW {
                    at.new_page();
                }
                heading(&mut at, title, false);
                bars(&mut at, values, ends);
            }
            Block::Table {
                title,
                columns,
                rows,
                empty,
            } => table(&mut at, title, columns, rows, empty),
        }
        at.y -= GAP;
    }
    if at.pages.is_empty() {
        at.new_page();
    }
    at.pages
}

fn heading(at: &mut Cursor, title: &str, continued: bool) {
    let text = if continued {
        format!("{title} (continued)")
    } else {
        title.to_owned()
    };
    at.text(at.left, HEADING_SIZE, true, text);
    at.place(HEADING);
}

fn table(at: &mut Cursor, title: &str, columns: &[Column], rows: &[Vec<String>], empty: &str) {
    let kept = rows.len().clamp(1, KEEP_WITH_HEADER) as f32;
    if at.room() < HEADING + ROW * (1.0 + kept) {
        at.new_page();
    }
    heading(at, title, false);
    let total: f32 = columns
        .iter()
        .map(|c| c.share)
        .sum::<f32>()
        .max(f32::EPSILON);
    let span = at.right - at.left;
    let widths: Vec<f32> = columns.iter().map(|c| span * c.share / total).collect();
    let cells = |at: &mut Cursor, cells: Vec<(String, Align)>, bold: bool| {
        let mut x = at.left;
        let weight = if bold { Weight::Bold } else { Weight::Regular };
        for ((text, align), w) in cells.into_iter().zip(&widths) {
            let shown = fit(&text, TEXT_SIZE, weight, w - 6.0);
            let left = match align {
                Align::Left => x,
                Align::Right => x + w - width(&shown, TEXT_SIZE, weight),
            };
            at.text(left, TEXT_SIZE, bold, shown);
            x += w;
        }
        let line_y = at.y - ROW + 3.0;
        let (left, right) = (at.left, at.right);
        at.page().marks.push(Mark::Rect {
            x: left,
            y: line_y,
            w: right - left,
            h: 0.5,
            rgb: (0.85, 0.86, 0.88),
        });
        at.place(ROW);
    };
    let header = |at: &mut Cursor| {
        let names = columns
            .iter()
            .map(|c| (c.header.clone(), c.align))
            .collect();
        cells(at, names, true);
    };
    header(at);
    if rows.is_empty() {
        at.text(at.left, TEXT_SIZE, false, empty.to_owned());
        at.place(ROW);
        return;
    }
    for row in rows {
        if at.room() < ROW {
            at.new_page();
            heading(at, title, true);
            header(at);
        }
        let values = row
            .iter()
            .cloned()
            .zip(columns.iter().map(|c| c.align))
            .collect();
        cells(at, values, false);
    }
}

fn bars(at: &mut Cursor, values: &[i64], (first, last): &(String, String)) {
    let span = at.right - at.left;
    let bottom = at.y - CHART;
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f32;
    let slot = span / values.len().max(1) as f32;
    let (left, top) = (at.left, at.y);
    for quarter in 0..=4 {
        let y = bottom + CHART * quarter as f32 / 4.0;
        at.page().marks.push(Mark::Rect {
            x: left,
            y,
            w: span,
            h: 0.5,
            rgb: (0.9, 0.91, 0.92),
        });
    }
    for (i, value) in values.iter().enumerate() {
        let h = (*value).max(0) as f32 / max * (CHART - 4.0);
        if h > 0.0 {
            at.page().marks.push(Mark::Rect {
                x: left + slot * i as f32 + slot * 0.1,
                y: bottom,
                w: slot * 0.8,
                h,
                rgb: (0.31, 0.27, 0.9),
            });
        }
    }
    at.page().pieces.push((top, bottom));
    at.y = bottom;
    at.text(at.left, TEXT_SIZE - 1.0, false, first.clone());
    let right = at.right - width(last, TEXT_SIZE - 1.0, Weight::Regular);
    at.text(right, TEXT_SIZE - 1.0, false, last.clone());
    let peak = format!("Highest day: {}", values.iter().max().unwrap_or(&0));
    let middle = (at.left + at.right - width(&peak, TEXT_SIZE - 1.0, Weight::Regular)) / 2.0;
    at.text(middle, TEXT_SIZE - 1.0, false, peak);
    at.place(ROW);
}

/// Writes `pages` as a PDF of `paper` titled `title`, each page with `footer` and its number.
pub fn write(paper: Paper, pages: &[Page], title: &str, footer: &str) -> Vec<u8> {
    let (width, _) = paper.size();
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first_page = 6;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    for (font, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(font)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(title))
        .creator(TextStr("Beacon"));
    let (w, h) = paper.size();
    for (i, page) in pages.iter().enumerate() {
        let content_id = Ref::new(page_ids[i].get() + 1);
        let mut content = Content::new();
        for mark in &page.marks {
            match mark {
                Mark::Rect { x, y, w, h, rgb } => {
                    content.set_fill_rgb(rgb.0, rgb.1, rgb.2);
                    content.rect(*x, *y, *w, *h);
                    content.fill_nonzero();
                }
                Mark::Text {
                    x,
                    y,
                    size,
                    bold,
                    text,
                } => {
                    content.set_fill_rgb(0.12, 0.16, 0.22);
                    content.begin_text();
                    content.set_font(Name(if *bold { b"F2" } else { b"F1" }), *size);
                    content.next_line(*x, *y);
                    content.show(Str(&encode(text)));
                    content.end_text();
                }
            }
        }
        let footer = format!("{footer} · page {} of {}", i + 1, pages.len());
        content.set_fill_rgb(0.42, 0.45, 0.5);
        content.begin_text();
        content.set_font(Name(b"F1"), 8.0);
        content.next_line(width - MARGIN - width_of_footer(&footer), MARGIN);
        content.show(Str(&encode(&footer)));
        content.end_text();
        let bytes = content.finish();
        let compressed = compress(&bytes);
        let mut page_writer = pdf.page(page_ids[i]);
        page_writer
            .media_box(Rect::new(0.0, 0.0, w, h))
            .parent(tree)
            .contents(content_id);
        let mut resources = page_writer.resources();
        resources
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        resources.finish();
        page_writer.finish();
        pdf.stream(content_id, &compressed)
            .filter(Filter::FlateDecode);
    }
    pdf.finish()
}

fn width_of_footer(text: &str) -> f32 {
    width(text, 8.0, Weight::Regular)
}

fn compress(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize) -> Block {
        Block::Table {
            title: "Top pages".into(),
            columns: vec![
                Column {
                    header: "Page".into(),
                    share: 3.0,
                    align: Align::Left,
                },
                Column {
                    header: "Visitors".into(),
                    share: 1.0,
                    align: Align::Right,
                },
            ],
            rows: (0..rows)
                .map(|i| vec![format!("/page/{i}"), i.to_string()])
                .collect(),
            empty: "No data.".into(),
        }
    }

    fn chart() -> Block {
        Block::Bars {
            title: "Visitors per day".into(),
            values: (0..30).collect(),
            ends: ("2026-11-01".into(), "2026-11-30".into()),
        }
    }

    #[test]
    fn nothing_crosses_a_page_edge_and_rows_and_charts_stay_whole() {
        for paper in [Paper::A4, Paper::Letter] {
            let (_, height) = paper.size();
            let blocks = vec![table(37), chart(), table(80), chart(), table(5)];
            let pages = layout(paper, &blocks);
            assert!(pages.len() >= 3, "{paper:?}: {} pages", pages.len());
            for page in &pages {
                for (top, bottom) in &page.pieces {
                    assert!(*top <= height - MARGIN + 0.01 && *bottom >= MARGIN + FOOTER - 0.01);
                }
            }
            // Every row is on exactly one page, once.
            for i in 0..80 {
                let name = format!("/page/{i}");
                let on: usize = pages
                    .iter()
                    .map(|p| {
                        p.marks
                            .iter()
                            .filter(|m| matches!(m, Mark::Text { text, .. } if *text == name))
                            .count()
                    })
                    .sum();
                let tables_with_it = usize::from(i < 37) + 1 + usize::from(i < 5);
                assert_eq!(on, tables_with_it, "{name}");
            }
            // A continued table repeats its title and header.
            let continued = pages.iter().flat_map(|p| &p.marks).filter(
                |m| matches!(m, Mark::Text { text, .. } if text == "Top pages (continued)"),
            );
            assert!(continued.count() >= 1);
        }
    }

    #[test]
    fn the_pdf_has_a_page_per_laid_out_page() {
        let pages = layout(Paper::Letter, &[table(100)]);
        let bytes = write(Paper::Letter, &pages, "Test", "Beacon");
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(pages.len() >= 2);
        assert!(text.contains(&format!("/Count {}", pages.len())), "{text}");
    }
}
