//! `devstack conformance`: the conformance page, written or checked.

use anyhow::{Result, bail};
use devstack_cloud::conformance::{page, problems, rows};

pub(crate) fn conformance(check: bool) -> Result<()> {
    let root = repo::root();
    let rows = rows(&root)?;
    let text = page(&rows);
    let file = root.join(repo::paths::CONFORMANCE_PAGE);
    let problems = problems(&root, &rows);
    for problem in &problems {
        eprintln!("conformance: {problem}");
    }
    if check {
        if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            bail!(
                "{} is stale: cargo devstack conformance",
                repo::paths::CONFORMANCE_PAGE
            );
        }
    } else {
        std::fs::write(&file, &text)?;
        eprintln!(
            "wrote {} ({} operations)",
            repo::paths::CONFORMANCE_PAGE,
            rows.len()
        );
    }
    if !problems.is_empty() {
        bail!("{} conformance problems", problems.len());
    }
    Ok(())
}
