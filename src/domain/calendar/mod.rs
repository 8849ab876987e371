//! The Vietnamese calendar: the lunisolar calendar (for Tết and Giỗ Tổ) and,
//! built on it, statutory holidays, official yearly schedules and
//! working-day arithmetic.

pub mod holidays;
pub mod ics;
pub mod lunar;
pub mod schedule_file;
pub mod working_days;
