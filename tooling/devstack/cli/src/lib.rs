//! The `devstack` CLI's definition (`cli`), apart from its binary so that
//! a test can read it; the commands' bodies are the binary's.

pub mod cli;
