//! One heatmap report of `/js/replay.js`: a pageview's clicks (each an element's CSS selector
//! path, the position inside the element and whether it was a rage click) and its deepest
//! scroll, for one viewport width class. Checked here, then added to the day's totals
//! ([`crate::tables::heatmaps`]); no click is kept on its own.

use serde_json::Value;

use crate::problem::{Invalid, ProblemKind};

/// Most clicks one report may carry.
pub const MAX_CLICKS: usize = 200;
/// Longest selector path.
pub const MAX_SELECTOR: usize = 300;
/// Cells per side of the grid laid over an element.
pub const GRID: usize = 10;

/// A viewport width class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidthClass {
    /// 1024 px and wider.
    Desktop,
    /// 768 to 1023 px.
    Tablet,
    /// Narrower than 768 px.
    Phone,
}

impl WidthClass {
    /// The class named `name` (`desktop`, `tablet`, `phone`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "desktop" => Self::Desktop,
            "tablet" => Self::Tablet,
            "phone" => Self::Phone,
            _ => return None,
        })
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Tablet => "tablet",
            Self::Phone => "phone",
        }
    }
}

/// One click: where, and whether it was a rage click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The element's CSS selector path.
    pub selector: String,
    /// The cell of the element's 10×10 grid: column + 10 × row.
    pub cell: i16,
    /// Whether it was at least the third click on the element within a second.
    pub rage: bool,
}

/// A checked report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The page's path.
    pub page: String,
    /// The viewport width class.
    pub device: WidthClass,
    /// Its clicks.
    pub clicks: Vec<Click>,
    /// The deepest scroll, 0 to 1 (the share of the page seen).
    pub depth: f64,
    /// On a follow-up report of the same pageview (the visitor came back to the tab), the
    /// depth its previous report told: the pageview is not counted again, and only the depth
    /// bands past it are. `None` on a pageview's first report.
    pub told: Option<f64>,
}

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid::new(ProblemKind::InvalidHeatmap, detail)
}

/// The cell of position (`x`, `y`), each 0 to 1, in the element's grid.
pub fn cell(x: f64, y: f64) -> i16 {
    let index = |v: f64| ((v.clamp(0.0, 1.0) * GRID as f64) as usize).min(GRID - 1);
    (index(x) + GRID * index(y)) as i16
}

/// The centre of `cell`, as (x, y) fractions of the element.
pub fn cell_centre(cell: i16) -> (f64, f64) {
    let cell = usize::try_from(cell).unwrap_or(0);
    let centre = |i: usize| (i as f64 + 0.5) / GRID as f64;
    (centre(cell % GRID), centre(cell / GRID))
}

/// Checks a report's body (`{"p", "w", "c": [[selector, x, y, rage]], "s"}`; the domain is
/// the caller's).
pub fn parse(body: &Value) -> Result<Report, Invalid> {
    let page = body
        .get("p")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/') && p.len() <= 500 && !p.contains('\0'))
        .ok_or_else(|| {
            invalid("`p` must be the page's path (starting with /, at most 500 bytes)")
        })?;
    let device = body
        .get("w")
        .and_then(Value::as_str)
        .and_then(WidthClass::parse)
        .ok_or_else(|| invalid("`w` must be desktop, tablet or phone"))?;
    let depth = match body.get("s") {
        None | Some(Value::Null) => 0.0,
        Some(value) => value
            .as_f64()
            .filter(|d| (0.0..=1.0).contains(d))
            .ok_or_else(|| invalid("`s` (the deepest scroll) must be a number from 0 to 1"))?,
    };
    let raw = match body.get("c") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(clicks)) if clicks.len() <= MAX_CLICKS => clicks.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "`c` must list at most {MAX_CLICKS} clicks"
            )));
        }
    };
    let mut clicks = Vec::with_capacity(raw.len());
    for (index, click) in raw.iter().enumerate() {
        let bad = || {
            invalid(format!(
                "click {index} must be [selector, x, y, rage] with x and y from 0 to 1"
            ))
        };
        let parts = click.as_array().filter(|p| p.len() == 4).ok_or_else(bad)?;
        let selector = parts[0]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= MAX_SELECTOR)
            .filter(|s| {
                !s.chars()
                    .any(|c| c.is_control() || matches!(c, '{' | '}' | ';'))
            })
            .ok_or_else(bad)?;
        let unit = |v: &Value| v.as_f64().filter(|v| (0.0..=1.0).contains(v));
        let (Some(x), Some(y)) = (unit(&parts[1]), unit(&parts[2])) else {
            return Err(bad());
        };
        let rage = match &parts[3] {
            Value::Bool(rage) => *rage,
            value => value.as_i64().ok_or_else(bad)? != 0,
        };
        clicks.push(Click {
            selector: selector.to_owned(),
            cell: cell(x, y),
            rage,
        });
    }
    let told = match body.get("r") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_f64()
                .filter(|r| (0.0..=depth).contains(r))
                .ok_or_else(|| invalid("`r` (the depth reported before) must be from 0 to `s`"))?,
        ),
    };
    if clicks.is_empty() && depth == 0.0 {
        return Err(invalid("the report holds no click and no scroll"));
    }
    Ok(Report {
        page: page.to_owned(),
        device,
        clicks,
        depth,
        told,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_a_ten_by_ten_grid() {
        assert_eq!(cell(0.0, 0.0), 0);
        assert_eq!(cell(0.5, 0.5), 55);
        assert_eq!(cell(1.0, 1.0), 99);
        assert_eq!(cell(0.1, 0.5), 51);
        assert_eq!(cell_centre(55), (0.55, 0.55));
        assert_eq!(cell_centre(51), (0.15, 0.55));
    }

    #[test]
    fn a_report_is_checked_whole() {
        let report = parse(&json!({"p": "/pricing", "w": "tablet",
            "c": [["#buy", 0.5, 0.5, 0], ["body>nav>a:nth-of-type(2)", 0.1, 0.9, 1]], "s": 0.5}))
        .unwrap();
        assert_eq!(report.device, WidthClass::Tablet);
        assert_eq!(report.clicks[1].cell, 91);
        assert!(report.clicks[1].rage);
        for (body, why) in [
            (json!({"p": "pricing", "w": "desktop", "s": 0.5}), "`p`"),
            (json!({"p": "/", "w": "watch", "s": 0.5}), "`w`"),
            (json!({"p": "/", "w": "phone", "s": 1.5}), "`s`"),
            (
                json!({"p": "/", "w": "phone", "c": [["#a", 2, 0, 0]]}),
                "click 0",
            ),
            (
                json!({"p": "/", "w": "phone", "c": [["a{}", 0, 0, 0]]}),
                "click 0",
            ),
            (
                json!({"p": "/", "w": "phone", "c": [["#a", 0, 0]]}),
                "click 0",
            ),
            (
                json!({"p": "/", "w": "phone", "c": vec![json!(["#a", 0, 0, 0]); 201]}),
                "at most",
            ),
            (json!({"p": "/", "w": "phone"}), "no click"),
            (json!({"p": "/", "w": "phone", "s": 0.3, "r": 0.5}), "`r`"),
        ] {
            let error = parse(&body).unwrap_err();
            assert_eq!(error.kind, ProblemKind::InvalidHeatmap);
            assert!(error.detail.contains(why), "{}: {}", body, error.detail);
        }
    }
}
