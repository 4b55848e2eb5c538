//! `cargo run -p rlink-dynimport --example dynimport -- [-format=go|rlink] [-dynlinker]
//! [-dynpackage NAME] [-lib [-soname NAME]] FILE`: print directives for FILE, as
//! `rlink dynimport` does.

use rlink_dynimport::{dynimport, library_exports, Options, OutputFormat};

fn main() {
    let mut opts = Options::default();
    let mut lib = false;
    let mut soname = None;
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-format=go" => opts.format = OutputFormat::Go,
            "-format=rlink" => opts.format = OutputFormat::Rlink,
            "-dynlinker" => opts.dynlinker = true,
            "-dynpackage" => opts.package = args.next().unwrap_or_default(),
            "-lib" => lib = true,
            "-soname" => soname = args.next(),
            _ => file = Some(arg),
        }
    }
    let Some(file) = file else {
        eprintln!("usage: dynimport [-format=go|rlink] [-dynlinker] [-dynpackage NAME] [-lib [-soname NAME]] FILE");
        std::process::exit(2);
    };
    let data = match std::fs::read(&file) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("{file}: {err}");
            std::process::exit(1);
        }
    };
    let result = if lib {
        library_exports(&data, soname.as_deref(), &opts)
    } else {
        dynimport(&data, &opts)
    };
    match result {
        Ok(text) => print!("{text}"),
        Err(err) => {
            eprintln!("{file}: {err}");
            std::process::exit(1);
        }
    }
}
