//! The journal on its own thread, for the live coach.
//!
//! `record` only hands the event to the thread: the session loop never waits
//! for the card. The thread writes each event as one transaction, in order.
//! When the storage fails (read-only, full, gone), the events wait in memory
//! (up to [`MAX_WAITING`]) and the thread tries again every
//! [`RETRY`] and with every new event; meanwhile [`JournalWriter::fault`]
//! says what is wrong, for the shell to show (LED) and log. Coaching never
//! stops for the journal.

use super::{History, JournalError, JournalStore, OpenOptions, Opened, PlanNote, Recovered, Stamp};
use crate::session::JournalEvent;
use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a failing journal is tried again without new events.
pub const RETRY: Duration = Duration::from_secs(2);

/// Events kept in memory while the journal cannot be written; beyond this
/// the oldest are dropped (and counted).
pub const MAX_WAITING: usize = 100_000;

/// The journal cannot be written now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalFault {
    pub error: JournalError,
    /// Events waiting to be written.
    pub waiting: usize,
    /// Events given up on (the memory limit, or an event the database
    /// refused outright).
    pub lost: u64,
}

impl fmt::Display for JournalFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal: {}", self.error)?;
        if self.waiting > 0 {
            write!(f, "\n  {} events wait to be written", self.waiting)?;
        }
        if self.lost > 0 {
            write!(f, "\n  {} events could not be kept", self.lost)?;
        }
        Ok(())
    }
}

/// What the writer did, when it is finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterReport {
    /// Events (and button presses) written.
    pub written: u64,
    /// Still not written when it finished.
    pub waiting: usize,
    /// Given up on.
    pub lost: u64,
    /// The last fault, if the journal was failing at the end or ever lost
    /// anything.
    pub fault: Option<JournalFault>,
    /// Faults seen along the way (first occurrences, in order).
    pub faults_seen: Vec<JournalError>,
}

impl WriterReport {
    /// Everything was written.
    pub fn complete(&self) -> bool {
        self.waiting == 0 && self.lost == 0
    }
}

enum Msg {
    Begin(Stamp, Option<PlanNote>),
    Event(Duration, JournalEvent),
    Press(Duration),
    Sync(mpsc::Sender<()>),
    Read(mpsc::Sender<Result<History, JournalError>>),
    Stop,
    /// Stop at once, writing nothing more (a killed process).
    Abort,
    /// issue 16, item 3.
    Voice(crate::hearing::field::VoiceRecord),
}

#[derive(Debug, Default)]
struct State {
    fault: Option<JournalFault>,
    changed: bool,
    written: u64,
    lost: u64,
    waiting: usize,
    faults_seen: Vec<JournalError>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the counts are
        // still the best we have.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A cheap, cloneable way to reach the writer from other threads (e.g. the
/// button's): count a press, or ask about the fault.
#[derive(Clone)]
pub struct JournalHandle {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

impl JournalHandle {
    /// The button was pressed, `at` after the session loop started.
    pub fn button_pressed(&self, at: Duration) {
        send(&self.tx, &self.shared, Msg::Press(at));
    }

    pub fn fault(&self) -> Option<JournalFault> {
        self.shared.lock().fault.clone()
    }
}

/// What became of a spoken command (issue 16, item 3): the evidence
/// thread's rows go to the writer like the session's events.
impl crate::hearing::field::VoiceLog for JournalHandle {
    fn voice(&self, record: crate::hearing::field::VoiceRecord) {
        send(&self.tx, &self.shared, Msg::Voice(record));
    }
}

fn send(tx: &mpsc::Sender<Msg>, shared: &Shared, msg: Msg) {
    if tx.send(msg).is_err() {
        // The thread is gone (it only ends when told to): count the loss.
        let mut s = shared.lock();
        s.lost += 1;
    }
}

/// The store on a thread. See the module documentation.
pub struct JournalWriter {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What opening the journal for a session loop gave.
pub struct Started {
    pub writer: JournalWriter,
    /// A damaged journal was moved aside: show this to the user.
    pub recovered: Option<Recovered>,
    /// The journal could not be opened: coaching goes on, the writer keeps
    /// trying, and [`JournalWriter::fault`] reports it too.
    pub error: Option<JournalError>,
}

impl JournalWriter {
    /// Open the journal at `path` and start the writer. Never fails: when
    /// the journal cannot be opened, the writer starts faulted and keeps
    /// trying to open it.
    pub fn start(path: &Path, opts: &OpenOptions) -> Started {
        match JournalStore::open(path, opts) {
            Ok(Opened { store, recovered }) => Started {
                writer: JournalWriter::spawn(Some(store), path, opts),
                recovered,
                error: None,
            },
            Err(e) => {
                let writer = JournalWriter::spawn(None, path, opts);
                writer.set_fault(e.clone());
                Started {
                    writer,
                    recovered: None,
                    error: Some(e),
                }
            }
        }
    }

    /// Start the writer on an open store.
    pub fn new(store: JournalStore) -> JournalWriter {
        let path = store.path().to_path_buf();
        JournalWriter::spawn(Some(store), &path, &OpenOptions::default())
    }

    fn spawn(store: Option<JournalStore>, path: &Path, opts: &OpenOptions) -> JournalWriter {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let worker = Worker {
            store,
            path: path.to_path_buf(),
            opts: opts.clone(),
            queue: VecDeque::new(),
            shared: shared.clone(),
            last_try: None,
        };
        let thread = std::thread::Builder::new()
            .name("matcoach-journal".into())
            .spawn(move || worker.run(rx))
            .ok();
        let writer = JournalWriter { tx, shared, thread };
        if writer.thread.is_none() {
            writer.set_fault(JournalError::Io {
                path: path.to_path_buf(),
                what: "starting the journal's thread".into(),
                detail: "the system refused a new thread".into(),
                fix: "the system is out of resources; restart matcoach".into(),
            });
        }
        writer
    }

    fn set_fault(&self, error: JournalError) {
        let mut s = self.shared.lock();
        note_fault(&mut s, error);
    }

    pub fn handle(&self) -> JournalHandle {
        JournalHandle {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
        }
    }

    /// Time the next session from `base` and write `plan` with it (see
    /// [`JournalStore::begin`]).
    pub fn begin(&self, base: Stamp, plan: Option<PlanNote>) {
        send(&self.tx, &self.shared, Msg::Begin(base, plan));
    }

    pub fn button_pressed(&self, at: Duration) {
        send(&self.tx, &self.shared, Msg::Press(at));
    }

    /// What is wrong now, if anything.
    pub fn fault(&self) -> Option<JournalFault> {
        self.shared.lock().fault.clone()
    }

    /// `Some(now)` when the fault state changed since the last call (a new
    /// fault, or `Some(None)`: it works again). For the shell to poll, e.g.
    /// to set the LED.
    pub fn fault_changed(&self) -> Option<Option<JournalFault>> {
        let mut s = self.shared.lock();
        if s.changed {
            s.changed = false;
            Some(s.fault.clone())
        } else {
            None
        }
    }

    /// Wait (up to `timeout`) until everything sent so far has been tried.
    /// True if the thread answered.
    pub fn sync(&self, timeout: Duration) -> bool {
        let (ack, done) = mpsc::channel();
        if self.tx.send(Msg::Sync(ack)).is_err() {
            return false;
        }
        done.recv_timeout(timeout).is_ok()
    }

    /// The history, read on the writer's thread after everything sent so far
    /// has been tried (so it includes the session just ended). For the
    /// shell, before each session: `adapt::plan` needs it. An error when
    /// the journal cannot be read (plan from an empty history then, and
    /// coach on).
    pub fn history(&self, timeout: Duration) -> Result<History, JournalError> {
        let (tx, rx) = mpsc::channel();
        let gone = || JournalError::Io {
            path: PathBuf::new(),
            what: "reading the journal".into(),
            detail: "the journal's thread does not answer".into(),
            fix: "restart matcoach; if it happens again, report it".into(),
        };
        self.tx.send(Msg::Read(tx)).map_err(|_| gone())?;
        rx.recv_timeout(timeout).map_err(|_| gone())?
    }

    /// Write what is left (one last try) and stop the thread.
    pub fn finish(mut self) -> WriterReport {
        self.stop();
        let s = self.shared.lock();
        let fault = s.fault.clone().or_else(|| {
            (s.lost > 0).then(|| JournalFault {
                error: s.faults_seen.last().cloned().unwrap_or(JournalError::Io {
                    path: PathBuf::new(),
                    what: "writing the journal".into(),
                    detail: "events were lost".into(),
                    fix: "see the messages above".into(),
                }),
                waiting: s.waiting,
                lost: s.lost,
            })
        });
        WriterReport {
            written: s.written,
            waiting: s.waiting,
            lost: s.lost,
            fault,
            faults_seen: s.faults_seen.clone(),
        }
    }

    /// Stop as a killed process does: what was committed stays, what waits
    /// in memory is gone. For the whole-appliance simulation, which kills
    /// and restarts the coach on the same file.
    pub fn abandon(mut self) {
        self.halt(Msg::Abort);
    }

    fn stop(&mut self) {
        self.halt(Msg::Stop);
    }

    fn halt(&mut self, msg: Msg) {
        if let Some(thread) = self.thread.take() {
            let _ = self.tx.send(msg);
            if thread.join().is_err() {
                let mut s = self.shared.lock();
                note_fault(
                    &mut s,
                    JournalError::Io {
                        path: PathBuf::new(),
                        what: "writing the journal".into(),
                        detail: "the journal's thread failed".into(),
                        fix: "report this with the messages above".into(),
                    },
                );
            }
        }
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

impl crate::devices::Journal for JournalWriter {
    fn record(&mut self, at: Duration, event: &JournalEvent) {
        send(&self.tx, &self.shared, Msg::Event(at, event.clone()));
    }

    fn failing_changed(&mut self) -> Option<bool> {
        self.fault_changed().map(|f| f.is_some())
    }
}

fn note_fault(s: &mut State, error: JournalError) {
    if !s.faults_seen.contains(&error) {
        s.faults_seen.push(error.clone());
    }
    let new = s.fault.as_ref().map(|f| &f.error) != Some(&error);
    s.fault = Some(JournalFault {
        error,
        waiting: s.waiting,
        lost: s.lost,
    });
    if new {
        s.changed = true;
    }
}

struct Worker {
    store: Option<JournalStore>,
    path: PathBuf,
    opts: OpenOptions,
    queue: VecDeque<Msg>,
    shared: Arc<Shared>,
    last_try: Option<Instant>,
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            let failing = self.shared.lock().fault.is_some();
            let msg = if failing && (!self.queue.is_empty() || self.store.is_none()) {
                match rx.recv_timeout(RETRY) {
                    Ok(m) => Some(m),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => Some(Msg::Stop),
                }
            } else {
                Some(rx.recv().unwrap_or(Msg::Stop))
            };
            match msg {
                None => self.drain(true),
                Some(Msg::Stop) => {
                    self.drain(true);
                    return;
                }
                Some(Msg::Abort) => return,
                Some(Msg::Sync(ack)) => {
                    self.drain(true);
                    let _ = ack.send(());
                }
                Some(Msg::Read(reply)) => {
                    self.drain(true);
                    let result = if self.queue.is_empty() {
                        match &self.store {
                            Some(store) => store.history(None),
                            None => Err(self.shared.lock().fault.as_ref().map_or_else(
                                || JournalError::Missing {
                                    path: self.path.clone(),
                                },
                                |f| f.error.clone(),
                            )),
                        }
                    } else {
                        self.history_with_waiting()
                    };
                    let _ = reply.send(result);
                }
                Some(m) => {
                    self.push(m);
                    self.drain(false);
                }
            }
        }
    }

    /// The history as it will be once what waits is written: the store
    /// (or an empty journal, when the file cannot be opened) copied into
    /// memory, with the waiting events applied to the copy only.
    fn history_with_waiting(&self) -> Result<History, JournalError> {
        let mut scratch = match &self.store {
            Some(store) => store.scratch_copy()?,
            None => JournalStore::scratch(&self.path)?,
        };
        for msg in &self.queue {
            // An event the copy refuses is one the file would refuse too.
            let _ = match msg {
                Msg::Begin(base, plan) => {
                    scratch.begin(*base, plan.clone());
                    Ok(())
                }
                Msg::Event(at, event) => scratch.record(*at, event),
                Msg::Press(at) => scratch.button_pressed(*at),
                Msg::Voice(r) => scratch.record_voice(r),
                Msg::Sync(_) | Msg::Read(_) | Msg::Stop | Msg::Abort => Ok(()),
            };
        }
        scratch.history(None)
    }

    fn push(&mut self, m: Msg) {
        self.queue.push_back(m);
        let mut s = self.shared.lock();
        while self.queue.len() > MAX_WAITING {
            self.queue.pop_front();
            s.lost += 1;
        }
        s.waiting = self.queue.len();
    }

    /// Write what waits, in order, until done or the storage fails. While
    /// failing, only every `RETRY` unless `force`.
    fn drain(&mut self, force: bool) {
        let failing = self.shared.lock().fault.is_some();
        if failing && !force && self.last_try.is_some_and(|t| t.elapsed() < RETRY) {
            return;
        }
        self.last_try = Some(Instant::now());
        if self.store.is_none() {
            match JournalStore::open(&self.path, &self.opts) {
                Ok(opened) => {
                    if let Some(r) = opened.recovered {
                        // Not a fault of the moment, but never silent.
                        let mut s = self.shared.lock();
                        s.faults_seen.push(JournalError::Io {
                            path: r.path.clone(),
                            what: "opening the journal".into(),
                            detail: r.to_string(),
                            fix: "nothing to do: a fresh journal was started".into(),
                        });
                    }
                    self.store = Some(opened.store);
                }
                Err(e) => {
                    let mut s = self.shared.lock();
                    s.waiting = self.queue.len();
                    note_fault(&mut s, e);
                    return;
                }
            }
        }
        let Some(store) = self.store.as_mut() else {
            return;
        };
        while let Some(msg) = self.queue.front() {
            let result = match msg {
                Msg::Begin(base, plan) => {
                    store.begin(*base, plan.clone());
                    Ok(false)
                }
                Msg::Event(at, event) => store.record(*at, event).map(|()| true),
                Msg::Press(at) => store.button_pressed(*at).map(|()| true),
                Msg::Voice(r) => store.record_voice(r).map(|()| true),
                Msg::Sync(_) | Msg::Read(_) | Msg::Stop | Msg::Abort => Ok(false),
            };
            match result {
                Ok(counted) => {
                    self.queue.pop_front();
                    let mut s = self.shared.lock();
                    if counted {
                        s.written += 1;
                    }
                    s.waiting = self.queue.len();
                }
                Err(e) if e.is_storage() => {
                    let mut s = self.shared.lock();
                    s.waiting = self.queue.len();
                    note_fault(&mut s, e);
                    return;
                }
                Err(e) => {
                    // The database refused this one event (not the disk):
                    // trying again would refuse it again. Count it, say so,
                    // and go on with the rest.
                    self.queue.pop_front();
                    let mut s = self.shared.lock();
                    s.lost += 1;
                    s.waiting = self.queue.len();
                    note_fault(&mut s, e);
                }
            }
        }
        // Everything is written: the fault is over (what was lost stays
        // counted, for the report).
        let mut s = self.shared.lock();
        s.waiting = 0;
        if s.fault.take().is_some() {
            s.changed = true;
        }
    }
}
