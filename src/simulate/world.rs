//! The simulated world: the user, the devices, the clock, the process, and
//! the shell that carries out the appliance's actions (as `src/daemon.rs`
//! does, with the devices simulated).

use super::check::{self, Ledger, Pre};
use super::{Options, Report, SimulateError};
use crate::adapt::Rules;
use crate::appliance::{Action, Appliance, Event, Hearing, Settings};
use crate::audio::mixer::{MixEvent, Mixer};
use crate::audio::Clip;
use crate::command::Command;
use crate::content::Lang;
use crate::gpio::ButtonEdges;
use crate::journal::{Date, JournalWriter, OpenOptions, Stamp, StorageState, StorageSwitch};
use crate::session::{self, DeviceKind, Input, JournalEvent, Led, PlaybackId, Priority};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The simulated speaker's sample rate: 10 ms steps are fine enough for
/// the coach's timing and cheap to render.
const RATE: u32 = 100;
const MS_PER_SAMPLE: u64 = 1000 / RATE as u64;
const DAY_MS: i64 = 86_400_000;
/// How long the shell waits for the journal's thread.
const JOURNAL_PATIENCE: Duration = Duration::from_secs(30);
/// Steps at one instant beyond which the appliance is spinning.
const SPIN: u32 = 2_000;

/// Something that happens at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ev {
    /// The user decides what to do next.
    UserTurn,
    /// The world decides which fault comes next.
    FaultTurn,
    /// The button's pin reads this level (high: released).
    Level(bool),
    Heard {
        command: Command,
        misheard: bool,
    },
    Lost(Device),
    Back(Device),
    Storage(StorageState),
    Kill,
    Reboot,
    /// The daemon starts: after a boot of the Pi (`power`: a new boot id,
    /// the uptime from zero, the clock as an offline Pi's may be), or
    /// restarted by systemd in the same boot.
    Boot {
        power: bool,
    },
    VoiceCheckEnded,
    /// The clock is set right (NTP reaches the Pi).
    ClockSynced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Device {
    Speaker,
    Microphone,
    Gpio,
}

/// How the user behaves during one session.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mood {
    /// Follows along: something now and then.
    Calm,
    /// Presses and talks all the time.
    Restless,
}

/// A phrase the simulated speaker was given.
#[derive(Debug, Clone)]
pub(super) struct Playing {
    pub priority: Priority,
    pub samples: u64,
    pub started: Option<u64>,
}

/// The running process.
struct Proc {
    app: Appliance,
    writer: Option<JournalWriter>,
    mixer: Mixer,
    /// Virtual time of the mixer's sample 0.
    mixer_base: Duration,
    playing: HashMap<PlaybackId, Playing>,
    /// The phrase speaking now (started, not finished).
    current: Option<PlaybackId>,
    /// A safety line began at this sample (it may cut others off).
    safety_at: Option<u64>,
    led: Option<Led>,
    /// Answers and device news for the appliance, in order, now.
    pending: VecDeque<Event>,
    edges: ButtonEdges,
    button: tokio::sync::mpsc::Receiver<Input>,
    hearing: Hearing,
    ready: bool,
    checking: bool,
    /// What the shell has told the appliance is lost.
    reported: Vec<DeviceKind>,
    session_since: Option<Duration>,
    /// The wall clock given to the journal with the last session's plan
    /// (its start is timed from it).
    begun_at: Option<crate::journal::Stamp>,
    exited: bool,
}

pub(super) struct World<'a> {
    opts: &'a Options,
    pub seed: u64,
    rng: fastrand::Rng,
    settings: Settings,
    epoch: Instant,
    pub now: Duration,
    /// The true local time at `now` = 0, in ms.
    true_start: i64,
    /// The device's clock minus the true time.
    skew: i64,
    /// The time a Pi without a clock comes back to at every boot.
    saved_clock: i64,
    /// Boots so far (the boot id) and when the last one was (the uptime).
    boots: u32,
    booted_at: Duration,
    /// The clock was set right in this boot (NTP reached the Pi): the
    /// kernel calls it synchronised until the next boot.
    synced: bool,
    path: PathBuf,
    storage: StorageSwitch,
    proc: Option<Proc>,
    lost: Vec<Device>,
    timeline: BTreeMap<(Duration, u64), Ev>,
    seq: u64,
    mood: Mood,
    day: i64,
    day_plan: u32,
    day_tries: u32,
    preload_fails: bool,
    /// The user began the McKenzie phases before the first day.
    mckenzie: bool,
    /// Today's plan was made while events waited to be written.
    stale_plan: bool,
    same_instant: (Duration, u32),
    pub ledger: Ledger,
    pub report: Report,
    trace: VecDeque<String>,
}

fn exp(rng: &mut fastrand::Rng, mean: Duration) -> Duration {
    let u = rng.f64();
    mean.mul_f64(-(1.0 - u).ln().min(20.0))
}

fn secs(rng: &mut fastrand::Rng, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(rng.u64(lo * 1000..=hi * 1000))
}

/// Pick by weight.
fn pick<T: Copy>(rng: &mut fastrand::Rng, table: &[(u32, T)]) -> T {
    let total: u32 = table.iter().map(|(w, _)| w).sum();
    let mut x = rng.u32(0..total.max(1));
    for (w, t) in table {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    table[table.len() - 1].1
}

const COMMANDS: [(u32, Command); 6] = [
    (2, Command::Pain),
    (3, Command::Stop),
    (2, Command::Pause),
    (3, Command::Resume),
    (2, Command::Next),
    (2, Command::Repeat),
];

/// Run one seed. See the module documentation.
pub fn run(seed: u64, opts: &Options) -> Result<Report, SimulateError> {
    std::fs::create_dir_all(&opts.dir).map_err(|source| SimulateError::Dir {
        dir: opts.dir.clone(),
        source,
    })?;
    let path = opts.dir.join("journal.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut w = World::new(seed, opts, path);
    if w.mckenzie {
        w.start_mckenzie();
    }
    w.boots = 1;
    w.boot();
    w.at(Duration::from_secs(1800), Ev::UserTurn);
    let first = exp(&mut w.rng, Duration::from_secs(2400));
    w.at(first, Ev::FaultTurn);
    let end = Duration::from_secs(u64::from(opts.days) * 86_400);
    while w.now < end {
        if opts.stop_at_first && !w.report.violations.is_empty() {
            break;
        }
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.tick()));
        if let Err(p) = stepped {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            w.violation(format!("panic: {msg}"));
            break;
        }
        if w.spinning() {
            break;
        }
    }
    w.finish();
    Ok(w.report)
}

impl<'a> World<'a> {
    fn new(seed: u64, opts: &'a Options, path: PathBuf) -> World<'a> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let content = &opts.content;
        let lang = if rng.u32(0..4) == 0 {
            Lang::Nl
        } else {
            Lang::En
        };
        // Mostly the rotation; sometimes one program, any of them.
        let program = if rng.u32(0..10) < 6 || content.programs.is_empty() {
            crate::adapt::AUTO.to_string()
        } else {
            let i = rng.usize(0..content.programs.len());
            content.programs[i].value.id.get_ref().clone()
        };
        let start_day = Date::from_ymd(2026, 3, 2)
            .unwrap_or(Date::from_days(0))
            .add_days(rng.i64(0..365));
        let mut rules = Rules::default();
        if rng.u32(0..3) == 0 {
            rules.surgery_date = Some(start_day.add_days(rng.i64(-20..10)));
        }
        // A third of the `auto` users follow the McKenzie phases from the
        // first day (`matcoach phase start`).
        let mckenzie = program == crate::adapt::AUTO && rng.u32(0..3) == 0;
        let settings = Settings {
            lang,
            program,
            session: session::SessionConfig::default(),
            rules,
        };
        // 07:00 on the first day.
        let true_start = start_day.at_midnight().ms() + 7 * 3_600_000;
        let report = Report {
            seed,
            ..Report::default()
        };
        World {
            opts,
            seed,
            mckenzie,
            rng,
            settings,
            epoch: Instant::now(),
            now: Duration::ZERO,
            true_start,
            skew: 0,
            saved_clock: true_start,
            boots: 0,
            booted_at: Duration::ZERO,
            synced: false,
            path,
            storage: StorageSwitch::default(),
            proc: None,
            lost: Vec::new(),
            timeline: BTreeMap::new(),
            seq: 0,
            mood: Mood::Calm,
            day: -1,
            day_plan: 0,
            day_tries: 0,
            preload_fails: false,
            stale_plan: false,
            same_instant: (Duration::ZERO, 0),
            ledger: Ledger::default(),
            report,
            trace: VecDeque::new(),
        }
    }

    // ---- time -----------------------------------------------------------

    fn at(&mut self, t: Duration, ev: Ev) {
        self.seq += 1;
        self.timeline.insert((t.max(self.now), self.seq), ev);
    }

    fn after(&mut self, d: Duration, ev: Ev) {
        self.at(self.now + d, ev);
    }

    fn true_ms(&self) -> i64 {
        self.true_start + i64::try_from(self.now.as_millis()).unwrap_or(i64::MAX)
    }

    pub fn true_date(&self) -> Date {
        Stamp(self.true_ms()).date()
    }

    /// What the device's clock reads.
    fn wall(&self) -> Stamp {
        Stamp(self.true_ms() + self.skew)
    }

    fn instant(&self) -> Instant {
        self.epoch + self.now
    }

    fn count(&mut self, fault: &'static str) {
        *self.report.faults.entry(fault).or_insert(0) += 1;
    }

    fn did(&mut self, action: &'static str) {
        *self.report.actions.entry(action).or_insert(0) += 1;
    }

    fn spinning(&mut self) -> bool {
        if self.same_instant.0 != self.now {
            self.same_instant = (self.now, 0);
            return false;
        }
        self.same_instant.1 += 1;
        if self.same_instant.1 > SPIN {
            self.violation(format!("spinning: {SPIN} steps without time moving on"));
            return true;
        }
        false
    }

    pub fn violation(&mut self, what: String) {
        let v = check::Violation {
            seed: self.seed,
            step: self.report.steps,
            at: self.now,
            what,
            trace: self.trace.iter().cloned().collect(),
        };
        self.report.violations.push(v);
    }

    fn note(&mut self, line: String) {
        if self.trace.len() >= 40 {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }

    // ---- the loop -------------------------------------------------------

    /// One thing happens.
    fn tick(&mut self) {
        if let Some(p) = self.proc.as_mut() {
            if let Some(e) = p.pending.pop_front() {
                return self.feed(e);
            }
            if let Ok(i) = p.button.try_recv() {
                return self.feed(Event::Input(i));
            }
        }
        let line = self.timeline.keys().next().map(|k| k.0);
        let deadline = self.proc.as_ref().and_then(|p| {
            p.app
                .next_deadline()
                .map(|d| d.saturating_duration_since(self.epoch))
        });
        let mix = self.proc.as_ref().and_then(|p| p.mixer_next(self.now));
        let Some(t) = [line, deadline, mix].into_iter().flatten().min() else {
            return;
        };
        let t = t.max(self.now);
        self.advance_mixer(t);
        self.now = t;
        if self.proc.as_ref().is_some_and(|p| !p.pending.is_empty()) {
            return;
        }
        if line == Some(t) {
            if let Some((_, ev)) = self.timeline.pop_first() {
                self.happen(ev);
            }
        } else if deadline.is_some_and(|d| d <= t) {
            self.feed(Event::Input(Input::DeadlineReached));
        }
    }

    /// Render the speaker up to `t`: the phrases that finish become
    /// "finished" for the appliance.
    fn advance_mixer(&mut self, t: Duration) {
        let speaker = !self.lost.contains(&Device::Speaker);
        let Some(p) = self.proc.as_mut() else {
            return;
        };
        let target = (t.saturating_sub(p.mixer_base).as_millis() as u64) / MS_PER_SAMPLE;
        let pos = p.mixer.pos();
        if target > pos {
            let mut buf = vec![0.0f32; usize::try_from(target - pos).unwrap_or(0).min(1 << 20)];
            p.mixer.render(&mut buf);
        }
        let events = p.mixer.take_events();
        let mut problems = Vec::new();
        for e in events {
            match e {
                MixEvent::Started { id, at } => {
                    if let Some(cur) = p.current {
                        problems.push(format!(
                            "two phrases at once: {id:?} started while {cur:?} speaks"
                        ));
                    }
                    p.current = Some(id);
                    if let Some(x) = p.playing.get_mut(&id) {
                        x.started = Some(at);
                    }
                }
                MixEvent::Finished { id, at } => {
                    if p.current == Some(id) {
                        p.current = None;
                    }
                    if let Some(x) = p.playing.remove(&id) {
                        let cut = x.started.is_some_and(|s| at < s + x.samples);
                        let by_safety = p.safety_at == Some(at);
                        if cut && x.priority != Priority::Count && !by_safety {
                            problems.push(format!(
                                "a {:?} line ({id:?}) was cut off, not by a safety line",
                                x.priority
                            ));
                        }
                    }
                    if speaker {
                        p.pending
                            .push_back(Event::Input(Input::PlaybackFinished(id)));
                    }
                }
            }
        }
        for what in problems {
            self.violation(what);
        }
    }

    /// The next moment the speaker has something to report.
    fn happen(&mut self, ev: Ev) {
        match ev {
            Ev::UserTurn => self.user_turn(),
            Ev::FaultTurn => self.fault_turn(),
            Ev::Level(high) => {
                if !self.lost.contains(&Device::Gpio) {
                    if let Some(p) = self.proc.as_mut() {
                        p.edges.level(high);
                    }
                }
            }
            Ev::Heard { command, misheard } => {
                let mic = !self.lost.contains(&Device::Microphone);
                let listening = self
                    .proc
                    .as_ref()
                    .is_some_and(|p| p.ready && p.hearing == Hearing::Listening && !p.checking);
                if mic && listening {
                    self.did(if misheard { "misheard" } else { "heard" });
                    self.feed(Event::Input(Input::Heard(command)));
                }
            }
            Ev::Lost(d) => self.device_lost(d),
            Ev::Back(d) => self.device_back(d),
            Ev::Storage(s) => {
                self.storage.set(s);
                // The writer finds out when it next writes; the shell polls.
                self.after_step();
            }
            Ev::Kill => self.kill(),
            Ev::Reboot => {
                if let Some(p) = &self.proc {
                    // A shutdown in a session leaves it cut off (SIGTERM
                    // ends the coaching; the journal keeps what was said).
                    if p.app.coaching() {
                        self.ledger.cut_allowance += 1;
                        self.ledger.running = false;
                    }
                    self.feed(Event::Shutdown);
                }
            }
            Ev::Boot { power } => {
                if self.proc.is_none() {
                    if power {
                        self.boot_clock();
                        self.boots += 1;
                        self.booted_at = self.now;
                        self.synced = false;
                    }
                    self.boot();
                }
            }
            Ev::VoiceCheckEnded => {
                if let Some(p) = self.proc.as_mut() {
                    if p.checking {
                        p.checking = false;
                        p.pending.push_back(Event::VoiceCheckEnded);
                    }
                }
            }
            Ev::ClockSynced => {
                self.skew = 0;
                self.synced = true;
            }
        }
    }

    // ---- the process ------------------------------------------------------

    /// The daemon starts (the Pi's boot, if any, is done).
    fn boot(&mut self) {
        self.ledger.lost_seen = 0;
        let opts = OpenOptions {
            storage: self.storage.clone(),
            ..OpenOptions::default()
        };
        let started = JournalWriter::start(&self.path, &opts);
        if let Some(r) = &started.recovered {
            self.violation(format!("the journal was found damaged at start: {r}"));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(crate::session_loop::INPUT_QUEUE);
        let hearing = pick(
            &mut self.rng,
            &[
                (18, Hearing::Listening),
                (1, Hearing::Failed),
                (1, Hearing::Disabled),
            ],
        );
        let app = Appliance::new(self.opts.content.clone(), self.settings.clone());
        self.proc = Some(Proc {
            app,
            writer: Some(started.writer),
            mixer: Mixer::new(RATE, 1.0),
            mixer_base: self.now,
            playing: HashMap::new(),
            current: None,
            safety_at: None,
            led: Some(Led::Idle),
            pending: VecDeque::new(),
            edges: ButtonEdges::new(tx),
            button: rx,
            hearing,
            ready: false,
            checking: false,
            reported: Vec::new(),
            session_since: None,
            begun_at: None,
            exited: false,
        });
        self.note(format!(
            "{} boot, clock {}",
            self.stamp(),
            self.wall().compact()
        ));
        if self.lost.contains(&Device::Speaker) {
            // As the daemon's loop that waits for a speaker.
            self.feed(Event::Input(Input::DeviceLost(DeviceKind::Speaker)));
        } else {
            self.ready();
        }
        self.check_journal();
    }

    /// The speaker is open: the daemon's main loop starts.
    fn ready(&mut self) {
        let mic_lost = self.lost.contains(&Device::Microphone);
        let Some(p) = self.proc.as_mut() else {
            return;
        };
        if p.ready {
            return;
        }
        p.ready = true;
        p.pending.push_back(Event::Ready { hearing: p.hearing });
        if mic_lost && p.hearing == Hearing::Listening {
            p.pending
                .push_back(Event::Input(Input::DeviceLost(DeviceKind::Microphone)));
        }
    }

    /// The wall clock at boot: as it was, or wrong in one of the ways an
    /// offline Pi's is.
    fn boot_clock(&mut self) {
        if !self.opts.clock_faults {
            return;
        }
        let now = self.true_ms();
        match self.rng.u32(0..10) {
            0 => {
                self.count("clock forward");
                self.skew += self.rng.i64(1..=400) * DAY_MS;
            }
            1 => {
                self.count("clock backward");
                self.skew -= self.rng.i64(1..=60) * DAY_MS;
            }
            2 => {
                self.count("clock at 1970");
                self.skew = -now;
            }
            3 => {
                self.count("clock at the saved time");
                self.skew = self.saved_clock - now;
            }
            _ => {}
        }
    }

    fn kill(&mut self) {
        let Some(mut p) = self.proc.take() else {
            return;
        };
        // The daemon killed (systemd starts it again in the same boot), or
        // the power cut (the Pi boots again).
        let power = self.rng.bool();
        self.count(if power { "power cut" } else { "killed" });
        let risky = p.app.coaching() || self.ledger.ended > self.ledger.ended_sure;
        if risky {
            self.ledger.cut_allowance += 1;
        }
        if p.app.coaching() {
            self.ledger.running = false;
        }
        // Ends still waiting in memory may die with the process.
        self.ledger.maybe_lost = self.ledger.ended - self.ledger.ended_sure;
        if let Some(w) = p.writer.take() {
            w.abandon();
        }
        self.note(format!("{} killed", self.stamp()));
        let d = secs(&mut self.rng, 2, 60);
        self.after(d, Ev::Boot { power });
    }

    fn device_lost(&mut self, d: Device) {
        if self.lost.contains(&d) {
            return;
        }
        self.lost.push(d);
        self.count(match d {
            Device::Speaker => "speaker lost",
            Device::Microphone => "microphone lost",
            Device::Gpio => "gpio lost",
        });
        let Some(p) = self.proc.as_mut() else {
            return;
        };
        match d {
            Device::Speaker => {
                p.mixer.stop();
                p.playing.clear();
                p.current = None;
                self.feed(Event::Input(Input::DeviceLost(DeviceKind::Speaker)));
            }
            Device::Microphone => {
                if p.ready && p.hearing == Hearing::Listening {
                    self.feed(Event::Input(Input::DeviceLost(DeviceKind::Microphone)));
                }
            }
            Device::Gpio => {}
        }
    }

    fn device_back(&mut self, d: Device) {
        if !self.lost.contains(&d) {
            return;
        }
        self.lost.retain(|x| *x != d);
        let Some(p) = self.proc.as_mut() else {
            return;
        };
        match d {
            Device::Speaker => {
                p.mixer = Mixer::new(RATE, 1.0);
                p.mixer_base = self.now;
                if p.ready {
                    self.feed(Event::Input(Input::DeviceBack(DeviceKind::Speaker)));
                } else {
                    self.ready();
                }
            }
            Device::Microphone => {
                if p.reported.contains(&DeviceKind::Microphone) {
                    self.feed(Event::Input(Input::DeviceBack(DeviceKind::Microphone)));
                }
            }
            Device::Gpio => {}
        }
    }

    fn stamp(&self) -> String {
        let s = self.now.as_secs();
        format!(
            "[day {} {:02}:{:02}:{:02}]",
            s / 86_400,
            (s / 3600) % 24,
            (s / 60) % 60,
            s % 60
        )
    }

    // ---- one step ---------------------------------------------------------

    /// Hand `event` to the appliance, carry out what it asks, check.
    fn feed(&mut self, event: Event) {
        let now = self.instant();
        let Some(p) = self.proc.as_mut() else {
            return;
        };
        if let Event::Input(i) = event {
            match i {
                Input::DeviceLost(d) if !p.reported.contains(&d) => p.reported.push(d),
                Input::DeviceBack(d) => p.reported.retain(|x| *x != d),
                _ => {}
            }
        }
        if let Event::Ready { .. } = event {
            // The speaker is open: what the start-up said of it is over.
            p.reported.retain(|x| *x != DeviceKind::Speaker);
        }
        let pre = Pre::of(&p.app);
        let planning = matches!(event, Event::History { .. });
        let actions = p.app.handle(now, event.clone());
        let refused = planning && !p.app.waiting_for_shell();
        self.report.steps += 1;
        let line = format!(
            "{} {} -> {}",
            self.stamp(),
            check::show_event(&event),
            actions
                .iter()
                .map(check::show_action)
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.note(line);
        if refused {
            self.report.refusals += 1;
        }
        for what in check::reaction(&event, &pre, &actions) {
            self.violation(what);
        }
        self.carry_out(actions);
        self.after_step();
    }

    /// The daemon's `Shell::carry_out`, on the simulated devices.
    fn carry_out(&mut self, actions: Vec<Action>) {
        let speaker = !self.lost.contains(&Device::Speaker);
        let wall = self.wall();
        // What the daemon's shell reads (`date::read`): an offline Pi when
        // the clock may jump (until NTP sets it right), one kept in sync
        // otherwise.
        let boot = format!("sim-boot-{}", self.boots);
        let clock = crate::date::ClockReading {
            wall,
            boot: Some(boot.clone()),
            uptime_ms: i64::try_from((self.now - self.booted_at).as_millis()).ok(),
            sync: if self.opts.clock_faults && !self.synced {
                crate::date::Sync::No
            } else {
                crate::date::Sync::Yes
            },
        };
        let today = self.true_date();
        let now = self.now;
        let mut ended = false;
        let mut begun = false;
        let mut started_program = None;
        let mut check_after = None;
        let Some(p) = self.proc.as_mut() else {
            return;
        };
        for action in actions {
            match action {
                Action::Speak { id, line, priority } => {
                    if !speaker {
                        continue;
                    }
                    if !p.mixer.is_busy() && !p.mixer.has_events() {
                        p.mixer = Mixer::new(RATE, 1.0);
                        p.mixer_base = now;
                    }
                    let n = (session::estimate_speech(&line.text).as_millis() as u64
                        / MS_PER_SAMPLE)
                        .max(1);
                    let at = now.saturating_sub(p.mixer_base).as_millis() as u64 / MS_PER_SAMPLE;
                    if priority == Priority::Safety {
                        p.safety_at = Some(at.max(p.mixer.pos()));
                    }
                    p.playing.insert(
                        id,
                        Playing {
                            priority,
                            samples: n,
                            started: None,
                        },
                    );
                    let clip = Clip::new(RATE, vec![1000; usize::try_from(n).unwrap_or(1)]);
                    p.mixer.speak(id, clip, priority, at);
                    // A line that starts at once is heard now.
                }
                Action::StopSpeech => {
                    p.mixer.stop();
                    p.playing.clear();
                    p.current = None;
                }
                Action::Cue(_) => {
                    if speaker {
                        let at =
                            now.saturating_sub(p.mixer_base).as_millis() as u64 / MS_PER_SAMPLE;
                        p.mixer.cue(Clip::new(RATE, vec![500; 20]), at);
                    }
                }
                Action::SetLed(l) => p.led = Some(l),
                Action::Journal { at, event } => {
                    if let JournalEvent::SessionStarted { program, .. } = &event {
                        started_program = Some(program.clone());
                        let ms = i64::try_from(at.as_millis()).unwrap_or(0);
                        let started = p.begun_at.unwrap_or(wall).ms() + ms;
                        if self.stale_plan {
                            self.ledger.stale.insert(started);
                        }
                        self.ledger.true_days.insert((boot.clone(), started), today);
                    }
                    if let JournalEvent::SessionEnded { .. } = &event {
                        self.ledger.journal_ended += 1;
                    }
                    if let Some(w) = p.writer.as_mut() {
                        crate::devices::Journal::record(w, at, &event);
                    }
                }
                Action::BeginJournal(note) => {
                    if let Some(w) = &p.writer {
                        w.begin(wall, Some(note));
                    }
                    p.begun_at = Some(wall);
                    p.session_since = Some(now);
                    begun = true;
                }
                Action::JournalPress(at) => {
                    if let Some(w) = &p.writer {
                        w.button_pressed(at);
                    }
                }
                Action::Log(_) | Action::Status(_) => {}
                Action::ReadHistory => {
                    // Events waiting in memory (the disk fails) are not in
                    // the history read from the file.
                    self.stale_plan = p
                        .writer
                        .as_ref()
                        .and_then(|w| w.fault())
                        .is_some_and(|f| f.waiting > 0);
                    let history = p
                        .writer
                        .as_ref()
                        .and_then(|w| w.history(JOURNAL_PATIENCE).ok())
                        .unwrap_or_default();
                    p.pending.push_back(Event::History {
                        history: Box::new(history),
                        clock: clock.clone(),
                    });
                }
                Action::Preload(_) => {
                    let r = if self.preload_fails {
                        self.preload_fails = false;
                        Err("speech: the cache cannot be written (simulated)".to_string())
                    } else {
                        Ok(())
                    };
                    p.pending.push_back(Event::Preloaded(r));
                }
                Action::RunVoiceCheck => {
                    p.checking = true;
                    check_after = Some(());
                }
                Action::SessionEnded(_) => {
                    p.session_since = None;
                    ended = true;
                }
                Action::Exit => p.exited = true,
            }
        }
        if check_after.is_some() {
            let d = secs(&mut self.rng, 60, 240);
            self.after(d, Ev::VoiceCheckEnded);
        }
        if begun {
            self.report.sessions_begun += 1;
            self.ledger.begun += 1;
            self.ledger.running = true;
            self.mood = if self.rng.u32(0..10) < 6 {
                Mood::Calm
            } else {
                Mood::Restless
            };
        }
        if let Some(program) = started_program {
            let today = self.true_date();
            if let Some(what) =
                check::surgery_today(&self.opts.content, &self.settings.rules, &program, today)
            {
                self.violation(what);
            }
        }
        if ended {
            self.report.sessions_ended += 1;
            self.ledger.ended += 1;
            self.ledger.running = false;
        }
    }

    /// After a step: the journal's news, the process's exit, the checks.
    fn after_step(&mut self) {
        let mut exited = false;
        let mut sync_failed = false;
        let mut lost_events = None;
        let mut lost_now = None;
        if let Some(p) = self.proc.as_mut() {
            if let Some(w) = &p.writer {
                if !w.sync(JOURNAL_PATIENCE) {
                    sync_failed = true;
                }
                // The daemon polls this and tells the appliance.
                match w.fault_changed() {
                    Some(Some(_)) => p
                        .pending
                        .push_back(Event::Input(Input::DeviceLost(DeviceKind::Journal))),
                    Some(None) => p
                        .pending
                        .push_back(Event::Input(Input::DeviceBack(DeviceKind::Journal))),
                    None => {}
                }
                match w.fault() {
                    None => self.ledger.ended_sure = self.ledger.ended - self.ledger.maybe_lost,
                    Some(f) if f.lost > self.ledger.lost_seen => {
                        self.ledger.lost_seen = f.lost;
                        lost_now = Some(f);
                    }
                    Some(_) => {}
                }
            }
            if p.exited {
                self.ledger.lost_seen = 0;
                exited = true;
                if let Some(w) = p.writer.take() {
                    let r = w.finish();
                    if r.waiting > 0 {
                        // The disk still failing at a clean shutdown: what
                        // waits in memory dies with the process, as at a
                        // kill (a session's end among it leaves it cut).
                        if self.ledger.ended > self.ledger.ended_sure {
                            self.ledger.cut_allowance += 1;
                        }
                        self.ledger.maybe_lost = self.ledger.ended - self.ledger.ended_sure;
                    }
                    if r.lost > 0 {
                        lost_events = Some(r);
                    }
                }
            }
        }
        if let Some(f) = lost_now {
            self.violation(format!("the journal gave up on events: {f}"));
        }
        if sync_failed {
            self.violation("the journal's thread did not answer within 30 s".into());
        }
        if let Some(r) = lost_events {
            self.violation(format!(
                "the journal gave up on {} events: {:?}",
                r.lost, r.fault
            ));
        }
        if exited {
            self.proc = None;
            self.count("clean reboot");
            let d = secs(&mut self.rng, 20, 120);
            self.after(d, Ev::Boot { power: true });
            return;
        }
        let ended_now = self.ledger.ended != self.ledger.checked_at_end;
        if ended_now {
            self.ledger.checked_at_end = self.ledger.ended;
            self.check_journal();
        }
        self.check_state();
    }

    fn check_state(&mut self) {
        let Some(p) = self.proc.as_ref() else {
            return;
        };
        let owes = !p.pending.is_empty()
            || p.checking
            || (!p.ready && self.lost.contains(&Device::Speaker));
        let view = check::StateView {
            app: &p.app,
            led: p.led,
            reported: &p.reported,
            ready: p.ready,
            owes,
            session_for: p.session_since.map(|s| self.now.saturating_sub(s)),
        };
        for what in check::state(&view) {
            self.violation(what);
        }
    }

    /// `matcoach phase start` before the first boot: the acute phase.
    fn start_mckenzie(&mut self) {
        let set = crate::journal::JournalStore::open(&self.path, &OpenOptions::default()).and_then(
            |mut o| {
                o.store.set_phase(
                    Some(crate::content::Phase::Acute),
                    "matcoach phase start (the simulated user)",
                    self.wall(),
                )
            },
        );
        match set {
            Ok(()) => self.did("mckenzie started"),
            Err(e) => self.violation(format!("the McKenzie phase cannot be started: {e}")),
        }
    }

    fn check_journal(&mut self) {
        let running = self.proc.as_ref().is_some_and(|p| p.app.coaching());
        let problems = check::journal(
            &self.path,
            &self.opts.content,
            &self.settings.rules,
            &self.settings.program,
            &mut self.ledger,
            running,
        );
        for what in problems {
            self.violation(what);
        }
    }

    fn finish(&mut self) {
        if let Some(mut p) = self.proc.take() {
            if let Some(w) = p.writer.take() {
                let r = w.finish();
                if r.lost > 0 {
                    self.violation(format!("the journal gave up on {} events", r.lost));
                }
                if r.waiting == 0 {
                    self.ledger.ended_sure = self.ledger.ended - self.ledger.maybe_lost;
                }
            }
        }
        self.ledger.running = false;
        self.check_journal();
        self.report.simulated = self.now;
        let size = |s: &str| {
            std::fs::metadata(format!("{}{s}", self.path.display()))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        self.report.journal_bytes = size("") + size("-wal");
        self.report.journal_sessions = self.ledger.rows;
        self.report.rest_missed_unwritten = self.ledger.stale_rest;
    }

    // ---- the user ---------------------------------------------------------

    fn press(&mut self, hold: Duration) {
        self.at(self.now, Ev::Level(false));
        self.after(hold, Ev::Level(true));
    }

    fn user_turn(&mut self) {
        let (coaching, idle, up) = match &self.proc {
            Some(p) => (p.app.coaching(), p.app.idle(), p.ready),
            None => (false, false, false),
        };
        if idle && up {
            return self.idle_turn();
        }
        if !coaching {
            // Starting, planning, the voice check offer or check, a
            // process down: now and then a press or a word.
            match self.rng.u32(0..6) {
                0 => {
                    self.did("press");
                    let hold = Duration::from_millis(self.rng.u64(60..400));
                    self.press(hold);
                }
                1 => self.say(false),
                _ => {}
            }
            let d = secs(&mut self.rng, 2, 40);
            return self.after(d, Ev::UserTurn);
        }
        let nothing = if self.mood == Mood::Calm { 60 } else { 8 };
        #[derive(Clone, Copy)]
        enum Do {
            Nothing,
            Short,
            Long,
            Bounce,
            Say,
            Mishear,
        }
        match pick(
            &mut self.rng,
            &[
                (nothing, Do::Nothing),
                (8, Do::Short),
                (2, Do::Long),
                (1, Do::Bounce),
                (14, Do::Say),
                (2, Do::Mishear),
            ],
        ) {
            Do::Nothing => {}
            Do::Short => {
                self.did("press");
                let hold = Duration::from_millis(self.rng.u64(60..600));
                self.press(hold);
            }
            Do::Long => {
                self.did("long press");
                let hold = Duration::from_millis(self.rng.u64(2_100..4_000));
                self.press(hold);
            }
            Do::Bounce => {
                self.did("bouncing press");
                let t = self.now;
                self.at(t, Ev::Level(false));
                self.at(t + Duration::from_millis(2), Ev::Level(true));
                self.at(t + Duration::from_millis(5), Ev::Level(false));
                self.at(t + Duration::from_millis(7), Ev::Level(true));
                self.at(t + Duration::from_millis(9), Ev::Level(false));
                let hold = Duration::from_millis(self.rng.u64(80..300));
                self.at(t + hold, Ev::Level(true));
            }
            Do::Say => self.say(false),
            Do::Mishear => self.say(true),
        }
        let mean = if self.mood == Mood::Calm { 60 } else { 5 };
        let d = exp(&mut self.rng, Duration::from_secs(mean)) + Duration::from_millis(50);
        self.after(d, Ev::UserTurn);
    }

    fn say(&mut self, misheard: bool) {
        let command = pick(&mut self.rng, &COMMANDS);
        // The recogniser answers a little after the word.
        let d = Duration::from_millis(self.rng.u64(300..900));
        self.after(d, Ev::Heard { command, misheard });
    }

    /// Waiting for a press: start a session, or sleep until tomorrow.
    fn idle_turn(&mut self) {
        let day = self.true_ms().div_euclid(DAY_MS);
        if day != self.day {
            self.day = day;
            self.day_tries = 0;
            self.day_plan = pick(&mut self.rng, &[(1, 0), (3, 1), (3, 2), (2, 3), (1, 5)]);
        }
        let hour = self.true_ms().rem_euclid(DAY_MS) / 3_600_000;
        if self.day_tries < self.day_plan && hour < 22 {
            self.day_tries += 1;
            self.did("session asked");
            let hold = Duration::from_millis(self.rng.u64(80..500));
            self.press(hold);
            // Back in a few minutes (the session takes over the turns).
            let d = secs(&mut self.rng, 20, 90);
            self.after(d, Ev::UserTurn);
            // Between sessions of a day: a while.
            return;
        }
        if self.day_tries < self.day_plan {
            self.day_tries = self.day_plan;
        }
        // Tomorrow morning.
        let into = self.true_ms().rem_euclid(DAY_MS);
        let morning = DAY_MS - into + 7 * 3_600_000 + self.rng.i64(0..4 * 3_600_000);
        let d = Duration::from_millis(u64::try_from(morning).unwrap_or(0));
        self.after(d, Ev::UserTurn);
    }

    // ---- the world ----------------------------------------------------------

    fn fault_turn(&mut self) {
        #[derive(Clone, Copy)]
        enum F {
            Lose(Device),
            Storage(StorageState),
            Kill,
            Reboot,
            Clock,
            Preload,
        }
        let f = pick(
            &mut self.rng,
            &[
                (3, F::Lose(Device::Speaker)),
                (3, F::Lose(Device::Microphone)),
                (2, F::Lose(Device::Gpio)),
                (2, F::Storage(StorageState::Full)),
                (2, F::Storage(StorageState::ReadOnly)),
                (3, F::Kill),
                (1, F::Reboot),
                (1, F::Clock),
                (1, F::Preload),
            ],
        );
        match f {
            F::Lose(d) => {
                self.at(self.now, Ev::Lost(d));
                let back = exp(&mut self.rng, Duration::from_secs(300));
                self.after(back, Ev::Back(d));
            }
            F::Storage(s) => {
                if self.storage.get() == StorageState::Fine {
                    self.count(if s == StorageState::Full {
                        "disk full"
                    } else {
                        "disk read-only"
                    });
                    self.at(self.now, Ev::Storage(s));
                    let back = exp(&mut self.rng, Duration::from_secs(1200));
                    self.after(back, Ev::Storage(StorageState::Fine));
                }
            }
            F::Kill => self.at(self.now, Ev::Kill),
            F::Reboot => self.at(self.now, Ev::Reboot),
            F::Clock => {
                if self.opts.clock_faults && self.skew != 0 {
                    self.count("clock set right");
                    self.at(self.now, Ev::ClockSynced);
                }
            }
            F::Preload => {
                self.count("phrases fail to load");
                self.preload_fails = true;
            }
        }
        // Faults come more often while coaching, where they hurt most.
        let coaching = self.proc.as_ref().is_some_and(|p| p.app.coaching());
        let mean = if coaching { 300 } else { 3600 };
        let d = exp(&mut self.rng, Duration::from_secs(mean));
        self.after(d, Ev::FaultTurn);
    }
}

impl Proc {
    /// When the speaker next reports something.
    fn mixer_next(&self, now: Duration) -> Option<Duration> {
        if self.mixer.has_events() {
            return Some(now);
        }
        let sample = |s: u64| self.mixer_base + Duration::from_millis(s * MS_PER_SAMPLE);
        if let Some((_, end)) = self.mixer.current_finish() {
            return Some(sample(end));
        }
        if self.mixer.is_speaking() {
            return Some(sample(self.mixer.pos() + 1));
        }
        None
    }
}
