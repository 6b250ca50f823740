//! Exporting dead letters to a file, read back before each counts as
//! written, and purging exactly what an export holds.

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::letter::Raw;
use crate::queue;
use crate::targets::{Service, Targets};

/// Appends records to an export file and reads them back before they
/// count as written.
pub struct ExportFile {
    file: std::fs::File,
}

impl ExportFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { file })
    }

    pub fn write_verified(&mut self, raws: &[Raw]) -> Result<()> {
        let start = self.file.seek(SeekFrom::End(0))?;
        let mut text = String::new();
        for r in raws {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        self.file.write_all(text.as_bytes())?;
        self.file.sync_all()?;
        let mut back = String::new();
        self.file.seek(SeekFrom::Start(start))?;
        (&self.file).read_to_string(&mut back)?;
        let ids: Vec<String> = back
            .lines()
            .map(|l| serde_json::from_str::<Raw>(l).map(|r| r.message_id))
            .collect::<Result<_, _>>()
            .context("the export file does not read back")?;
        let wanted: Vec<String> = raws.iter().map(|r| r.message_id.clone()).collect();
        if ids != wanted {
            bail!("the export file does not hold what was written");
        }
        Ok(())
    }
}

pub fn read_export(path: &Path) -> Result<Vec<Raw>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(i, l)| {
            serde_json::from_str(&l?).with_context(|| format!("{}:{}", path.display(), i + 1))
        })
        .collect()
}

/// Copies every message to `out`; with `remove`, deletes each batch once
/// its copy is verified. Returns how many were exported.
pub async fn export(t: &Targets, service: &Service, out: &Path, remove: bool) -> Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    let mut file = ExportFile::open(out)?;
    let mut seen = BTreeSet::new();
    let mut held = Vec::new();
    let mut idle = 0;
    while idle < 2 {
        let got = queue::receive(&sqs, &service.dlq_queue_url, 10, 60).await?;
        let fresh: Vec<_> = got
            .iter()
            .filter(|r| !seen.contains(&r.raw.message_id))
            .collect();
        if fresh.is_empty() {
            idle += 1;
            held.extend(got.into_iter().map(|r| r.handle));
            continue;
        }
        idle = 0;
        let raws: Vec<Raw> = fresh.iter().map(|r| r.raw.clone()).collect();
        file.write_verified(&raws)?;
        seen.extend(raws.iter().map(|r| r.message_id.clone()));
        let handles: Vec<String> = got.into_iter().map(|r| r.handle).collect();
        if remove {
            queue::delete(&sqs, &service.dlq_queue_url, &handles).await?;
        } else {
            held.extend(handles);
        }
    }
    queue::release(&sqs, &service.dlq_queue_url, &held).await?;
    Ok(seen.len())
}

/// Deletes exactly the messages an export holds; refuses when the queue
/// holds any message the export does not.
pub async fn purge(
    t: &Targets,
    service: &Service,
    export: Option<&Path>,
    force: bool,
) -> Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    let exported: BTreeSet<String> = match export {
        Some(p) => read_export(p)?.into_iter().map(|r| r.message_id).collect(),
        None if force => BTreeSet::new(),
        None => {
            bail!("refusing to purge without --export FILE holding these messages (or --force)")
        }
    };
    let mut deleted = 0;
    let mut keep = Vec::new();
    let mut seen = BTreeSet::new();
    let mut idle = 0;
    while idle < 2 {
        let got = queue::receive(&sqs, &service.dlq_queue_url, 10, 30).await?;
        if got.iter().all(|r| seen.contains(&r.raw.message_id)) {
            idle += 1;
        }
        let mut doomed = Vec::new();
        for r in got {
            seen.insert(r.raw.message_id.clone());
            if force || exported.contains(&r.raw.message_id) {
                doomed.push(r.handle);
            } else {
                keep.push((r.raw.message_id, r.handle));
            }
        }
        deleted += queue::delete(&sqs, &service.dlq_queue_url, &doomed).await?;
    }
    let handles: Vec<String> = keep.iter().map(|(_, h)| h.clone()).collect();
    queue::release(&sqs, &service.dlq_queue_url, &handles).await?;
    if !keep.is_empty() {
        bail!(
            "{deleted} purged; {} message(s) are not in the export and were kept: {}",
            keep.len(),
            keep.iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(deleted)
}
