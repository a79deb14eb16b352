//! `picklescope man`: the manual page, rendered from the clap definitions (clap_mangen).

use std::io::Write;

use clap::CommandFactory;

use super::args::{Cli, EXIT_CODES, TOP_EXAMPLES};

/// Renders picklescope(1): the top-level page, one section per subcommand (its synopsis,
/// options and examples), and the exit status.
pub fn render(w: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let top =
        clap_mangen::Man::new(cmd.clone().after_help(TOP_EXAMPLES)).manual("picklescope manual");
    let mut out = Vec::new();
    top.render_title(&mut out)?;
    top.render_name_section(&mut out)?;
    top.render_synopsis_section(&mut out)?;
    top.render_description_section(&mut out)?;
    top.render_options_section(&mut out)?;
    top.render_subcommands_section(&mut out)?;
    let mut examples = Vec::new();
    top.render_extra_section(&mut examples)?;
    out.extend(
        String::from_utf8_lossy(&examples)
            .replacen(".SH EXTRA", ".SH EXAMPLES", 1)
            .bytes(),
    );
    for sub in cmd.get_subcommands() {
        let name = format!("picklescope {}", sub.get_name());
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let page = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        let mut part = Vec::new();
        page.render_synopsis_section(&mut part)?;
        page.render_description_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            page.render_options_section(&mut part)?;
        }
        if sub.get_after_help().is_some() {
            page.render_extra_section(&mut part)?;
        }
        // Inside a command's section its parts are subsections.
        let part = String::from_utf8_lossy(&part).replace("\n.SH EXTRA", "\n.SH NOTES");
        for line in part.lines() {
            match line.strip_prefix(".SH ") {
                Some(title) => writeln!(out, ".SS {}", title.trim_matches('"'))?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    writeln!(out, "{}", EXIT_CODES.replace('-', "\\-"))?;
    top.render_version_section(&mut out)?;
    // Each rendered part starts with the same two-line quote-string preamble: keep the first.
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    let mut page = String::with_capacity(text.len());
    for line in lines.by_ref().take(2) {
        page.push_str(line);
        page.push('\n');
    }
    for line in
        lines.filter(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq"))
    {
        page.push_str(line);
        page.push('\n');
    }
    w.write_all(page.as_bytes())
}
