//! The shell: each pass polls the workers, reads global input (drag and drop,
//! keyboard, playback), draws the panels of the current [`Tab`], and applies the
//! [`Cmd`]s the panels pushed, in one place at the end of the pass.

pub use super::commands::Cmd;
use super::commands::{self, Target};
use super::panels::{self, stats::FrameStats};
pub use super::settings::Settings;
pub use super::state::Tab;
use super::state::{State, View};
use eframe::egui;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The app.
pub struct App {
    /// Remembered between runs.
    pub settings: Settings,
    /// The analysis, the training, their workers and the messages.
    pub state: State,
    /// The tab, the current frame, playback and other view state.
    pub view: View,
    /// UI pass durations.
    pub stats: FrameStats,
    pending: Vec<Cmd>,
}

impl App {
    pub fn new(cc: &eframe::CreationContext<'_>, video: Option<PathBuf>) -> Self {
        Self::with_checkpoint(cc, video, None)
    }

    /// Like [`App::new`], with a TI2Net checkpoint to use as the detector.
    pub fn with_checkpoint(
        cc: &eframe::CreationContext<'_>,
        video: Option<PathBuf>,
        checkpoint: Option<PathBuf>,
    ) -> Self {
        Self::with_options(cc, video, checkpoint, false)
    }

    /// Like [`App::with_checkpoint`]; `reset`: start from the default settings, not
    /// the remembered ones (`ti2net gui --reset-settings`).
    pub fn with_options(
        cc: &eframe::CreationContext<'_>,
        video: Option<PathBuf>,
        checkpoint: Option<PathBuf>,
        reset: bool,
    ) -> Self {
        let remembered = cc
            .storage
            .and_then(|s| eframe::get_value::<Settings>(s, eframe::APP_KEY));
        let mut settings = Settings::load(remembered, reset);
        if let Some(c) = checkpoint {
            settings.checkpoint = c.display().to_string();
        }
        // Remembered files that have gone away are said at once (the analyses then
        // run without them: see `Settings::session_spec`).
        let (_, files) = settings.session_spec();
        let mut messages = files.fallbacks;
        if let Some(c) = files.missing_checkpoint {
            messages.push(format!(
                "the detector {} (remembered in Settings) does not exist: analyses run without a verdict until another is chosen",
                c.display()
            ));
        }
        let mut app = Self {
            settings,
            state: State {
                people: super::swap_bench::corpus_people(),
                messages,
                ..Default::default()
            },
            view: View::default(),
            stats: FrameStats::default(),
            pending: Vec::new(),
        };
        if let Some(v) = video {
            app.view.path_input = v.display().to_string();
            app.send(Cmd::Open(v));
            app.apply(&cc.egui_ctx);
        }
        app
    }

    /// Opens the Review tab on the dataset at `dir` with the table at `table`.
    pub fn review(
        cc: &eframe::CreationContext<'_>,
        dir: PathBuf,
        table: PathBuf,
        annotator: String,
    ) -> Self {
        let mut app = Self::new(cc, None);
        let f = &mut app.settings.review;
        f.dir = dir.display().to_string();
        f.table = table.display().to_string();
        f.annotator = annotator;
        app.view.tab = Tab::Review;
        app.send(Cmd::Review(super::review::ReviewCmd::Open));
        app.apply(&cc.egui_ctx);
        app
    }

    /// True while an analysis runs.
    pub fn busy(&self) -> bool {
        self.state.analysis.busy()
    }

    /// True while training runs.
    pub fn training(&self) -> bool {
        self.state.training.running()
    }

    /// Face crops received so far.
    pub fn crop_count(&self) -> usize {
        self.state.analysis.crops.len()
    }

    /// Frames received so far.
    pub fn frame_count(&self) -> usize {
        self.state.analysis.frames.len()
    }

    /// Time of the current frame, in seconds.
    pub fn current_time(&self) -> f64 {
        self.state.analysis.time_of(self.view.current)
    }

    /// UI pass durations and intervals over the last 240 passes.
    pub fn frame_stats(&self) -> String {
        self.stats.summary(self.busy())
    }

    /// Queues a command; it is applied at the end of the next pass.
    pub fn send(&mut self, cmd: Cmd) {
        self.pending.push(cmd);
    }

    fn apply(&mut self, ctx: &egui::Context) {
        let cmds = std::mem::take(&mut self.pending);
        commands::apply(
            cmds,
            &mut Target {
                ctx,
                settings: &mut self.settings,
                state: &mut self.state,
                view: &mut self.view,
            },
        );
    }

    /// Drag and drop, the keyboard (arrows step, space plays) and playback.
    fn input(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.send(Cmd::Open(p));
        }
        // The Review tab reads its own keys.
        if !ctx.egui_wants_keyboard_input() && self.view.tab != Tab::Review {
            ctx.input(|i| {
                if i.key_pressed(egui::Key::ArrowRight) {
                    self.pending.push(Cmd::Step(1));
                }
                if i.key_pressed(egui::Key::ArrowLeft) {
                    self.pending.push(Cmd::Step(-1));
                }
                if i.key_pressed(egui::Key::Space) {
                    self.pending.push(Cmd::TogglePlay);
                }
            });
        }
        if self.view.playing {
            let a = &self.state.analysis;
            let fps = a
                .report
                .as_ref()
                .map(|r| r.video.fps / r.settings.every.max(1) as f64)
                .unwrap_or(25.0);
            let dt = Duration::from_secs_f64(1.0 / fps.max(1.0));
            if self.view.last_tick.elapsed() >= dt {
                self.view.last_tick = Instant::now();
                let at_end = a
                    .frame_pos(self.view.current)
                    .map(|p| p + 1 >= a.frames.len())
                    .unwrap_or(true);
                if at_end {
                    self.view.playing = false;
                } else {
                    self.pending.push(Cmd::Step(1));
                }
            }
            ctx.request_repaint_after(dt);
        }
    }

    /// The central panel of the current tab.
    fn tab_ui(&mut self, ui: &mut egui::Ui) {
        let cmds = &mut self.pending;
        match self.view.tab {
            Tab::Analysis => panels::analysis::ui(ui, &self.state, &mut self.view, cmds),
            Tab::Swap => panels::swap::ui(ui, &mut self.settings.swap, &self.state, cmds),
            Tab::Review => panels::review::ui(
                ui,
                &mut self.settings.review,
                &mut self.view.review,
                &self.state,
                cmds,
            ),
            Tab::Training => panels::training::ui(ui, &mut self.settings.train, &self.state, cmds),
            Tab::Settings => {
                panels::settings::ui(ui, &mut self.settings, &self.state, &self.stats, cmds)
            }
        }
    }
}

impl eframe::App for App {
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        let ctx = ui.ctx().clone();
        self.state
            .poll(&ctx, &mut self.view, &mut self.settings.train);
        self.input(&ctx);
        egui::Panel::top("top").show(ui, |ui| {
            panels::top_bar::ui(
                ui,
                &self.settings,
                &self.state,
                &mut self.view,
                &mut self.pending,
            )
        });
        if !self.state.messages.is_empty() || self.state.forensic.is_some() {
            egui::Panel::bottom("messages").show(ui, |ui| {
                panels::messages::ui(ui, &self.state, &mut self.pending)
            });
        }
        egui::CentralPanel::default().show(ui, |ui| self.tab_ui(ui));
        panels::pair::ui(&ctx, &self.state, &mut self.view);
        self.apply(&ctx);
        self.stats.record(t0, self.busy());
    }
}
