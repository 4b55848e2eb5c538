//! The dynamic-linking tables of the output: `.dynsym`, `.dynstr`, `.gnu.version(_r)`,
//! DT_NEEDED and the count of `.dynamic` tags, from the imports live code uses.

use object::elf;
use rustc_hash::FxHashMap as HashMap;

use rlink_linker::object::{SymPlace, Visibility};
use rlink_linker::resolve::{Def, Resolution, SymbolId};

use crate::gnu_hash::GnuHash;
use crate::layout::{add_string, DynExport, DynImport, Layout, NeededVersion, VersionNeed};

/// `.dynsym`, `.dynstr`, versions and DT_NEEDED, from the imports the link uses.
pub(crate) fn build_dynamic_tables(
    l: &mut Layout<'_, '_>,
    runpath: Option<String>,
    soname: Option<String>,
) {
    let res = l.res;
    let mut used_libraries: Vec<bool> = res.libraries.iter().map(|lib| lib.forced).collect();
    let mut imports: Vec<(SymbolId, u32)> = Vec::new();
    for (id, g) in res.globals.iter().enumerate() {
        if let Def::Dynamic { import } = g.def {
            if l.used_imports.contains(&(id as SymbolId)) {
                imports.push((id as SymbolId, import));
                if let Some(used) =
                    used_libraries.get_mut(res.imports[import as usize].library as usize)
                {
                    *used = true;
                }
            }
        }
    }
    for (i, lib) in res.libraries.iter().enumerate() {
        if used_libraries[i] {
            let off = add_string(&mut l.dynstr, lib.soname.as_bytes());
            l.needed.push(off);
        }
    }
    // Version needs per library, indices from 2 (0 and 1 are local and global).
    let mut next_index = 2u16;
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
        if l.copies.contains(&id) {
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
    l.soname = soname.map(|s| add_string(&mut l.dynstr, s.as_bytes()));
    // A shared library (or an executable under --export-dynamic) exports its global
    // definitions of default or protected visibility; `cgo_export_dynamic` names one, under
    // its remote name. They follow the imports in `.dynsym`, in the order the hash table wants.
    let mut exports = hashed;
    let export_all = l.shared || l.export_all;
    if export_all || !l.named_exports.is_empty() {
        for (id, g) in res.globals.iter().enumerate() {
            let named = l
                .named_exports
                .iter()
                .find(|(local, _)| local.as_slice() == g.name)
                .map(|(_, remote)| remote);
            if !export_all && named.is_none() {
                continue;
            }
            let listed = l
                .version_script
                .as_ref()
                .is_none_or(|v| v.exports(&String::from_utf8_lossy(g.name)));
            if named.is_none() && !listed {
                continue;
            }
            let Def::Object { obj, sym, .. } = g.def else {
                continue;
            };
            let s = &res.objects[obj as usize].symbols[sym as usize];
            let visible = matches!(s.visibility, Visibility::Default | Visibility::Protected);
            let placed = match s.place {
                SymPlace::Section(sec) => l.placements[obj as usize][sec as usize].is_some(),
                SymPlace::Absolute => true,
                _ => false,
            };
            if visible && placed {
                let name: &[u8] = match named {
                    Some(remote) => remote,
                    None => g.name,
                };
                exports.push((id as SymbolId, name, 1));
            }
        }
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
}

pub(crate) fn dynamic_tag_count(l: &Layout<'_, '_>) -> usize {
    // NEEDED…, SONAME?, RUNPATH?, GNU_HASH, STRTAB, SYMTAB, STRSZ, SYMENT, RELA, RELASZ,
    // RELAENT, RELACOUNT, VERSYM, VERNEED?, VERNEEDNUM?, PLTGOT/PLTRELSZ/PLTREL/JMPREL (with a
    // PLT), INIT/FINI(_ARRAY/SZ)?, DEBUG (executables only), FLAGS, FLAGS_1, NULL
    let mut n = l.needed.len()
        + l.soname.is_some() as usize
        + l.runpath.is_some() as usize
        + 13
        + !l.shared as usize;
    if !l.version_needs.is_empty() {
        n += 2;
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
