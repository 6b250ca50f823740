//! The sandbox's magic values. Vendors' test modes change behaviour on
//! marked input instead of settings, so a caller's own tests can reach
//! every path through the ordinary API; here the marks go in the subject,
//! the one free-text field a caller controls per campaign.

/// What the markers in a subject ask for; they combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scenario {
    /// `[sandbox:fail]`: ends `failed` after `sending`.
    pub fail: bool,
    /// `[sandbox:silent]`: accepted, then never moves and never calls.
    pub silent: bool,
    /// `[sandbox:5xx=N]`: the first N requests answer 503.
    pub unavailable: u32,
    /// `[sandbox:429=N]`: then N requests answer 429.
    pub throttled: u32,
    /// `[sandbox:duplicate]`: every delivery is sent twice.
    pub duplicate: bool,
    /// `[sandbox:fast]`: no step between status changes.
    pub fast: bool,
}

const OPEN: &str = "[sandbox:";

impl Scenario {
    /// The markers in `subject`. Anything else in brackets, including an
    /// unknown `[sandbox:…]`, is text: a real subject may hold brackets.
    pub fn of(subject: &str) -> Self {
        let mut scenario = Self::default();
        let mut rest = subject;
        while let Some(at) = rest.find(OPEN) {
            let after = &rest[at + OPEN.len()..];
            let Some(end) = after.find(']') else { break };
            scenario.apply(&after[..end]);
            rest = &after[end + 1..];
        }
        scenario
    }

    fn apply(&mut self, marker: &str) {
        let count = |prefix: &str| marker.strip_prefix(prefix)?.parse::<u32>().ok();
        match marker {
            "fail" => self.fail = true,
            "silent" => self.silent = true,
            "duplicate" => self.duplicate = true,
            "fast" => self.fast = true,
            _ => {
                if let Some(n) = count("5xx=") {
                    self.unavailable = n;
                } else if let Some(n) = count("429=") {
                    self.throttled = n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_combine_and_other_brackets_are_text() {
        let s =
            Scenario::of("[sandbox:fail] Hello [sandbox:5xx=2][sandbox:429=1] [x] [sandbox:fast");
        assert_eq!(
            s,
            Scenario {
                fail: true,
                unavailable: 2,
                throttled: 1,
                ..Scenario::default()
            }
        );
        let s = Scenario::of("[sandbox:silent][sandbox:duplicate][sandbox:fast][sandbox:5xx=x]");
        assert!(s.silent && s.duplicate && s.fast);
        assert_eq!(s.unavailable, 0);
        assert_eq!(Scenario::of("Plain [sandbox:other]"), Scenario::default());
    }
}
