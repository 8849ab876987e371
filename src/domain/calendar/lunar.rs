//! The Vietnamese lunisolar calendar (âm lịch), implemented from its
//! published rules (DOMAIN §9.4) and the astronomical formulas in Jean Meeus,
//! *Astronomical Algorithms* (2nd ed.): new moons (ch. 49), the Sun's apparent
//! longitude (ch. 25) and ΔT (Espenak & Meeus polynomials). Clean-room: no
//! code from Hồ Ngọc Đức's non-commercial implementation or its ports.
//!
//! The rules:
//! 1. A month begins on the day (in Vietnam, UTC+7) that contains a new moon.
//! 2. The month containing the winter solstice is month 11.
//! 3. When 13 new moons begin between one month 11 and the next, the first
//!    month after month 11 that contains no principal term (the Sun's
//!    longitude crossing a multiple of 30°) is a leap month and repeats the
//!    number of the month before it.
//!
//! Vietnam reckons at 105°E (UTC+7); China at UTC+8. The two differ when a
//! new moon falls between 16:00 and 17:00 UTC: Tết 1985, 2007 and 2030 are
//! a day (or a month) apart.

use chrono::{Datelike, NaiveDate};

/// The years checked against golden data (tests/data/calendar): the
/// service offers calendars for these only.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2199;

/// Vietnam's offset from UTC, in days.
const TIME_ZONE_DAYS: f64 = 7.0 / 24.0;
/// JDN of 0001-01-01 minus chrono's day count from the common era.
const JDN_OFFSET: i64 = 1_721_425;

/// A date in the lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LunarDate {
    /// The lunar year, numbered like the Gregorian year in which most of it
    /// falls (Tết 2026 begins lunar year 2026, Bính Ngọ).
    pub year: i32,
    /// 1–12.
    pub month: u32,
    /// 1–30.
    pub day: u32,
    /// Whether this is the leap repetition of `month`.
    pub leap: bool,
}

/// Julian Day Number of a civil date (days since the Julian epoch).
fn jdn(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) + JDN_OFFSET
}

fn from_jdn(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day - JDN_OFFSET).ok()?)
}

fn sin_deg(x: f64) -> f64 {
    x.to_radians().sin()
}

/// ΔT = TT − UT in seconds (Espenak & Meeus, NASA eclipse site), good to a
/// few seconds in the 20th century and a few minutes by 2200.
fn delta_t_seconds(year: f64) -> f64 {
    let u = (year - 1820.0) / 100.0;
    match year {
        y if y < 1860.0 => -20.0 + 32.0 * u * u,
        y if y < 1900.0 => {
            let t = y - 1860.0;
            7.62 + 0.5737 * t - 0.251754 * t.powi(2) + 0.01680668 * t.powi(3)
                - 0.0004473624 * t.powi(4)
                + t.powi(5) / 233_174.0
        }
        y if y < 1920.0 => {
            let t = y - 1900.0;
            -2.79 + 1.494119 * t - 0.0598939 * t.powi(2) + 0.0061966 * t.powi(3)
                - 0.000197 * t.powi(4)
        }
        y if y < 1941.0 => {
            let t = y - 1920.0;
            21.20 + 0.84493 * t - 0.076100 * t.powi(2) + 0.0020936 * t.powi(3)
        }
        y if y < 1961.0 => {
            let t = y - 1950.0;
            29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
        }
        y if y < 1986.0 => {
            let t = y - 1975.0;
            45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
        }
        y if y < 2005.0 => {
            let t = y - 2000.0;
            63.86 + 0.3345 * t - 0.060374 * t.powi(2)
                + 0.0017275 * t.powi(3)
                + 0.000651814 * t.powi(4)
                + 0.00002373599 * t.powi(5)
        }
        y if y < 2050.0 => {
            let t = y - 2000.0;
            62.92 + 0.32217 * t + 0.005589 * t.powi(2)
        }
        y if y < 2150.0 => -20.0 + 32.0 * u * u - 0.5628 * (2150.0 - y),
        _ => -20.0 + 32.0 * u * u,
    }
}

/// Converts a Julian Ephemeris Day (TT) to a Julian Day in UT.
fn tt_to_ut(jde: f64) -> f64 {
    let year = 2000.0 + (jde - 2_451_545.0) / 365.25;
    jde - delta_t_seconds(year) / 86_400.0
}

/// The instant (Julian Day, UT) of new moon number `k` (k = 0 is the new
/// moon of 2000-01-06), Meeus ch. 49 with all periodic and planetary terms.
fn new_moon_jd(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let (t2, t3, t4) = (t * t, t * t * t, t * t * t * t);
    let jde = 2_451_550.097_66 + 29.530_588_861 * k + 0.000_154_37 * t2 - 0.000_000_150 * t3
        + 0.000_000_000_73 * t4;
    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    let m = 2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3;
    let mp =
        201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4;
    let f =
        160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4;
    let om = 124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3;
    let periodic = -0.40720 * sin_deg(mp)
        + 0.17241 * e * sin_deg(m)
        + 0.01608 * sin_deg(2.0 * mp)
        + 0.01039 * sin_deg(2.0 * f)
        + 0.00739 * e * sin_deg(mp - m)
        - 0.00514 * e * sin_deg(mp + m)
        + 0.00208 * e * e * sin_deg(2.0 * m)
        - 0.00111 * sin_deg(mp - 2.0 * f)
        - 0.00057 * sin_deg(mp + 2.0 * f)
        + 0.00056 * e * sin_deg(2.0 * mp + m)
        - 0.00042 * sin_deg(3.0 * mp)
        + 0.00042 * e * sin_deg(m + 2.0 * f)
        + 0.00038 * e * sin_deg(m - 2.0 * f)
        - 0.00024 * e * sin_deg(2.0 * mp - m)
        - 0.00017 * sin_deg(om)
        - 0.00007 * sin_deg(mp + 2.0 * m)
        + 0.00004 * sin_deg(2.0 * mp - 2.0 * f)
        + 0.00004 * sin_deg(3.0 * m)
        + 0.00003 * sin_deg(mp + m - 2.0 * f)
        + 0.00003 * sin_deg(2.0 * mp + 2.0 * f)
        - 0.00003 * sin_deg(mp + m + 2.0 * f)
        + 0.00003 * sin_deg(mp - m + 2.0 * f)
        - 0.00002 * sin_deg(mp - m - 2.0 * f)
        - 0.00002 * sin_deg(3.0 * mp + m)
        + 0.00002 * sin_deg(4.0 * mp);
    let planetary: f64 = [
        (325.0, 299.77 + 0.107_408 * k - 0.009_173 * t2),
        (165.0, 251.88 + 0.016_321 * k),
        (164.0, 251.83 + 26.651_886 * k),
        (126.0, 349.42 + 36.412_478 * k),
        (110.0, 84.66 + 18.206_239 * k),
        (62.0, 141.74 + 53.303_771 * k),
        (60.0, 207.14 + 2.453_732 * k),
        (56.0, 154.84 + 7.306_860 * k),
        (47.0, 34.52 + 27.261_239 * k),
        (42.0, 207.19 + 0.121_824 * k),
        (40.0, 291.34 + 1.844_379 * k),
        (37.0, 161.72 + 24.198_154 * k),
        (35.0, 239.56 + 25.513_099 * k),
        (23.0, 331.55 + 3.592_518 * k),
    ]
    .iter()
    .map(|(coefficient, argument)| coefficient * 1e-6 * sin_deg(*argument))
    .sum();
    tt_to_ut(jde + periodic + planetary)
}

/// The day (JDN, Vietnam) on which new moon `k` falls: a lunar month's
/// first day.
fn new_moon_day(k: i64) -> i64 {
    (new_moon_jd(k) + 0.5 + TIME_ZONE_DAYS).floor() as i64
}

/// The Sun's apparent longitude in degrees [0, 360) at 00:00 Vietnam time
/// at the start of day `day` (JDN), Meeus ch. 25 (about 0.01°).
fn sun_longitude_at_day_start(day: i64) -> f64 {
    let jd_ut = day as f64 - 0.5 - TIME_ZONE_DAYS;
    let year = 2000.0 + (jd_ut - 2_451_545.0) / 365.25;
    let jde = jd_ut + delta_t_seconds(year) / 86_400.0;
    let t = (jde - 2_451_545.0) / 36_525.0;
    let l0 = 280.46646 + 36_000.769_83 * t + 0.000_303_2 * t * t;
    let m = 357.52911 + 35_999.050_29 * t - 0.000_153_7 * t * t;
    let c = (1.914_602 - 0.004_817 * t - 0.000_014 * t * t) * sin_deg(m)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * m)
        + 0.000_289 * sin_deg(3.0 * m);
    let omega = 125.04 - 1934.136 * t;
    let apparent = l0 + c - 0.005_69 - 0.004_78 * sin_deg(omega);
    apparent.rem_euclid(360.0)
}

/// Which 30° sector the Sun is in at the start of `day` (principal terms
/// are the sector boundaries).
fn sun_sector(day: i64) -> i64 {
    (sun_longitude_at_day_start(day) / 30.0).floor() as i64
}

/// The index k of the lunar month that contains `day`.
fn month_containing(day: i64) -> i64 {
    let mut k = ((day as f64 - 2_451_550.097_66) / 29.530_588_861).floor() as i64;
    while new_moon_day(k + 1) <= day {
        k += 1;
    }
    while new_moon_day(k) > day {
        k -= 1;
    }
    k
}

/// The index k of month 11 of Gregorian year `year`: the month in which the
/// Sun reaches 270° (the winter solstice).
fn month_eleven(year: i32) -> Option<i64> {
    let dec31 = jdn(NaiveDate::from_ymd_opt(year, 12, 31)?);
    let mut k = month_containing(dec31);
    // The solstice (about 21–22 December) lies in the month where the
    // Sun's longitude at the start is below 270° and at the next start is
    // 270° or more.
    while sun_longitude_at_day_start(new_moon_day(k)) >= 270.0 {
        k -= 1;
    }
    Some(k)
}

/// For the lunar year span from month 11 at `k11` to the next month 11:
/// the offset (1–12) of the leap month after `k11`, if the span has 13
/// months.
fn leap_offset(k11: i64, next_k11: i64) -> Option<i64> {
    if next_k11 - k11 != 13 {
        return None;
    }
    (1..=12).find(|&i| sun_sector(new_moon_day(k11 + i)) == sun_sector(new_moon_day(k11 + i + 1)))
}

impl LunarDate {
    /// The lunar date of a civil (Gregorian) date.
    pub fn from_solar(date: NaiveDate) -> Option<Self> {
        let day = jdn(date);
        let k = month_containing(day);
        let mut k11 = month_eleven(date.year())?;
        let mut year_of_k11 = date.year();
        if k < k11 {
            k11 = month_eleven(date.year() - 1)?;
            year_of_k11 -= 1;
        }
        let next_k11 = month_eleven(year_of_k11 + 1)?;
        let mut offset = k - k11;
        let mut leap = false;
        if let Some(leap_at) = leap_offset(k11, next_k11)
            && offset >= leap_at
        {
            leap = offset == leap_at;
            offset -= 1;
        }
        let month = u32::try_from((offset + 10).rem_euclid(12) + 1).ok()?;
        let year = if month >= 11 && offset < 2 {
            year_of_k11
        } else {
            year_of_k11 + 1
        };
        let day_of_month = u32::try_from(day - new_moon_day(k) + 1).ok()?;
        Some(Self {
            year,
            month,
            day: day_of_month,
            leap,
        })
    }

    /// The civil date of this lunar date, or `None` if it does not exist
    /// (a leap month the year does not have, a 30th in a 29-day month).
    pub fn to_solar(self) -> Option<NaiveDate> {
        if !(1..=12).contains(&self.month) || !(1..=30).contains(&self.day) {
            return None;
        }
        let year_of_k11 = if self.month >= 11 {
            self.year
        } else {
            self.year - 1
        };
        let k11 = month_eleven(year_of_k11)?;
        let next_k11 = month_eleven(year_of_k11 + 1)?;
        let mut offset = (i64::from(self.month) + 12 - 11) % 12;
        match leap_offset(k11, next_k11) {
            Some(leap_at) => {
                if self.leap && offset + 1 != leap_at {
                    return None;
                }
                if self.leap || offset >= leap_at {
                    offset += 1;
                }
            }
            None if self.leap => return None,
            None => {}
        }
        let start = new_moon_day(k11 + offset);
        let length = new_moon_day(k11 + offset + 1) - start;
        if i64::from(self.day) > length {
            return None;
        }
        from_jdn(start + i64::from(self.day) - 1)
    }

    /// The leap month of lunar year `year` (the year Tết `year` begins), if
    /// it has one.
    pub fn leap_month_of(year: i32) -> Option<u32> {
        // Leap months 1–10 of lunar year `year` lie in the span that ends
        // with month 11 of Gregorian `year`; a leap 11 or 12 (2033, 2128)
        // in the span that starts there.
        let previous = month_eleven(year - 1)?;
        let this = month_eleven(year)?;
        let next = month_eleven(year + 1)?;
        let month_at = |offset: i64| u32::try_from((offset - 1 + 10).rem_euclid(12) + 1).ok();
        match leap_offset(previous, this) {
            Some(offset) if offset >= 3 => return month_at(offset),
            _ => {}
        }
        match leap_offset(this, next) {
            Some(offset) if offset <= 2 => month_at(offset),
            _ => None,
        }
    }
}

/// The first day of lunar year `year` (mùng 1 Tết), in Vietnam.
pub fn tet(year: i32) -> Option<NaiveDate> {
    LunarDate {
        year,
        month: 1,
        day: 1,
        leap: false,
    }
    .to_solar()
}

/// Giỗ Tổ Hùng Vương: the 10th day of the 3rd lunar month (BLLĐ 2019
/// Điều 112.1.e).
pub fn gio_to_hung_vuong(year: i32) -> Option<NaiveDate> {
    LunarDate {
        year,
        month: 3,
        day: 10,
        leap: false,
    }
    .to_solar()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn tet_in_vietnam_including_years_china_differs() {
        for (year, date) in [
            (1985, "1985-01-21"),
            (2007, "2007-02-17"),
            (2023, "2023-01-22"),
            (2024, "2024-02-10"),
            (2025, "2025-01-29"),
            (2026, "2026-02-17"),
            (2027, "2027-02-06"),
            (2028, "2028-01-26"),
            (2029, "2029-02-13"),
            (2030, "2030-02-02"),
        ] {
            assert_eq!(tet(year), Some(d(date)), "Tết {year}");
        }
    }

    #[test]
    fn gio_to_hung_vuong_dates() {
        for (year, date) in [
            (2023, "2023-04-29"),
            (2024, "2024-04-18"),
            (2025, "2025-04-07"),
            (2026, "2026-04-26"),
            (2027, "2027-04-16"),
            (2028, "2028-04-04"),
            (2029, "2029-04-23"),
            (2030, "2030-04-12"),
        ] {
            assert_eq!(gio_to_hung_vuong(year), Some(d(date)), "Giỗ Tổ {year}");
        }
    }

    #[test]
    fn leap_months_of_recent_years() {
        // 2020: leap 4; 2023: leap 2; 2025: leap 6; 2028: leap 5.
        assert_eq!(LunarDate::leap_month_of(2020), Some(4));
        assert_eq!(LunarDate::leap_month_of(2023), Some(2));
        assert_eq!(LunarDate::leap_month_of(2025), Some(6));
        assert_eq!(LunarDate::leap_month_of(2026), None);
        assert_eq!(LunarDate::leap_month_of(2028), Some(5));
        // 2033: leap 11, the case many implementations get wrong.
        assert_eq!(LunarDate::leap_month_of(2033), Some(11));
        let leap_eleven = LunarDate {
            year: 2033,
            month: 11,
            day: 1,
            leap: true,
        };
        assert_eq!(
            LunarDate::from_solar(leap_eleven.to_solar().unwrap()),
            Some(leap_eleven)
        );
    }

    #[test]
    fn solar_lunar_round_trip_1900_to_2199() {
        let mut day = d("1900-02-01");
        let end = d("2199-12-31");
        while day <= end {
            let lunar =
                LunarDate::from_solar(day).unwrap_or_else(|| panic!("no lunar date for {day}"));
            assert_eq!(lunar.to_solar(), Some(day), "{day} → {lunar:?} → back");
            day += chrono::Duration::days(13);
        }
    }

    #[test]
    fn impossible_lunar_dates_are_none() {
        assert_eq!(
            LunarDate {
                year: 2026,
                month: 4,
                day: 1,
                leap: true
            }
            .to_solar(),
            None,
            "2026 has no leap month"
        );
        assert_eq!(
            LunarDate {
                year: 2026,
                month: 13,
                day: 1,
                leap: false
            }
            .to_solar(),
            None
        );
        assert!(
            LunarDate {
                year: 2025,
                month: 6,
                day: 1,
                leap: true
            }
            .to_solar()
            .is_some()
        );
    }
}

#[cfg(test)]
mod golden {
    use super::*;

    /// Tết, Giỗ Tổ and the leap month for every year of the golden file,
    /// generated once from an independent, permissively licensed
    /// implementation (tests/data/calendar/README.md names it).
    #[test]
    fn every_year_of_the_golden_file_agrees() {
        let text = include_str!("../../../tests/data/calendar/vn_lunar_golden.csv");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("year,tet,gio_to,leap_month"));
        let mut mismatches = Vec::new();
        let mut years = 0;
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split(',').collect();
            let year: i32 = cols[0].parse().unwrap();
            let expected_tet: NaiveDate = cols[1].parse().unwrap();
            let expected_gio_to: NaiveDate = cols[2].parse().unwrap();
            let expected_leap: u32 = cols[3].parse().unwrap();
            years += 1;
            let got = (
                tet(year),
                gio_to_hung_vuong(year),
                LunarDate::leap_month_of(year).unwrap_or(0),
            );
            if got != (Some(expected_tet), Some(expected_gio_to), expected_leap) {
                mismatches.push(format!("{year}: expected {expected_tet} {expected_gio_to} leap {expected_leap}, got {got:?}"));
            }
        }
        assert!(years >= 250, "the golden file covers {years} years");
        assert!(
            mismatches.is_empty(),
            "{} mismatches:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
    }
}
