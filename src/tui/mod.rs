//! The interactive explorer: terminal setup and restore, background scan, event loop.

pub mod app;
pub mod ascii;
pub mod clipboard;
pub mod compare;
pub mod guards;
pub mod keys;
pub mod mouse;
pub mod signals;
pub mod state;
pub mod view;
pub mod watch;

use std::io::{Stdout, Write};
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::context::Source;
use crate::context::load::EVERY_CORE;
use crate::model::{LoadError, Model};
use crate::pickle::progress;
use crate::slim::Rules;

pub use app::App;

/// A file of the explorer read: its index and the result.
pub type Read = (usize, Result<Model, LoadError>);

/// Reads the files `which` of `app` in the background; each result arrives on `tx`.
pub fn spawn_load(app: &App, which: &[usize], tx: mpsc::Sender<Read>) {
    let files: Vec<_> = which
        .iter()
        .filter_map(|&i| {
            app.files
                .get(i)
                .map(|f| (i, (f.file.clone(), f.progress.clone())))
        })
        .collect();
    std::thread::spawn(move || {
        let (index, files): (Vec<usize>, Vec<_>) = files.into_iter().unzip();
        let (files, progress): (Vec<_>, Vec<_>) = files.into_iter().unzip();
        let txs = std::sync::Mutex::new(tx);
        crate::context::load::par_each(&files, EVERY_CORE, |k| {
            let r = progress::reporting(&progress[k], || files[k].open_explore());
            if let Ok(m) = &r {
                // The class.attr groups here, not in the event loop that receives the model.
                let _ = m.groups();
            }
            if let (Ok(t), Some(&i)) = (txs.lock(), index.get(k)) {
                let _ = t.send((i, r));
            }
        });
    });
}

fn restore() {
    let _ = disable_raw_mode();
    // Harmless when capture was never enabled (`--no-mouse`).
    let _ = execute!(
        std::io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// How the explorer runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Never write: the write key is disabled.
    pub read_only: bool,
    /// Leave the mouse to the terminal (its own text selection) instead of capturing it.
    pub no_mouse: bool,
    /// Python source trees `g` searches for reads of a marked attribute.
    pub sources: Vec<std::path::PathBuf>,
    /// ASCII only, colours.
    pub look: ascii::Look,
}

/// Runs the explorer on a resolved source until the user quits; returns the texts copied
/// (`y`, `Y`) in order, for `--print-on-exit`.
pub fn run(source: Source, rules: Rules, opts: Options) -> std::io::Result<Vec<String>> {
    let mut app = App::new(source, rules, opts.read_only);
    app.guard_sources = opts.sources.clone();
    app.ascii = opts.look.ascii;
    let (tx, rx) = mpsc::channel();
    let all: Vec<usize> = (0..app.files.len()).collect();
    spawn_load(&app, &all, tx.clone());
    let reads = Reads { tx, rx };
    let watcher = watch::Watcher::spawn(
        app.files.iter().map(|f| f.file.path.clone()).collect(),
        watch::EVERY,
    );
    let theme = view::Theme {
        color: opts.look.color,
    };
    with_terminal(opts, |t, c| {
        event_loop(t, c, &mut app, &reads, &watcher, theme)
    })?;
    Ok(app.copied)
}

/// Runs the compare explorer over two loaded sources; returns the texts copied.
pub fn run_compare(cmp: compare::Compare, opts: Options) -> std::io::Result<Vec<String>> {
    let mut cmp = cmp;
    let look = opts.look;
    with_terminal(opts, |t, c| compare_loop(t, c, &mut cmp, look))?;
    Ok(cmp.copied)
}

/// Puts the terminal in raw mode on the alternate screen (mouse captured unless `--no-mouse`),
/// runs `body`, and restores the terminal however `body` ends: a panic, or a signal (see
/// [`Control::between_steps`]).
fn with_terminal(
    opts: Options,
    body: impl FnOnce(&mut Terminal<CrosstermBackend<Stdout>>, &mut Control) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // Before the terminal is taken: from here on no signal leaves it in raw mode.
    let mut control = Control {
        watch: signals::Watch::install()?,
        no_mouse: opts.no_mouse,
        busy: std::sync::Arc::new(std::sync::Mutex::new(())),
    };
    signals::spawn_ender(control.busy.clone(), restore)?;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
    }));
    take_terminal(opts.no_mouse)?;
    let backend = CrosstermBackend::new(std::io::stdout());
    let res = match Terminal::new(backend) {
        Ok(mut t) => body(&mut t, &mut control),
        Err(e) => Err(e),
    };
    restore();
    res
}

/// Raw mode, alternate screen, mouse capture (unless `no_mouse`).
fn take_terminal(no_mouse: bool) -> std::io::Result<()> {
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen)?;
    if !no_mouse {
        execute!(std::io::stdout(), EnableMouseCapture)?;
    }
    Ok(())
}

/// What the loops need to act on signals and Ctrl-Z.
struct Control {
    watch: signals::Watch,
    no_mouse: bool,
    /// Held by the loop for each step, released while it waits for input: an ending signal
    /// ends the process only between steps (see [`signals::spawn_ender`]).
    busy: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Control {
    /// Acts on the signals that arrived (and on Ctrl-Z when `suspend`), between two steps of
    /// a loop, so a write in progress has finished: an ending signal restores the terminal and
    /// exits with 128 + its number; a stop gives the terminal back, stops, and takes it again
    /// when continued. True when the screen must be drawn whole.
    fn between_steps(
        &mut self,
        term: &mut Terminal<CrosstermBackend<Stdout>>,
        suspend: bool,
    ) -> std::io::Result<bool> {
        // A Ctrl-Z outranks a redraw still pending (the SIGCONT that ended the last stop).
        let wanted = match (self.watch.pending(), suspend) {
            (Some(signals::Wanted::Exit(code)), _) => {
                restore();
                std::process::exit(code);
            }
            (_, true) => Some(signals::Wanted::Suspend),
            (w, false) => w,
        };
        match wanted {
            Some(signals::Wanted::Suspend) => {
                restore();
                signals::stop_self();
                take_terminal(self.no_mouse)?;
            }
            Some(_) => {}
            None => return Ok(false),
        }
        term.clear()?;
        Ok(true)
    }
}

/// Waits up to 50 ms for an input event with the step lock `step` released, so an ending
/// signal can end the process meanwhile; takes the lock again before returning.
fn wait_input<'a>(
    busy: &'a std::sync::Mutex<()>,
    step: std::sync::MutexGuard<'a, ()>,
) -> (
    std::io::Result<Option<Event>>,
    std::sync::MutexGuard<'a, ()>,
) {
    drop(step);
    let ev = match event::poll(Duration::from_millis(50)) {
        Ok(true) => event::read().map(Some),
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    };
    (ev, lock(busy))
}

/// The step lock (a panic while holding it changes nothing about what it guards).
fn lock(busy: &std::sync::Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    busy.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends copied texts to the terminal as OSC 52.
fn flush_outbox(outbox: &mut Vec<String>) -> std::io::Result<()> {
    if outbox.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout();
    for t in outbox.drain(..) {
        // A terminal without OSC 52 ignores the sequence; --print-on-exit covers it.
        clipboard::write_osc52(&mut out, &t)?;
    }
    out.flush()
}

fn compare_loop(
    term: &mut Terminal<CrosstermBackend<Stdout>>,
    control: &mut Control,
    cmp: &mut compare::Compare,
    look: ascii::Look,
) -> std::io::Result<()> {
    let theme = view::Theme { color: look.color };
    let mut dirty = true;
    let busy = control.busy.clone();
    let mut step = lock(&busy);
    while !cmp.quit {
        dirty |= control.between_steps(term, false)?;
        flush_outbox(&mut cmp.outbox)?;
        if dirty {
            term.draw(|f| {
                cmp.page = f.area().height.saturating_sub(6) as usize;
                compare::draw(f, cmp, theme);
                if look.ascii {
                    ascii::transliterate(f.buffer_mut());
                }
            })?;
            dirty = false;
        }
        let (ev, held) = wait_input(&busy, step);
        step = held;
        if let Some(ev) = ev? {
            match ev {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    cmp.on_key(k);
                    dirty = true;
                }
                Event::Mouse(m) if m.kind != event::MouseEventKind::Moved => {
                    cmp.on_mouse(m);
                    dirty = true;
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Test builds (feature `fault-injection`): `PICKLESCOPE_PANIC_ON_KEY=C` makes the key `C`
/// panic in the event loop, to show that a panic gives the terminal back. Release builds have
/// no such hook.
#[cfg(feature = "fault-injection")]
#[allow(clippy::panic)]
fn injected_panic(k: &event::KeyEvent) {
    if let (Ok(want), event::KeyCode::Char(c)) = (std::env::var("PICKLESCOPE_PANIC_ON_KEY"), k.code)
        && want.chars().eq([c])
    {
        panic!("injected panic on key {c} (PICKLESCOPE_PANIC_ON_KEY)");
    }
}

/// Both ends of the channel file reads arrive on (reloads send on it too).
struct Reads {
    tx: mpsc::Sender<Read>,
    rx: mpsc::Receiver<Read>,
}

fn event_loop(
    term: &mut Terminal<CrosstermBackend<Stdout>>,
    control: &mut Control,
    app: &mut App,
    reads: &Reads,
    watcher: &watch::Watcher,
    theme: view::Theme,
) -> std::io::Result<()> {
    let mut dirty = true;
    let busy = control.busy.clone();
    let mut step = lock(&busy);
    let mut shown_percent = None;
    while !app.quit {
        dirty |= control.between_steps(term, std::mem::take(&mut app.suspend))?;
        let percent = app.scan_percent();
        if percent != shown_percent {
            shown_percent = percent;
            dirty = true;
        }
        while let Ok((i, r)) = reads.rx.try_recv() {
            app.file_loaded(i, r);
            dirty = true;
        }
        if let Some(look) = watcher.latest() {
            dirty |= app.on_disk(&look);
        }
        dirty |= app.poll_opening();
        if !app.reloads.is_empty() {
            let which = std::mem::take(&mut app.reloads);
            spawn_load(app, &which, reads.tx.clone());
        }
        flush_outbox(&mut app.outbox)?;
        if dirty {
            term.draw(|f| {
                app.page = f.area().height.saturating_sub(8) as usize;
                app.size = (f.area().width, f.area().height);
                view::draw(f, app, theme);
            })?;
            dirty = false;
        }
        let (ev, held) = wait_input(&busy, step);
        step = held;
        if let Some(ev) = ev? {
            match ev {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    if app.modal == app::Modal::ConfirmWrite
                        && k.code == crossterm::event::KeyCode::Char('y')
                    {
                        // Show "writing…" before the (blocking) write starts.
                        app.modal = app::Modal::Writing;
                        term.draw(|f| view::draw(f, app, theme))?;
                        app.modal = app::Modal::ConfirmWrite;
                    }
                    #[cfg(feature = "fault-injection")]
                    injected_panic(&k);
                    app.on_key(k);
                    watcher.poke();
                    dirty = true;
                }
                // Capture reports every motion too; only buttons and the wheel do anything.
                Event::Mouse(m) if m.kind != event::MouseEventKind::Moved => {
                    let size = term.size()?;
                    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                    app.on_mouse(m, area, std::time::Instant::now());
                    dirty = true;
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
    Ok(())
}
