//! The ad-hoc code signature every arm64 executable must carry (and x86_64 ones get too): a
//! big-endian SuperBlob holding one CodeDirectory — no certificate, no requirements — whose
//! hashes are SHA-256 over each 4 KiB page of the file before the signature. The kernel checks
//! the hash of each page it maps; `codesign` and `rcodesign` call this form "adhoc,
//! linker-signed", as ld64, lld and Go write it.

use sha2::{Digest, Sha256};

const CSMAGIC_EMBEDDED_SIGNATURE: u32 = 0xfade_0cc0;
const CSMAGIC_CODEDIRECTORY: u32 = 0xfade_0c02;
const CSSLOT_CODEDIRECTORY: u32 = 0;
/// The version with the executable-segment fields.
const CS_SUPPORTSEXECSEG: u32 = 0x20400;
const CS_ADHOC: u32 = 0x2;
const CS_LINKER_SIGNED: u32 = 0x2_0000;
const CS_HASHTYPE_SHA256: u8 = 2;
const CS_EXECSEG_MAIN_BINARY: u64 = 1;
pub const PAGE_LOG2: u8 = 12;
const PAGE: u64 = 1 << PAGE_LOG2;
/// SuperBlob header (12) + one BlobIndex (8).
const SUPERBLOB_SIZE: u64 = 20;
/// The CodeDirectory header up to `execSegFlags`.
const CODEDIRECTORY_SIZE: u64 = 88;

/// The signature's size for a file whose first `code_limit` bytes are signed.
pub fn size(code_limit: u64, identifier: &str) -> u64 {
    let slots = code_limit.div_ceil(PAGE);
    SUPERBLOB_SIZE + CODEDIRECTORY_SIZE + identifier.len() as u64 + 1 + 32 * slots
}

/// Writes the signature of `file[..code_limit]` into `out` (exactly [`size`] bytes).
/// `exec_seg` is `__TEXT`'s file range.
pub fn write(
    file: &[u8],
    code_limit: u64,
    identifier: &str,
    exec_seg: (u64, u64),
    main_binary: bool,
    out: &mut [u8],
) {
    let slots = code_limit.div_ceil(PAGE);
    let cd_len = CODEDIRECTORY_SIZE + identifier.len() as u64 + 1 + 32 * slots;
    let total = SUPERBLOB_SIZE + cd_len;
    let ident_offset = CODEDIRECTORY_SIZE;
    let hash_offset = ident_offset + identifier.len() as u64 + 1;
    let mut b: Vec<u8> = Vec::with_capacity(total as usize);
    let be32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_be_bytes());
    let be64 = |b: &mut Vec<u8>, v: u64| b.extend_from_slice(&v.to_be_bytes());
    be32(&mut b, CSMAGIC_EMBEDDED_SIGNATURE);
    be32(&mut b, total as u32);
    be32(&mut b, 1);
    be32(&mut b, CSSLOT_CODEDIRECTORY);
    be32(&mut b, SUPERBLOB_SIZE as u32);
    // CodeDirectory.
    be32(&mut b, CSMAGIC_CODEDIRECTORY);
    be32(&mut b, cd_len as u32);
    be32(&mut b, CS_SUPPORTSEXECSEG);
    be32(&mut b, CS_ADHOC | CS_LINKER_SIGNED);
    be32(&mut b, hash_offset as u32);
    be32(&mut b, ident_offset as u32);
    be32(&mut b, 0); // nSpecialSlots
    be32(&mut b, slots as u32);
    be32(&mut b, code_limit.min(u64::from(u32::MAX)) as u32);
    b.push(32); // hashSize
    b.push(CS_HASHTYPE_SHA256);
    b.push(0); // platform
    b.push(PAGE_LOG2);
    be32(&mut b, 0); // spare2
    be32(&mut b, 0); // scatterOffset
    be32(&mut b, 0); // teamOffset
    be32(&mut b, 0); // spare3
    be64(&mut b, 0); // codeLimit64
    be64(&mut b, exec_seg.0);
    be64(&mut b, exec_seg.1);
    be64(
        &mut b,
        if main_binary {
            CS_EXECSEG_MAIN_BINARY
        } else {
            0
        },
    );
    b.extend_from_slice(identifier.as_bytes());
    b.push(0);
    for page in file[..code_limit as usize].chunks(PAGE as usize) {
        b.extend_from_slice(&Sha256::digest(page));
    }
    out.copy_from_slice(&b);
}

/// A UUID from the output's contents (so the same inputs give the same UUID), in RFC 4122's
/// name-based form.
pub fn uuid(contents: &[u8]) -> [u8; 16] {
    let digest = Sha256::digest(contents);
    let mut u = [0u8; 16];
    u.copy_from_slice(&digest[..16]);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_hashes_every_page() {
        let file: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let n = size(10_000, "prog") as usize;
        let mut out = vec![0u8; n];
        write(&file, 10_000, "prog", (0, 4096), true, &mut out);
        assert_eq!(&out[..4], &CSMAGIC_EMBEDDED_SIGNATURE.to_be_bytes());
        // Three pages: the last hash is that of the last 1808 bytes.
        let last = &out[n - 32..];
        assert_eq!(last, &Sha256::digest(&file[8192..])[..]);
        assert_eq!(
            u32::from_be_bytes(out[4..8].try_into().unwrap()) as usize,
            n
        );
    }
}
