//! Regenerates `datasets/basic-motions/` from the UEA `.ts` files:
//! `cargo run -p mote-project --example convert_basic_motions -- <source folder> <output folder>`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, out] = args.as_slice() else {
        eprintln!(
            "usage: convert_basic_motions <folder with BasicMotions_TRAIN.ts and _TEST.ts> <output folder>"
        );
        std::process::exit(2);
    };
    match mote_project::public_datasets::convert_basic_motions(source.as_ref(), out.as_ref()) {
        Ok(report) => {
            println!("wrote {} samples to {out}", report.samples);
            for (label, train, test) in report.per_label {
                println!("  {label}: {train} train, {test} test");
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
}
