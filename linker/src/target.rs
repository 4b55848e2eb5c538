//! What the link produces: CPU, operating system, object format and environment, and the
//! defaults that follow from them (entry symbol, program interpreter, page size, where
//! libraries are searched).
//!
//! A target comes from `-target=TRIPLE`, GNU ld's `-m EMULATION`, a driver's `--target=` or
//! `-arch`, or — when nothing says — from the first object on the command line, as GNU ld
//! and lld take it from the first input.

use crate::bail;
use crate::diag::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cpu {
    X86_64,
    Aarch64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectFormat {
    Elf,
    MachO,
    Coff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Env {
    Gnu,
    Msvc,
    /// Apple targets name no environment.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub cpu: Cpu,
    pub os: Os,
    pub format: ObjectFormat,
    pub env: Env,
}

impl Cpu {
    pub fn name(self) -> &'static str {
        match self {
            Cpu::X86_64 => "x86_64",
            Cpu::Aarch64 => "aarch64",
        }
    }

    /// Debian's multiarch name for Linux libraries of this CPU.
    pub fn multiarch(self) -> &'static str {
        match self {
            Cpu::X86_64 => "x86_64-linux-gnu",
            Cpu::Aarch64 => "aarch64-linux-gnu",
        }
    }
}

impl Target {
    pub const X86_64_LINUX: Target = Target {
        cpu: Cpu::X86_64,
        os: Os::Linux,
        format: ObjectFormat::Elf,
        env: Env::Gnu,
    };

    /// The machine rlink runs on, when it is one rlink links for.
    pub fn host() -> Option<Target> {
        let cpu = match std::env::consts::ARCH {
            "x86_64" => Cpu::X86_64,
            "aarch64" => Cpu::Aarch64,
            _ => return None,
        };
        (std::env::consts::OS == "linux").then_some(Target::linux(cpu))
    }

    pub fn linux(cpu: Cpu) -> Target {
        Target {
            cpu,
            os: Os::Linux,
            format: ObjectFormat::Elf,
            env: Env::Gnu,
        }
    }

    /// A target triple as rustc, clang and GNU tools write them: `x86_64-unknown-linux-gnu`,
    /// `aarch64-linux-gnu`, `arm64-apple-macos11`, `x86_64-pc-windows-msvc`.
    pub fn from_triple(triple: &str) -> Result<Target> {
        let lower = triple.to_ascii_lowercase();
        let mut parts = lower.split('-');
        let arch = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        let cpu = match arch {
            "x86_64" | "amd64" | "x86-64" => Cpu::X86_64,
            "aarch64" | "arm64" => Cpu::Aarch64,
            _ => bail!("-target={triple}: unknown CPU {arch:?} (rlink links x86_64 and aarch64)"),
        };
        let has = |word: &str| rest.iter().any(|p| p.starts_with(word));
        let target = if has("darwin") || has("macos") || has("apple") {
            Target {
                cpu,
                os: Os::MacOs,
                format: ObjectFormat::MachO,
                env: Env::None,
            }
        } else if has("windows") || has("mingw") || has("win32") {
            let env = if has("gnu") || has("mingw") {
                Env::Gnu
            } else {
                Env::Msvc
            };
            Target {
                cpu,
                os: Os::Windows,
                format: ObjectFormat::Coff,
                env,
            }
        } else if has("linux") || has("elf") || rest.is_empty() {
            Target::linux(cpu)
        } else {
            bail!(
                "-target={triple}: unknown operating system (want a triple such as \
                 x86_64-unknown-linux-gnu, aarch64-apple-darwin or x86_64-pc-windows-msvc)"
            )
        };
        Ok(target)
    }

    /// A glibc floor written after a Linux triple, as zig writes it
    /// (`aarch64-unknown-linux-gnu.2.17`): `None` when the triple has none.
    pub fn glibc_floor_of(triple: &str) -> Result<Option<(u32, u32)>> {
        let last = triple.rsplit('-').next().unwrap_or("");
        match last.split_once('.') {
            Some((env, version)) if env.starts_with("gnu") => {
                parse_glibc_version(version).map(Some).ok_or_else(|| {
                    Error::new(format!("-target={triple}: bad glibc version {version}"))
                })
            }
            _ => Ok(None),
        }
    }

    /// GNU ld's `-m` emulation names.
    pub fn from_emulation(emulation: &str) -> Result<Target> {
        Ok(match emulation {
            "elf_x86_64" => Target::linux(Cpu::X86_64),
            "aarch64linux" | "aarch64elf" | "aarch64linuxb" => Target::linux(Cpu::Aarch64),
            "i386pep" => Target {
                cpu: Cpu::X86_64,
                os: Os::Windows,
                format: ObjectFormat::Coff,
                env: Env::Gnu,
            },
            "arm64pe" => Target {
                cpu: Cpu::Aarch64,
                os: Os::Windows,
                format: ObjectFormat::Coff,
                env: Env::Gnu,
            },
            _ => bail!(
                "-m {emulation}: unknown emulation (rlink reads elf_x86_64, aarch64linux, \
                 aarch64elf, i386pep)"
            ),
        })
    }

    /// A driver's `-arch NAME` (Apple's compilers and ld64).
    pub fn from_apple_arch(arch: &str) -> Result<Target> {
        let cpu = match arch {
            "x86_64" | "x86_64h" => Cpu::X86_64,
            "arm64" | "arm64e" | "aarch64" => Cpu::Aarch64,
            _ => bail!("-arch {arch}: rlink links x86_64 and arm64"),
        };
        Ok(Target {
            cpu,
            os: Os::MacOs,
            format: ObjectFormat::MachO,
            env: Env::None,
        })
    }

    /// The triple rustc names this target by.
    pub fn triple(&self) -> String {
        let cpu = self.cpu.name();
        match (self.os, self.env) {
            (Os::Linux, _) => format!("{cpu}-unknown-linux-gnu"),
            (Os::MacOs, _) => format!("{cpu}-apple-darwin"),
            (Os::Windows, Env::Gnu) => format!("{cpu}-pc-windows-gnu"),
            (Os::Windows, _) => format!("{cpu}-pc-windows-msvc"),
        }
    }

    pub fn is_host(&self) -> bool {
        Target::host() == Some(*self)
    }

    /// The symbol execution starts at when nothing names one (`-e`).
    pub fn default_entry(&self) -> &'static str {
        match self.format {
            ObjectFormat::Elf => "_start",
            ObjectFormat::MachO => "_main",
            ObjectFormat::Coff => "mainCRTStartup",
        }
    }

    /// A shared library's entry: a DLL's is the C runtime's `_DllMainCRTStartup` (the
    /// runtime stubs provide one); ELF and Mach-O libraries have none, and the name stays
    /// the executable's, unused.
    pub fn default_shared_entry(&self) -> &'static str {
        match self.format {
            ObjectFormat::Coff => "_DllMainCRTStartup",
            _ => self.default_entry(),
        }
    }

    /// The dynamic loader a dynamically linked executable names (`PT_INTERP`,
    /// `LC_LOAD_DYLINKER`); Windows has none.
    pub fn default_interpreter(&self) -> Option<&'static str> {
        match (self.os, self.cpu) {
            (Os::Linux, Cpu::X86_64) => Some("/lib64/ld-linux-x86-64.so.2"),
            (Os::Linux, Cpu::Aarch64) => Some("/lib/ld-linux-aarch64.so.1"),
            (Os::MacOs, _) => Some("/usr/lib/dyld"),
            (Os::Windows, _) => None,
        }
    }

    /// The page size segments are aligned to: 16 KiB for arm64 macOS, 4 KiB elsewhere (the
    /// loaders of AArch64 Linux accept 4 KiB alignment on 4 KiB-page kernels, as GNU ld's
    /// default).
    pub fn page_size(&self) -> u64 {
        match (self.os, self.cpu) {
            (Os::MacOs, Cpu::Aarch64) => 0x4000,
            _ => 0x1000,
        }
    }

    /// Directories searched for `-lNAME` after the `-L` ones. The host's own directories only
    /// when the target is the host (an x86-64 `libc.so.6` is no use to an aarch64 link); a
    /// cross target's are where Debian's cross packages put them. `sysroot` (`--sysroot`,
    /// `-syslibroot`) holds them all.
    pub fn system_library_dirs(
        &self,
        sysroot: Option<&std::path::Path>,
    ) -> Vec<std::path::PathBuf> {
        use std::path::PathBuf;
        let multiarch = self.cpu.multiarch();
        let dirs: Vec<String> = match (self.os, sysroot) {
            (Os::Linux, Some(_)) => vec![
                format!("/lib/{multiarch}"),
                format!("/usr/lib/{multiarch}"),
                "/lib64".into(),
                "/usr/lib64".into(),
                "/lib".into(),
                "/usr/lib".into(),
            ],
            (Os::Linux, None) if self.is_host() => vec![
                format!("/lib/{multiarch}"),
                format!("/usr/lib/{multiarch}"),
                "/lib64".into(),
                "/usr/lib64".into(),
                "/lib".into(),
                "/usr/lib".into(),
                "/usr/local/lib".into(),
            ],
            (Os::Linux, None) => vec![
                format!("/usr/{multiarch}/lib"),
                format!("/usr/lib/{multiarch}"),
                format!("/lib/{multiarch}"),
            ],
            (Os::MacOs, Some(_)) => vec!["/usr/lib".into()],
            _ => Vec::new(),
        };
        dirs.into_iter()
            .map(|d| match sysroot {
                Some(root) => root.join(d.trim_start_matches('/')),
                None => PathBuf::from(d),
            })
            .collect()
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.triple())
    }
}

/// `2.17`: a glibc release, as `--glibc=` and a triple's suffix give it.
pub fn parse_glibc_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    let major = major.parse().ok()?;
    let minor = minor.parse().ok()?;
    (major == 2 && minor <= 99).then_some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_of_every_spelling() {
        for (triple, want) in [
            ("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"),
            ("x86_64-linux-gnu", "x86_64-unknown-linux-gnu"),
            ("aarch64-linux-gnu", "aarch64-unknown-linux-gnu"),
            ("aarch64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"),
            ("arm64-apple-macos11", "aarch64-apple-darwin"),
            ("x86_64-apple-darwin", "x86_64-apple-darwin"),
            ("x86_64-apple-macos10.12", "x86_64-apple-darwin"),
            ("x86_64-pc-windows-msvc", "x86_64-pc-windows-msvc"),
            ("x86_64-w64-mingw32", "x86_64-pc-windows-gnu"),
            ("x86_64-pc-windows-gnu", "x86_64-pc-windows-gnu"),
        ] {
            assert_eq!(
                Target::from_triple(triple).unwrap().triple(),
                want,
                "{triple}"
            );
        }
        assert!(Target::from_triple("riscv64gc-unknown-linux-gnu").is_err());
        assert!(Target::from_triple("x86_64-unknown-freebsd").is_err());
    }

    #[test]
    fn defaults_follow_the_target() {
        let a64 = Target::from_triple("aarch64-unknown-linux-gnu").unwrap();
        assert_eq!(
            a64.default_interpreter(),
            Some("/lib/ld-linux-aarch64.so.1")
        );
        assert_eq!(a64, Target::from_emulation("aarch64linux").unwrap());
        let mac = Target::from_apple_arch("arm64").unwrap();
        assert_eq!(mac.page_size(), 0x4000);
        assert_eq!(mac.default_entry(), "_main");
        assert_eq!(Target::X86_64_LINUX.default_entry(), "_start");
        // A cross target never searches the host's x86-64 directories.
        let dirs = a64.system_library_dirs(None);
        assert!(
            dirs.iter().all(|d| !d.to_string_lossy().contains("x86_64")),
            "{dirs:?}"
        );
        assert!(dirs.contains(&std::path::PathBuf::from("/usr/aarch64-linux-gnu/lib")));
        let rooted = a64.system_library_dirs(Some(std::path::Path::new("/sys/root")));
        assert!(
            rooted.iter().all(|d| d.starts_with("/sys/root")),
            "{rooted:?}"
        );
    }
}
