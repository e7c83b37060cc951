//! Wall-clock times as people and tools read them: RFC 3339 in UTC.

use std::time::Duration;

/// `since_epoch` as RFC 3339 in UTC with nanoseconds (`2026-12-07T06:00:00.123456789Z`).
pub fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since_epoch.subsec_nanos()
    )
}

/// Milliseconds since the epoch, as `rfc3339`.
pub fn rfc3339_ms(ms: u64) -> String {
    rfc3339(Duration::from_millis(ms))
}

/// Now, as `rfc3339`.
pub fn now_rfc3339() -> String {
    rfc3339(crate::sys::process::now_realtime())
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339(Duration::ZERO), "1970-01-01T00:00:00.000000000Z");
        // 2024-02-29 (a leap day) 13:45:30.5
        let t = Duration::new(1_709_214_330, 500_000_000);
        assert_eq!(rfc3339(t), "2024-02-29T13:45:30.500000000Z");
        assert_eq!(
            rfc3339_ms(1_700_000_000_123),
            "2023-11-14T22:13:20.123000000Z"
        );
    }
}
