//! Datetimes and time intervals.
//!
//! Stored timestamps are whole seconds since the Unix epoch, taken from the server
//! clock; responses always show them as `YYYY-MM-DDThh:mm:ssZ`.

use chrono::{DateTime, Months, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Serialize, Serializer};

use super::fields::{Input, InputError, Object};

/// A stored instant: whole seconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Truncates to whole seconds, so that what a response shows is what filters compare.
    pub fn truncate(at: DateTime<Utc>) -> Self {
        Self(at.timestamp())
    }

    pub fn unix(self) -> i64 {
        self.0
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl Timestamp {
    /// `YYYY-MM-DDThh:mm:ssZ` written into a buffer of its own, for the years
    /// 0 to 9999 (every time the API takes in); `None` for others. A page of
    /// 100 threads shows 200 of these: `chrono`'s formatter and its `String`
    /// were 6% of the page's CPU.
    fn rfc3339(self) -> Option<[u8; 20]> {
        // 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
        if !(-62_167_219_200..=253_402_300_799).contains(&self.0) {
            return None;
        }
        let (days, second_of_day) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        // Every field is below 10,000 now, so u32 arithmetic will do.
        let digits = |value: i64| u32::try_from(value).unwrap_or(0);
        let (year, second_of_day) = (digits(year), digits(second_of_day));
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut pair = |at: usize, value: u32| {
            let i = (value % 100) as usize * 2;
            out[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        };
        pair(0, year / 100);
        pair(2, year % 100);
        pair(5, digits(month));
        pair(8, digits(day));
        pair(11, second_of_day / 3600);
        pair(14, second_of_day / 60 % 60);
        pair(17, second_of_day % 60);
        Some(out)
    }
}

/// "00" to "99", for writing two digits at a time.
const DIGIT_PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
};

/// The proleptic Gregorian date of a day counted from 1970-01-01, by Howard
/// Hinnant's `civil_from_days` (exact for every day, no tables): 200 dates a
/// page through `chrono`'s calendar were 5% of a page's CPU.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Days since 0000-03-01, counted in eras of 400 years (146,097 days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so that February's leap day comes last.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Timestamp {
    /// Appends the timestamp as [`Display`](std::fmt::Display) writes it.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        match self.rfc3339() {
            Some(text) => out.extend_from_slice(&text),
            None => out.extend_from_slice(
                self.to_datetime()
                    .to_rfc3339_opts(SecondsFormat::Secs, true)
                    .as_bytes(),
            ),
        }
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rfc3339() {
            Some(text) => f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?),
            None => f.write_str(
                &self
                    .to_datetime()
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(text) => serializer.serialize_str(
                std::str::from_utf8(&text).map_err(<S::Error as serde::ser::Error>::custom)?,
            ),
            None => serializer.collect_str(self),
        }
    }
}

/// Parses an input datetime: RFC 3339 with `Z` or an offset, fractional seconds
/// allowed. A value without an offset is taken as UTC, since clients generated
/// from the vendor's OpenAPI document send such values.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// `{"StartUtc", "EndUtc"}`, at most `N` calendar months long; as a filter,
/// see [`TimeInterval::stored_bounds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeInterval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TimeInterval {
    /// Reads the interval property `name` of `obj`, allowing at most `max_months`.
    pub fn parse_optional(obj: &Object<'_>, name: &str, max_months: u32) -> Input<Option<Self>> {
        let path = obj.path(name);
        let Some(interval) = obj.object_at(name, &path)? else {
            return Ok(None);
        };
        let read = |end: &str| -> Input<DateTime<Utc>> {
            let text = interval.required_str(end)?;
            parse_datetime(text).ok_or_else(|| {
                InputError(format!(
                    "{} is not a valid date and time; use ISO 8601, for example 2022-03-03T00:00:00Z.",
                    interval.path(end).as_str()
                ))
            })
        };
        let start = read("StartUtc")?;
        let end = read("EndUtc")?;
        let p = path.as_str();
        if start > end {
            return Err(InputError(format!(
                "{p}.StartUtc must not be later than {p}.EndUtc."
            )));
        }
        let longest = start.checked_add_months(Months::new(max_months));
        if longest.is_none_or(|limit| end > limit) {
            let unit = if max_months == 1 { "month" } else { "months" };
            return Err(InputError(format!(
                "{p} must not be longer than {max_months} {unit}."
            )));
        }
        Ok(Some(Self { start, end }))
    }

    /// The interval as a filter, in inclusive bounds on whole-second timestamps:
    /// a stored `t` matches exactly when `first <= t <= last` (`first > last`
    /// matches nothing).
    ///
    /// The vendor's rule: when `StartUtc` equals `EndUtc` the filter matches
    /// exactly that instant ("equality mode"); otherwise it is half-open,
    /// `StartUtc <= t < EndUtc`, so back-to-back windows never share a record.
    /// Fractional seconds are compared exactly against the whole stored seconds.
    pub fn stored_bounds(&self) -> (i64, i64) {
        let first = ceil_seconds(self.start);
        if self.start == self.end {
            // A fractional instant matches no whole second: first = last + 1.
            return (first, self.start.timestamp());
        }
        // The last whole second strictly before `end`.
        let last = ceil_seconds(self.end) - 1;
        (first, last)
    }
}

/// The smallest whole second not earlier than `at`.
fn ceil_seconds(at: DateTime<Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// Written by hand or by chrono, a timestamp reads the same, in and out
        /// of the years 0 to 9999, in text and in JSON.
        #[test]
        fn a_timestamp_is_written_as_chrono_writes_it(
            seconds in prop_oneof![
                -62_167_219_200_i64..253_402_300_800,
                -100_000_000_000_i64..100_000_000_000,
            ]
        ) {
            let at = Timestamp::from_unix(seconds);
            let expected = at.to_datetime().to_rfc3339_opts(SecondsFormat::Secs, true);
            prop_assert_eq!(at.to_string(), expected.clone());
            prop_assert_eq!(serde_json::to_value(at).unwrap(), json!(expected));
        }
    }

    #[test]
    fn the_edges_of_the_written_years() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (-62_167_219_200, "0000-01-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
        ] {
            assert_eq!(Timestamp::from_unix(seconds).to_string(), text);
        }
        // Beyond 9999 chrono writes the year with a sign.
        assert_eq!(
            Timestamp::from_unix(253_402_300_800).to_string(),
            "+10000-01-01T00:00:00Z"
        );
    }

    fn interval(start: &str, end: &str, months: u32) -> Input<Option<TimeInterval>> {
        let body = json!({"I": {"StartUtc": start, "EndUtc": end}});
        TimeInterval::parse_optional(&Object::root(&body).unwrap(), "I", months)
    }

    #[test]
    fn output_is_whole_seconds_with_z() {
        assert_eq!(
            Timestamp::from_unix(1646668185).to_string(),
            "2022-03-07T15:49:45Z"
        );
    }

    #[test]
    fn input_accepts_offsets_fractions_and_naive_utc() {
        let expect = Utc.with_ymd_and_hms(2022, 3, 3, 0, 0, 0).unwrap();
        assert_eq!(parse_datetime("2022-03-03T00:00:00Z"), Some(expect));
        assert_eq!(parse_datetime("2022-03-03T01:00:00+01:00"), Some(expect));
        assert_eq!(parse_datetime("2022-03-03T00:00:00"), Some(expect));
        assert_eq!(
            parse_datetime("2022-03-03T00:00:00.250").map(|d| d.timestamp_subsec_millis()),
            Some(250)
        );
        assert_eq!(parse_datetime("2022-03-03"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn month_limit_clamps_the_day_to_the_months_end() {
        // 30 November + 3 months = 28 February (2023 is not a leap year).
        assert!(interval("2022-11-30T00:00:00Z", "2023-02-28T00:00:00Z", 3).is_ok());
        assert_eq!(
            interval("2022-11-30T00:00:00Z", "2023-02-28T00:00:01Z", 3)
                .unwrap_err()
                .0,
            "I must not be longer than 3 months."
        );
        assert!(interval("2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", 1).is_ok());
        assert!(interval("2024-01-31T00:00:00Z", "2024-03-01T00:00:00Z", 1).is_err());
    }

    #[test]
    fn start_after_end_is_refused() {
        assert_eq!(
            interval("2022-03-03T00:00:01Z", "2022-03-03T00:00:00Z", 3)
                .unwrap_err()
                .0,
            "I.StartUtc must not be later than I.EndUtc."
        );
    }

    fn bounds(start: &str, end: &str) -> (i64, i64) {
        let base = Utc
            .with_ymd_and_hms(2022, 3, 3, 0, 0, 0)
            .unwrap()
            .timestamp();
        let (first, last) = interval(start, end, 3).unwrap().unwrap().stored_bounds();
        (first - base, last - base)
    }

    #[test]
    fn the_start_is_included_and_the_end_excluded() {
        assert_eq!(
            bounds("2022-03-03T00:00:00Z", "2022-03-03T00:00:10Z"),
            (0, 9)
        );
    }

    #[test]
    fn equal_start_and_end_match_exactly_that_instant() {
        assert_eq!(
            bounds("2022-03-03T00:00:05Z", "2022-03-03T00:00:05Z"),
            (5, 5)
        );
        // The same instant written with two offsets is still one instant.
        assert_eq!(
            bounds("2022-03-03T01:00:05+01:00", "2022-03-03T00:00:05Z"),
            (5, 5)
        );
        // No stored whole second equals a fractional instant.
        let (first, last) = bounds("2022-03-03T00:00:05.5Z", "2022-03-03T00:00:05.5Z");
        assert!(first > last, "{first} > {last}");
    }

    #[test]
    fn fractional_bounds_map_to_whole_seconds_exactly() {
        // 00.5 <= t < 09.9 holds for t = 1 ..= 9.
        assert_eq!(
            bounds("2022-03-03T00:00:00.5Z", "2022-03-03T00:00:09.9Z"),
            (1, 9)
        );
        // Within one second, no whole second lies in [10.2, 10.7).
        let (first, last) = bounds("2022-03-03T00:00:10.2Z", "2022-03-03T00:00:10.7Z");
        assert!(first > last, "{first} > {last}");
    }
}
