//! The days a report covers, in the project's time zone.
//!
//! A weekly report sent on Monday covers the Monday-to-Sunday week before it and compares with
//! the week before that; a monthly report sent on the 1st covers the previous calendar month
//! and compares with the month before. The day is the project's local day of the schedule's
//! slot (PostgreSQL computes it, so daylight-saving changes move the UTC instant, never the
//! local day), or the local day of "send now" for a preview (the last complete period).

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use crate::tables::reports::Cadence;

/// Inclusive local days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Period {
    /// The as many days right before (what a period is compared with).
    pub fn before(&self) -> Period {
        let days = chrono::Days::new(((self.to - self.from).num_days() + 1).max(1) as u64);
        Period {
            from: self.from - days,
            to: self.to - days,
        }
    }

    /// `2026-11-16 – 2026-11-22`, or `November 2026` for a whole month.
    pub fn label(&self) -> String {
        if self.is_whole_month() {
            self.from.format("%B %Y").to_string()
        } else {
            format!("{} – {}", self.from, self.to)
        }
    }

    /// Whether the days are one whole calendar month.
    pub fn is_whole_month(&self) -> bool {
        self.from.day() == 1
            && self.from.month() == self.to.month()
            && self
                .to
                .checked_add_days(Days::new(1))
                .map(|next| next.day())
                == Some(1)
    }

    /// The Stats API's `date_range` for these days.
    pub fn date_range(&self) -> serde_json::Value {
        serde_json::json!([self.from.to_string(), self.to.to_string()])
    }
}

/// The period a report of `cadence` made on local day `day` covers, and the one it compares
/// with: the last complete week (Monday to Sunday) or calendar month before `day`.
pub fn periods(cadence: Cadence, day: NaiveDate) -> (Period, Period) {
    match cadence {
        Cadence::Weekly => {
            let monday = day - Days::new(u64::from(day.weekday().num_days_from_monday()));
            let week = |weeks_back: u64| Period {
                from: monday - Days::new(7 * weeks_back),
                to: monday - Days::new(7 * weeks_back - 6),
            };
            (week(1), week(2))
        }
        Cadence::Monthly => {
            let first = day.with_day(1).unwrap_or(day);
            let month = |months_back: u32| {
                let from = first - Months::new(months_back);
                Period {
                    from,
                    to: (from + Months::new(1)) - Days::new(1),
                }
            };
            (month(1), month(2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn weekly_covers_the_previous_monday_to_sunday() {
        for day in ["2026-11-23", "2026-11-25", "2026-11-29"] {
            let (current, previous) = periods(Cadence::Weekly, date(day));
            assert_eq!(
                (current.from, current.to),
                (date("2026-11-16"), date("2026-11-22"))
            );
            assert_eq!(
                (previous.from, previous.to),
                (date("2026-11-09"), date("2026-11-15"))
            );
        }
        assert_eq!(
            periods(Cadence::Weekly, date("2026-11-30")).0.from,
            date("2026-11-23")
        );
    }

    #[test]
    fn monthly_covers_the_previous_calendar_month() {
        let (current, previous) = periods(Cadence::Monthly, date("2026-03-01"));
        assert_eq!(
            (current.from, current.to),
            (date("2026-02-01"), date("2026-02-28"))
        );
        assert_eq!(
            (previous.from, previous.to),
            (date("2026-01-01"), date("2026-01-31"))
        );
        assert_eq!(current.label(), "February 2026");
        let (current, _) = periods(Cadence::Monthly, date("2027-01-15"));
        assert_eq!(
            (current.from, current.to),
            (date("2026-12-01"), date("2026-12-31"))
        );
        let week = periods(Cadence::Weekly, date("2026-11-23")).0;
        assert_eq!(week.label(), "2026-11-16 – 2026-11-22");
    }
}
