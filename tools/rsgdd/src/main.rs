//! rsgdd: a copy and benchmark tool for rsg's queue interface, after
//! FreeBSD's camdd(8). See `rsgdd --help` and Documentation/rsgdd.rst.

mod buf;
mod chan;
mod cli;
mod engine;
mod error;
mod file;
mod pattern;
mod plan;
mod probe;
mod rsgdev;
mod sense;
mod sg;
mod signals;
mod stats;
mod uring;

use rsg_uapi::rng;
use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Action::Help) => {
            print!("{}", cli::USAGE);
            0
        }
        Ok(cli::Action::Version) => {
            println!("rsgdd {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(cli::Action::Run(cfg)) => match engine::run(&cfg) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("rsgdd: {e}");
                e.exit_code()
            }
        },
        Err(e) => {
            eprintln!("rsgdd: {e}");
            if matches!(e, error::Error::Usage(_)) {
                eprintln!("usage: rsgdd -i INPUT -o OUTPUT [options]; see rsgdd --help");
            }
            e.exit_code()
        }
    };
    ExitCode::from(code as u8)
}
