//! A last pass over the written output for what needs its relocated debug information:
//! `--gdb-index` adds `.gdb_index` (built by [`crate::gdb_index`]), and
//! `--compress-debug-sections` compresses each `.debug_*` section (an `Elf64_Chdr` and a zlib
//! or zstd stream, `SHF_COMPRESSED`); the non-allocated tail of the file is then packed again.
//!
//! It runs once the output is complete because a debug section's bytes are only known after
//! relocation, and their compressed size only after that. Only the tail moves: rlink puts
//! every non-allocated section after the loaded ones, then the section headers, so no
//! address and no program header changes.

use object::elf;
use rayon::prelude::*;
use rlink_linker::output::Rewrite;
use rlink_linker::par::PerItem as _;
use rlink_linker::plan::DebugCompression;
use rlink_linker::{bail, Error, Result};

/// One section header, as the pass reads and rewrites it.
#[derive(Clone, Copy)]
struct Header {
    name: u32,
    sh_type: u32,
    flags: u64,
    offset: u64,
    size: u64,
    align: u64,
}

fn get<const N: usize>(buf: &[u8], at: usize) -> Result<[u8; N]> {
    buf.get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::new("compressing debug sections: header out of range (linker bug)"))
}

fn u16_at(buf: &[u8], at: usize) -> Result<u16> {
    Ok(u16::from_le_bytes(get(buf, at)?))
}
fn u32_at(buf: &[u8], at: usize) -> Result<u32> {
    Ok(u32::from_le_bytes(get(buf, at)?))
}
fn u64_at(buf: &[u8], at: usize) -> Result<u64> {
    Ok(u64::from_le_bytes(get(buf, at)?))
}

/// Compresses `data` as an ELF compressed section: the header, then the stream.
fn compress(data: &[u8], how: DebugCompression, level: Option<u32>) -> Result<Vec<u8>> {
    let (ch_type, stream) = match how {
        DebugCompression::Zlib => {
            use std::io::Write as _;
            // Level 1 unless asked: debug sections are large, and speed matters more.
            let level = flate2::Compression::new(level.unwrap_or(1));
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
            e.write_all(data)
                .and_then(|_| e.finish())
                .map(|v| (elf::ELFCOMPRESS_ZLIB, v))
                .map_err(|e| Error::new(format!("zlib: {e}")))?
        }
        DebugCompression::Zstd => {
            // The pure-Rust encoder has two levels: stored (0) and its fastest (about zstd's 1).
            let level = match level {
                Some(0) => ruzstd::encoding::CompressionLevel::Uncompressed,
                _ => ruzstd::encoding::CompressionLevel::Fastest,
            };
            (
                elf::ELFCOMPRESS_ZSTD,
                ruzstd::encoding::compress_to_vec(data, level),
            )
        }
    };
    let mut out = Vec::with_capacity(24 + stream.len());
    out.extend_from_slice(&ch_type.0.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    // The uncompressed section's alignment: 1 for every DWARF section rlink writes.
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(&stream);
    Ok(out)
}

/// The pass itself: `None` when there is nothing to do.
pub fn rewrite_tail(
    buf: &mut [u8],
    compression: Option<(DebugCompression, Option<u32>)>,
    gdb_index: bool,
) -> Result<Rewrite> {
    let shoff = u64_at(buf, 40)?;
    let shnum = u16_at(buf, 60)? as usize;
    let shstrndx = u16_at(buf, 62)? as usize;
    if shoff == 0 || shnum == 0 {
        return Ok(None);
    }
    let mut headers = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let at = shoff as usize + 64 * i;
        headers.push(Header {
            name: u32_at(buf, at)?,
            sh_type: u32_at(buf, at + 4)?,
            flags: u64_at(buf, at + 8)?,
            offset: u64_at(buf, at + 24)?,
            size: u64_at(buf, at + 32)?,
            align: u64_at(buf, at + 48)?,
        });
    }
    let strtab = headers
        .get(shstrndx)
        .and_then(|h| buf.get(h.offset as usize..(h.offset + h.size) as usize))
        .ok_or_else(|| Error::new("compressing debug sections: no .shstrtab (linker bug)"))?;
    let name_of = |h: &Header| -> &[u8] {
        let rest = strtab.get(h.name as usize..).unwrap_or_default();
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    };
    let in_file =
        |h: &Header| h.sh_type != elf::SHT_NOBITS.0 && h.sh_type != elf::SHT_NULL.0 && h.size > 0;
    // The tail: every non-allocated section, from the first of them on.
    let tail: Vec<usize> = (1..shnum)
        .filter(|&i| headers[i].flags & elf::SHF_ALLOC.0 == 0 && in_file(&headers[i]))
        .collect();
    let Some(keep) = tail.iter().map(|&i| headers[i].offset).min() else {
        return Ok(None);
    };
    if (1..shnum).any(|i| {
        let h = &headers[i];
        h.flags & elf::SHF_ALLOC.0 != 0 && in_file(h) && h.offset + h.size > keep
    }) {
        bail!("compressing debug sections: a loaded section follows the debug ones (linker bug)");
    }
    let wanted = |h: &Header| {
        compression.is_some()
            && name_of(h).starts_with(b".debug")
            && h.flags & elf::SHF_COMPRESSED.0 == 0
    };
    let index = match gdb_index {
        true => {
            let sections = |name: &str| -> &[u8] {
                headers
                    .iter()
                    .find(|h| name_of(h) == name.as_bytes() && in_file(h))
                    .and_then(|h| buf.get(h.offset as usize..(h.offset + h.size) as usize))
                    .unwrap_or_default()
            };
            crate::gdb_index::build(&sections)?
        }
        false => None,
    };
    if index.is_none() && !tail.iter().any(|&i| wanted(&headers[i])) {
        return Ok(None);
    }
    // `.gdb_index` joins the section names.
    let new_strtab = index.as_ref().map(|_| {
        let mut s = strtab.to_vec();
        let at = s.len() as u32;
        s.extend_from_slice(b".gdb_index\0");
        (at, s)
    });
    let contents: Vec<(usize, Option<Vec<u8>>)> = tail
        .par_iter()
        .per_item()
        .map(|&i| {
            let h = &headers[i];
            let data = buf
                .get(h.offset as usize..(h.offset + h.size) as usize)
                .ok_or_else(|| Error::new("compressing debug sections: section out of range"))?;
            if i == shstrndx {
                return Ok((i, new_strtab.as_ref().map(|(_, s)| s.clone())));
            }
            let compressed = match compression {
                Some((how, level)) if wanted(h) => Some(compress(data, how, level)?),
                _ => None,
            };
            Ok((i, compressed))
        })
        .collect::<Result<_>>()?;
    // Lay the tail out again in file order, each section at its alignment.
    let mut order = contents;
    order.sort_by_key(|(i, _)| headers[*i].offset);
    let mut out: Vec<u8> = Vec::new();
    let mut new_headers = headers.clone();
    for (i, compressed) in &order {
        let h = headers[*i];
        let align = if compressed.is_some() {
            8
        } else {
            h.align.max(1)
        };
        let at = (keep + out.len() as u64).next_multiple_of(align);
        out.resize((at - keep) as usize, 0);
        let n = &mut new_headers[*i];
        n.offset = at;
        match compressed {
            // The section names, with `.gdb_index`'s.
            Some(bytes) if *i == shstrndx => {
                out.extend_from_slice(bytes);
                n.size = bytes.len() as u64;
            }
            Some(bytes) => {
                out.extend_from_slice(bytes);
                n.size = bytes.len() as u64;
                n.flags |= elf::SHF_COMPRESSED.0;
                n.align = 8;
            }
            None => out.extend_from_slice(&buf[h.offset as usize..(h.offset + h.size) as usize]),
        }
    }
    let index_at = index.as_ref().map(|data| {
        let at = (keep + out.len() as u64).next_multiple_of(4);
        out.resize((at - keep) as usize, 0);
        out.extend_from_slice(data);
        (at, data.len() as u64)
    });
    let new_shoff = (keep + out.len() as u64).next_multiple_of(8);
    out.resize((new_shoff - keep) as usize, 0);
    for i in 0..shnum {
        let mut e = buf[shoff as usize + 64 * i..shoff as usize + 64 * (i + 1)].to_vec();
        let n = &new_headers[i];
        e[8..16].copy_from_slice(&n.flags.to_le_bytes());
        e[24..32].copy_from_slice(&n.offset.to_le_bytes());
        e[32..40].copy_from_slice(&n.size.to_le_bytes());
        e[48..56].copy_from_slice(&n.align.to_le_bytes());
        out.extend_from_slice(&e);
    }
    if let (Some((at, size)), Some((name, _))) = (index_at, &new_strtab) {
        let mut e = [0u8; 64];
        e[0..4].copy_from_slice(&name.to_le_bytes());
        e[4..8].copy_from_slice(&elf::SHT_PROGBITS.0.to_le_bytes());
        e[24..32].copy_from_slice(&at.to_le_bytes());
        e[32..40].copy_from_slice(&size.to_le_bytes());
        e[48..56].copy_from_slice(&4u64.to_le_bytes());
        out.extend_from_slice(&e);
        let count = u16::try_from(shnum + 1)
            .map_err(|_| Error::new("--gdb-index: too many sections for the header"))?;
        buf[60..62].copy_from_slice(&count.to_le_bytes());
    }
    buf[40..48].copy_from_slice(&new_shoff.to_le_bytes());
    Ok(Some((keep, out)))
}
