//! The `picklescope` binary: parses arguments, runs a subcommand, maps failures to exit codes.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::args::{Cli, Command, Emit, Shell};
use cli::{Failure, load_rules};
use picklescope::report::Report;

#[global_allocator]
static ALLOC: picklescope::alloc::HugeBlocks = picklescope::alloc::HugeBlocks;

fn main() -> ExitCode {
    picklescope::alloc::init();
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.printed {
                eprintln!("picklescope: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

/// Output into a pipe whose reader has gone (`picklescope report ... | head`) ends the process
/// quietly by SIGPIPE, as it does for other Unix tools, instead of a panic on the write.
fn quiet_on_closed_pipe() {
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Some(Command::Report {
            path,
            json,
            markdown,
            top,
            context,
            rules,
            fail_on,
            trust_module,
        }) => {
            let rules = load_rules(&rules)?;
            let source = cli::resolve_source(&path, context.as_deref())?;
            let single = source.files.len() == 1;
            let progress = cli::progress();
            let (mut r, first_error) = Report::stream(&source, top, rules.as_ref(), &progress);
            if !trust_module.is_empty() {
                r.judge_globals(&picklescope::model::globals::Trust::new(trust_module));
            }
            if single && let Some((e, invalid)) = &first_error {
                return Err(Failure::load(e.clone(), *invalid));
            }
            if json {
                println!("{}", picklescope::schema::to_json(&r));
            } else if markdown {
                print!("{}", r.to_markdown());
            } else {
                print!("{}", r.to_text(top.max(10)));
            }
            match first_error {
                Some((e, invalid)) => Err(Failure::load(e, invalid)),
                None => match fail_on {
                    Some(level) => cli::fail_on(&r, level),
                    None => Ok(()),
                },
            }
        }
        Some(Command::Slim {
            path,
            rules,
            dry_run,
            backup,
            touch,
            json,
            context,
        }) => cli::slim_cmd::run(
            &path,
            &rules,
            dry_run,
            backup,
            touch,
            json,
            context.as_deref(),
        ),
        Some(Command::Rules { rules, emit }) => {
            let r = load_rules(&rules)?
                .ok_or_else(|| Failure::usage("rules needs --rules FILE or --preset NAME"))?;
            match emit {
                Emit::Toml => print!("{}", r.to_toml()),
                Emit::Python => print!("{}", r.to_python()),
            }
            Ok(())
        }
        Some(Command::Suggest {
            path,
            top,
            emit,
            json,
            context,
        }) => cli::batch::run_suggest(&path, top, emit, json, context.as_deref()),
        Some(Command::Survey {
            roots,
            rules,
            json,
            shard,
            jobs,
            top,
            merge,
        }) => {
            if merge.is_empty() {
                cli::survey_cmd::run(&roots, &rules, json, shard.as_deref(), jobs, top)
            } else {
                cli::survey_cmd::merge(&merge, json, top)
            }
        }
        Some(Command::Diff { a, b, json }) => cli::batch::run_diff(&a, &b, json),
        Some(Command::Guards {
            sources,
            rules,
            pickle,
            json,
        }) => cli::guards_cmd::run(&sources, &rules, pickle.as_deref(), json),
        Some(Command::Demo {
            dir,
            no_open,
            scale,
            ms,
            layouts,
        }) => demo(dir, no_open, scale, ms, layouts),
        Some(Command::Completions { shell }) => {
            let sh = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(
                sh,
                &mut Cli::command(),
                "picklescope",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Some(Command::Schema { doc }) => {
            println!("{}", cli::schema_of(doc));
            Ok(())
        }
        Some(Command::Man) => cli::man::render(&mut std::io::stdout().lock())
            .map_err(|e| Failure::other(format!("stdout: {e}"))),
        None => match &cli.open.path {
            Some(path) => explore(path, &cli.open),
            None => {
                let _ = Cli::command().print_help();
                Ok(())
            }
        },
    }
}

/// Opens the interactive explorer on PATH (compare mode with AFTER or `--backups`).
fn explore(path: &std::path::Path, open: &cli::args::OpenArgs) -> Result<(), Failure> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(Failure::usage(format!(
            "the explorer needs a terminal on stdout; for a text summary run: picklescope report {}",
            path.display()
        )));
    }
    let rules = load_rules(&open.rules)?.unwrap_or_default();
    let source = picklescope::context::resolve(path, open.context.as_deref())
        .map_err(|e| Failure::other(e.to_string()))?;
    let opts = picklescope::tui::Options {
        read_only: open.read_only,
        no_mouse: open.no_mouse,
        sources: open.source.clone(),
        look: picklescope::tui::ascii::Env::current().look(open.ascii, open.color),
    };
    let copied = if open.after.is_some() || open.backups {
        let cmp = cli::compare::load(source, open)?;
        picklescope::tui::run_compare(cmp, opts)
    } else {
        picklescope::tui::run(source, rules, opts)
    }
    .map_err(|e| Failure::other(format!("terminal: {e}")))?;
    if open.print_on_exit {
        for t in copied {
            println!("{}", t.trim_end_matches('\n'));
        }
    }
    Ok(())
}

/// Writes the demo context and (on a terminal) opens it.
fn demo(
    dir: Option<std::path::PathBuf>,
    no_open: bool,
    scale: f64,
    ms: u32,
    layouts: picklescope::synth::Layouts,
) -> Result<(), Failure> {
    use std::io::IsTerminal;
    let dir = dir.unwrap_or_else(|| std::path::PathBuf::from("picklescope-demo"));
    let opts = picklescope::synth::DemoOptions {
        scale,
        ms,
        layouts,
        ..Default::default()
    };
    let summary = picklescope::synth::write_demo(&dir, &opts)
        .map_err(|e| Failure::other(format!("{}: {e}", dir.display())))?;
    let older_bytes: u64 = summary.older.iter().map(|f| f.bytes).sum();
    println!(
        "wrote a demo pipeline context: {} ({} files, {})",
        summary.context.display(),
        summary.files.len(),
        picklescope::fmt::size(summary.total_bytes - older_bytes)
    );
    if let Some(older) = summary.older.last() {
        println!(
            "and an older run beside it: {} ({} files, {}, a day older)",
            older.path.display(),
            summary.older.len(),
            picklescope::fmt::size(older_bytes)
        );
    }
    if no_open || !std::io::stdout().is_terminal() {
        println!("explore it with: picklescope {}", dir.display());
        return Ok(());
    }
    explore(&dir, &cli::args::OpenArgs::default())
}
