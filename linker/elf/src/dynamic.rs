//! The dynamic-linking tables of the output: `.dynsym`, `.dynstr`, `.gnu.version(_r)`,
//! DT_NEEDED and the count of `.dynamic` tags, from the imports live code uses.

use object::elf;
use rustc_hash::FxHashMap as HashMap;

use rlink_linker::object::{SymPlace, Visibility};
use rlink_linker::resolve::{Def, Resolution, SymbolId};

use crate::gnu_hash::GnuHash;
use crate::layout::{
    add_string, DynExport, DynImport, Layout, NeededVersion, VersionDef, VersionNeed,
};
use rlink_linker::version_script::Binding;
use rlink_linker::{bail, Result};

/// `.gnu.version` index of a name no version covers.
const VER_NDX_GLOBAL: u16 = 1;
/// `.gnu.version` bit of a version that is not the name's default (`foo@V`, not `foo@@V`).
const VERSYM_HIDDEN: u16 = 0x8000;

/// `.dynsym`, `.dynstr`, versions and DT_NEEDED, from the imports the link uses.
pub(crate) fn build_dynamic_tables(
    l: &mut Layout<'_, '_>,
    runpath: Option<String>,
    soname: Option<String>,
) -> Result<()> {
    let res = l.res;
    // A version script's named nodes are the output's version definitions: the base version
    // (the library's own name) is index 1, the nodes 2, 3, … in script order; versions needed
    // from libraries are numbered after them.
    let nodes: Vec<String> = l
        .version_script
        .as_ref()
        .map(|v| v.nodes.iter().map(|n| n.name.clone()).collect())
        .unwrap_or_default();
    // `--default-symver`: a version named after the library itself, after the script's.
    let default_version = (l.elf.default_symver && l.shared).then(|| 2 + nodes.len() as u16);
    if !nodes.is_empty() || default_version.is_some() {
        let base_name = soname.clone().unwrap_or_else(|| {
            std::path::Path::new(&l.output_name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let name_offset = add_string(&mut l.dynstr, base_name.as_bytes());
        l.version_defs.push(VersionDef {
            name_offset,
            hash: elf::hash(base_name.as_bytes()),
            index: 1,
            base: true,
            parents: Vec::new(),
        });
        let script = l.version_script.clone().unwrap_or_default();
        for (i, node) in script.nodes.iter().enumerate() {
            let name_offset = add_string(&mut l.dynstr, node.name.as_bytes());
            let parents = node
                .parents
                .iter()
                .map(|p| add_string(&mut l.dynstr, p.as_bytes()))
                .collect();
            l.version_defs.push(VersionDef {
                name_offset,
                hash: elf::hash(node.name.as_bytes()),
                index: 2 + i as u16,
                base: false,
                parents,
            });
        }
        if let Some(index) = default_version {
            l.version_defs.push(VersionDef {
                name_offset,
                hash: elf::hash(base_name.as_bytes()),
                index,
                base: false,
                parents: Vec::new(),
            });
        }
    }
    let mut used_libraries: Vec<bool> = res.libraries.iter().map(|lib| lib.forced).collect();
    let mut imports: Vec<(SymbolId, u32)> = Vec::new();
    // The used imports in the order of their globals: a walk of the few used, not of every
    // global (a debug link has 130 000).
    let mut used: Vec<SymbolId> = l.used_imports.iter().copied().collect();
    used.sort_unstable();
    for id in used {
        if let Def::Dynamic { import } = res.globals[id as usize].def {
            imports.push((id, import));
            if let Some(used) =
                used_libraries.get_mut(res.imports[import as usize].library as usize)
            {
                *used = true;
            }
        }
    }
    for (i, lib) in res.libraries.iter().enumerate() {
        if used_libraries[i] {
            let off = add_string(&mut l.dynstr, lib.soname.as_bytes());
            l.needed.push(off);
        }
    }
    // Version needs per library, indices after the definitions (0 and 1 are local and global).
    let mut next_index = 2 + nodes.len() as u16;
    let mut version_index: HashMap<(u32, Vec<u8>), u16> = HashMap::default();
    let mut needs: Vec<(u32, Vec<NeededVersion>)> = Vec::new();
    for &(_, import) in &imports {
        let imp = &res.imports[import as usize];
        if let Some(v) = &imp.version {
            let key = (imp.library, v.clone());
            if version_index.contains_key(&key) {
                continue;
            }
            version_index.insert(key, next_index);
            let name_off = add_string(&mut l.dynstr, v);
            let hash = elf::hash(v);
            match needs.iter_mut().find(|(lib, _)| *lib == imp.library) {
                Some((_, list)) => list.push((name_off, hash, next_index)),
                None => needs.push((imp.library, vec![(name_off, hash, next_index)])),
            }
            next_index += 1;
        }
    }
    for (lib, versions) in needs {
        let file_offset = add_string(&mut l.dynstr, res.libraries[lib as usize].soname.as_bytes());
        l.version_needs.push(VersionNeed {
            file_offset,
            versions,
        });
    }
    // Copied imports are defined by the executable (in .dynbss) and must be found by name in
    // its hash table, so the libraries' own references bind to the copy: they join the hashed
    // part of .dynsym, with their version.
    let mut hashed: Vec<(SymbolId, &[u8], u16)> = Vec::new();
    for &(id, import) in imports.iter() {
        let imp = &res.imports[import as usize];
        let version = match &imp.version {
            Some(v) => version_index[&(imp.library, v.clone())],
            None => 1,
        };
        // So are imported functions whose PLT entry is their address: the libraries'
        // references to them must find that address by name.
        if l.copies.contains(&id) || l.canonical_plt.contains(&id) {
            hashed.push((id, &imp.remote, version));
            continue;
        }
        let name_offset = add_string(&mut l.dynstr, &imp.remote);
        let g = &res.globals[id as usize];
        l.dyn_imports.push(DynImport {
            global: id,
            name_offset,
            version_index: version,
            kind: imp.kind,
            weak: !g.strong_ref,
        });
        l.dynsym_index.insert(id, l.dyn_imports.len() as u32);
    }
    l.runpath = runpath.map(|r| add_string(&mut l.dynstr, r.as_bytes()));
    // Several audit libraries are one colon-separated list, as GNU ld writes them.
    let audit = (!l.elf.audit.is_empty()).then(|| l.elf.audit.join(":"));
    let depaudit = (!l.elf.depaudit.is_empty()).then(|| l.elf.depaudit.join(":"));
    l.audit = audit.map(|a| add_string(&mut l.dynstr, a.as_bytes()));
    l.depaudit = depaudit.map(|a| add_string(&mut l.dynstr, a.as_bytes()));
    l.soname = soname.map(|s| add_string(&mut l.dynstr, s.as_bytes()));
    let filters: Vec<(bool, String)> = (l.elf.filters.iter().map(|f| (false, f.clone())))
        .chain(l.elf.auxiliaries.iter().map(|f| (true, f.clone())))
        .collect();
    for (auxiliary, name) in filters {
        let offset = add_string(&mut l.dynstr, name.as_bytes());
        l.filters.push((auxiliary, offset));
    }
    // A shared library (or an executable under --export-dynamic) exports its global
    // definitions of default or protected visibility; `cgo_export_dynamic` names one, under
    // its remote name. They follow the imports in `.dynsym`, in the order the hash table wants.
    let mut exports = hashed;
    let export_all = l.shared || l.export_all;
    let export_list = l.elf.export_list.clone();
    let library_globals = !res.library_globals.is_empty();
    let data_listed = l.elf.dynamic_list_data;
    if export_all
        || !l.named_exports.is_empty()
        || export_list.is_some()
        || library_globals
        || data_listed
    {
        // Unless every definition may be exported, only the names given and those the
        // libraries name can be: looking those up beats testing every global.
        let every = export_all || export_list.is_some() || data_listed;
        let candidates: Vec<usize> = if every {
            (0..res.globals.len()).collect()
        } else {
            // The libraries' names were looked up once, after resolution.
            let mut ids: Vec<usize> = l
                .named_exports
                .iter()
                .filter_map(|(local, _)| res.global_id(local).map(|id| id as usize))
                .chain(res.library_globals.iter().map(|&id| id as usize))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        for id in candidates {
            let g = &res.globals[id];
            let named = l
                .named_exports
                .iter()
                .find(|(local, _)| local.as_slice() == g.name)
                .map(|(_, remote)| remote);
            // An executable exports what `--dynamic-list` and `--export-dynamic-symbol`
            // name besides `cgo_export_dynamic` names.
            let dynamic_listed = || {
                export_list
                    .as_ref()
                    .is_some_and(|v| v.lists(&String::from_utf8_lossy(g.name)))
            };
            let Def::Object { obj, sym, .. } = g.def else {
                continue;
            };
            let s = &res.objects[obj as usize].symbols[sym as usize];
            if s.is_local() {
                continue;
            }
            // `--dynamic-list-data` lists every data definition.
            let data = data_listed && s.kind == rlink_linker::object::SymbolKind::Data;
            if !export_all
                && named.is_none()
                && !data
                && !dynamic_listed()
                && res
                    .library_globals
                    .binary_search(&(id as SymbolId))
                    .is_err()
            {
                continue;
            }
            if named.is_none() && excluded(&l.elf.exclude_libs, &res.objects[obj as usize].place) {
                continue;
            }
            // A definition named `foo@V` or `foo@@V` (`.symver`) is exported as `foo` of
            // version V, once: the plain `foo` a default version also defines is its alias.
            let versioned = s.name.iter().position(|&b| b == b'@');
            if versioned.is_some() && g.name != s.name {
                continue;
            }
            let (base, version) = match versioned {
                Some(at) => {
                    let rest = &s.name[at + 1..];
                    let (hidden, v) = match rest.strip_prefix(b"@") {
                        Some(v) => (false, v),
                        None => (true, rest),
                    };
                    (&s.name[..at], Some((hidden, v)))
                }
                None => (g.name, None),
            };
            let base_text = String::from_utf8_lossy(base);
            let binding = l.version_script.as_ref().and_then(|v| {
                let demangled = v
                    .has_cpp()
                    .then(|| rlink_linker::diag::demangle_cpp(&base_text))
                    .flatten();
                v.binding(&base_text, demangled.as_deref())
            });
            let listed = binding != Some(Binding::Local) || version.is_some();
            if named.is_none() && !listed {
                continue;
            }
            let version_index = match version {
                // `foo@` and `foo@@`: the base version.
                Some((_, b"")) => VER_NDX_GLOBAL,
                Some((hidden, v)) => {
                    let v = String::from_utf8_lossy(v);
                    let Some(n) = nodes.iter().position(|n| *n == v) else {
                        bail!(
                            "{}: symbol {} has undefined version {v}",
                            res.objects[obj as usize].place,
                            String::from_utf8_lossy(s.name)
                        );
                    };
                    (2 + n as u16) | if hidden { VERSYM_HIDDEN } else { 0 }
                }
                None => match binding {
                    Some(Binding::Global(Some(n))) => 2 + n as u16,
                    _ => default_version.unwrap_or(VER_NDX_GLOBAL),
                },
            };
            let visible = matches!(s.visibility, Visibility::Default | Visibility::Protected);
            let placed = match s.place {
                SymPlace::Section(sec) => l.placements[obj as usize][sec as usize].is_some(),
                SymPlace::Absolute => true,
                _ => false,
            };
            if visible && placed {
                let name: &[u8] = match named {
                    Some(remote) => remote,
                    None => base,
                };
                exports.push((id as SymbolId, name, version_index));
            }
        }
    }
    // A plain definition the script gives a version a `.symver` definition of the same
    // name already has is that definition's: it is not exported twice.
    let explicit: std::collections::HashSet<(&[u8], u16)> = exports
        .iter()
        .filter(|(id, _, _)| res.globals[*id as usize].name.contains(&b'@'))
        .map(|&(_, name, v)| (name, v & !VERSYM_HIDDEN))
        .collect();
    if !explicit.is_empty() {
        exports.retain(|&(id, name, v)| {
            res.globals[id as usize].name.contains(&b'@') || !explicit.contains(&(name, v))
        });
    }
    let first_export = (l.dyn_imports.len() + 1) as u32;
    let names: Vec<&[u8]> = exports.iter().map(|(_, n, _)| *n).collect();
    l.gnu_hash = GnuHash::new(&names, first_export);
    for (k, &i) in l.gnu_hash.order().to_vec().iter().enumerate() {
        let (id, name, version_index) = exports[i];
        let name_offset = add_string(&mut l.dynstr, name);
        l.dyn_exports.push(DynExport {
            global: id,
            name_offset,
            version_index,
        });
        l.dynsym_index.insert(id, first_export + k as u32);
    }
    Ok(())
}

pub(crate) fn dynamic_tag_count(l: &Layout<'_, '_>) -> usize {
    // NEEDED…, SONAME?, RUNPATH?, GNU_HASH, STRTAB, SYMTAB, STRSZ, SYMENT, RELA, RELASZ,
    // RELAENT, RELACOUNT, VERSYM?, VERNEED?, VERNEEDNUM?, PLTGOT/PLTRELSZ/PLTREL/JMPREL (with a
    // PLT), INIT/FINI(_ARRAY/SZ)?, DEBUG (executables only), FLAGS, FLAGS_1, NULL
    let mut n = l.needed.len()
        + l.soname.is_some() as usize
        + l.runpath.is_some() as usize
        + l.audit.is_some() as usize
        + l.depaudit.is_some() as usize
        + l.filters.len()
        + l.text_relocations as usize
        + 11
        + l.elf.gnu_hash as usize
        + l.elf.sysv_hash as usize
        + (!l.shared && !l.elf.rodynamic) as usize;
    if !l.version_needs.is_empty() {
        n += 2;
    }
    if !l.version_defs.is_empty() {
        n += 2;
    }
    // DT_VERSYM, with either.
    if !l.version_needs.is_empty() || !l.version_defs.is_empty() {
        n += 1;
    }
    if !l.plt.is_empty() {
        n += 4 + l.plt_tags.len();
    }
    for name in [".init_array", ".fini_array", ".preinit_array"] {
        if l.sections.iter().any(|s| s.name == name) {
            n += 2;
        }
    }
    n + [&l.elf.init, &l.elf.fini]
        .iter()
        .filter(|name| defines(l.res, name.as_bytes()))
        .count()
}

/// Whether an object in the link defines `name` (crti.o's `_init`, `_fini`: DT_INIT/DT_FINI).
pub fn defines(res: &Resolution<'_>, name: &[u8]) -> bool {
    matches!(res.global(name).map(|g| g.def), Some(Def::Object { .. }))
}

/// `--exclude-libs`: whether an object is a member of an archive whose definitions are not
/// exported (named by file name, or all archives for `ALL`).
fn excluded(libs: &[String], place: &str) -> bool {
    if libs.is_empty() {
        return false;
    }
    let Some(archive) = place
        .strip_suffix(')')
        .and_then(|p| p.rsplit_once('('))
        .map(|p| p.0)
    else {
        return false;
    };
    let file = std::path::Path::new(archive)
        .file_name()
        .map(|f| f.to_string_lossy())
        .unwrap_or_default();
    libs.iter().any(|l| l == "ALL" || *l == file)
}
