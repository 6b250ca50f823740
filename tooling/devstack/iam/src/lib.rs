//! The local cloud's judge of AWS calls, as IAM judges them on AWS: who
//! signed ([`sigv4`]), what the call asks for ([`actions`]) and whether the
//! policies ([`policy`]) allow it ([`verdict`]). Pure: the cloud reads the policies from
//! the emulator and hands them in; nothing here does I/O.

pub mod actions;
pub mod cors;
pub mod policy;
pub mod report;
pub mod sigv4;
pub mod verdict;

use std::fmt;
use std::str::FromStr;

/// How the local cloud treats what IAM would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Refused as AWS refuses it.
    #[default]
    Strict,
    /// Let through, and recorded as a would-be denial.
    Audit,
    /// Nothing judged: the emulator's own behaviour, for comparing.
    Off,
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Self::Strict),
            "audit" => Ok(Self::Audit),
            "off" => Ok(Self::Off),
            other => Err(format!("no IAM mode {other}: strict, audit or off")),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Strict => "strict",
            Self::Audit => "audit",
            Self::Off => "off",
        })
    }
}
