//! The Vietnamese calendar: the lunisolar calendar (for Tết and Giỗ Tổ) and,
//! built on it, statutory holidays and working-day arithmetic (issue #3).

pub mod holidays;
pub mod lunar;
pub mod working_days;
