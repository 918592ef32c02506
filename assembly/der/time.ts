// Calendar arithmetic for UTCTime / GeneralizedTime (RFC 5280 4.1.2.5): proleptic Gregorian
// calendar, years 0000..9999, UTC, seconds since 1970-01-01T00:00:00Z. Day counts follow
// H. Hinnant's days_from_civil / civil_from_days, with years shifted by 400 (one era, 146097
// days) so that every division is of non-negative numbers.

// Seconds of 0000-01-01T00:00:00Z and of 9999-12-31T23:59:59Z.
export const TIME_MIN: i64 = -62167219200;
export const TIME_MAX: i64 = 253402300799;

const ERA_DAYS: i32 = 146097;
const EPOCH_DAYS: i32 = 719468; // days from 0000-03-01 to 1970-01-01

export function daysInMonth(y: i32, m: i32): i32 {
  if (m == 2) return (y & 3) == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : 28;
  return 30 + ((m + (m >> 3)) & 1);
}

// Days since 1970-01-01 of the valid date y-m-d (0 <= y <= 9999).
export function daysFromCivil(y: i32, m: i32, d: i32): i32 {
  y += 400 - <i32>(m <= 2);
  const era = y / 400;
  const yoe = y - era * 400;
  const doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * ERA_DAYS + doe - EPOCH_DAYS - ERA_DAYS;
}

// Results of civilFromDays.
export let civilYear: i32 = 0;
export let civilMonth: i32 = 0;
export let civilDay: i32 = 0;

// Date of day z since 1970-01-01 (z >= -EPOCH_DAYS - ERA_DAYS) into civilYear/Month/Day.
export function civilFromDays(z: i32): void {
  z += EPOCH_DAYS + ERA_DAYS;
  const era = z / ERA_DAYS;
  const doe = z - era * ERA_DAYS;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const m = mp < 10 ? mp + 3 : mp - 9;
  civilYear = yoe + era * 400 + <i32>(m <= 2) - 400;
  civilMonth = m;
  civilDay = doy - (153 * mp + 2) / 5 + 1;
}
