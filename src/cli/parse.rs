//! Value parsers for the numeric options: a value out of range is refused by clap
//! when the command line is read, with one sentence naming the option's rule, instead
//! of indexing out of bounds or dividing by zero later.

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse::<T>()
        .map_err(|_| format!("{s:?} is not a number"))
}

fn finite(s: &str) -> Result<f64, String> {
    let v: f64 = number(s)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{s} is not a finite number"))
    }
}

/// A number from 0 to 1 (thresholds, fractions).
pub fn unit(s: &str) -> Result<f32, String> {
    let v = finite(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v as f32)
    } else {
        Err(format!("{s} is not a number from 0 to 1"))
    }
}

/// A fraction of the data held out: from 0 to under 1.
pub fn fraction(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s} is not a fraction from 0 to under 1"))
    }
}

/// A number above 0 (a duration, a learning rate).
pub fn positive(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} is not a number above 0"))
    }
}

/// A number of 0 or more (a time in the video, a weight).
pub fn non_negative(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} is not a number of 0 or more"))
    }
}

/// [`non_negative`] as f32.
pub fn non_negative_f32(s: &str) -> Result<f32, String> {
    non_negative(s).map(|v| v as f32)
}

/// A count of 1 or more (strides, sizes, epochs, threads).
pub fn count(s: &str) -> Result<usize, String> {
    let v: usize = number(s).map_err(|_| format!("{s:?} is not a whole number"))?;
    if v >= 1 {
        Ok(v)
    } else {
        Err(format!("{s} is not a whole number of 1 or more"))
    }
}

/// A frame step: 1 or more.
pub fn step(s: &str) -> Result<std::num::NonZeroU32, String> {
    let v: u32 = number(s).map_err(|_| format!("{s:?} is not a whole number"))?;
    std::num::NonZeroU32::new(v).ok_or_else(|| format!("{s} is not a whole number of 1 or more"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(unit("0.5"), Ok(0.5));
        for bad in ["-0.1", "1.5", "nan", "inf", "x", ""] {
            assert!(unit(bad).is_err(), "{bad}");
        }
        assert!(fraction("1").is_err() && fraction("0").is_ok());
        assert!(positive("0").is_err() && positive("-1").is_err() && positive("1e-3").is_ok());
        assert!(non_negative("-0.5").is_err() && non_negative("0").is_ok());
        assert!(count("0").is_err() && count("-3").is_err() && count("2") == Ok(2));
        assert!(step("0").is_err() && step("4").map(|s| s.get()) == Ok(4));
    }
}
