//! Duration flags and config keys: a number and a unit, `ms` or `s` (`585ms`, `1.5s`).

use std::time::Duration;

/// Parses a duration: a number and `ms` or `s`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("{text:?} is not a duration: expected a number and ms or s, as 585ms or 1.5s");
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(secs) = text.strip_suffix('s') {
        (secs, 1.0)
    } else {
        return Err(bad());
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| bad())
}

/// Shows a duration as [`parse`] reads it: whole seconds as `5s`, else milliseconds.
pub fn show(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_secs_f64() * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_or_say_why_not() {
        assert_eq!(parse("585ms"), Ok(Duration::from_millis(585)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        for bad in ["", "5", "ms", "-1s", "1.5 s", "1h", "infs"] {
            let error = parse(bad).err().unwrap_or_default();
            assert!(error.contains("is not a duration"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn durations_show_as_they_parse() {
        for duration in [
            Duration::from_secs(5),
            Duration::from_millis(1500),
            Duration::ZERO,
        ] {
            assert_eq!(parse(&show(duration)), Ok(duration), "{}", show(duration));
        }
        assert_eq!(show(Duration::from_secs(30)), "30s");
        assert_eq!(show(Duration::from_millis(250)), "250ms");
    }
}
