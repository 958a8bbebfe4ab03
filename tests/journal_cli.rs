//! The journal through the command line: `matcoach sim --db --date` over
//! consecutive days shows the skip-after-pain and the rotation; `history`,
//! `phase` and `calibrate`; bad dates and paths.

mod common;
use common::bin_support;
use common::journal_support;

use bin_support::*;
use journal_support::*;
use serde_json::Value;
use std::path::Path;

fn run(args: &[&str]) -> Out {
    Out::of(&mut command(args))
}

fn sim(db: &Path, day: &str, program: &str, events: &str) -> Out {
    let db = db.to_str().unwrap();
    run(&[
        "sim", program, "--db", db, "--date", day, "--events", events,
    ])
    .ok()
}

/// The plan line, and the exercises the session did.
fn plan_and_done(out: &Out) -> (Value, Vec<String>) {
    let lines = out.json_lines();
    assert_eq!(lines[0]["action"], "plan", "{}", out.show());
    let done = lines
        .iter()
        .filter(|l| l["action"] == "journal" && l["event"] == "exercise_done")
        .map(|l| l["exercise"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(lines.last().unwrap()["action"], "end");
    (lines[0].clone(), done)
}

fn left_out(plan: &Value) -> Vec<String> {
    plan["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["exercise"].as_str().unwrap().to_string())
        .collect()
}

/// When "pain" lands in the first set of `exercise` in `program` today.
fn pain_at(db: &Path, day: &str, program: &str, exercise: &str) -> u64 {
    // A dry run with a scratch copy of the journal gives the same plan.
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("j.sqlite");
    if db.exists() {
        std::fs::copy(db, &copy).unwrap();
    }
    let out = sim(&copy, day, program, "0s:press");
    let lines = out.json_lines();
    let done = lines
        .iter()
        .find(|l| l["event"] == "set_done" && l["exercise"] == exercise)
        .unwrap_or_else(|| panic!("no set of {exercise}\n{}", out.show()));
    done["t_ms"].as_u64().unwrap() - 1500
}

/// The "done when": consecutive simulated days through the CLI show
/// the skip after pain and the rotation.
#[test]
fn consecutive_days_show_the_skip_after_pain_and_the_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let days: Vec<String> = (0..8)
        .map(|k| date("2025-03-03").add_days(k).to_string())
        .collect();

    // Day 1: the rotation starts gently; "pain" during the pelvic tilt.
    let t = pain_at(&db, &days[0], "auto", "sr_pelvic_tilt");
    let out = sim(&db, &days[0], "auto", &format!("0s:press,{t}ms:heard=pain"));
    let (plan, done) = plan_and_done(&out);
    assert_eq!(plan["program"], "morning_mobility", "{plan}");
    assert!(!done.contains(&"sr_pelvic_tilt".to_string()));

    let mut programs = vec![plan["program"].as_str().unwrap().to_string()];
    let mut plans = vec![plan];
    let mut dones = vec![done];
    for day in &days[1..] {
        let out = sim(&db, day, "auto", "0s:press");
        let (plan, done) = plan_and_done(&out);
        programs.push(plan["program"].as_str().unwrap().to_string());
        plans.push(plan);
        dones.push(done);
    }
    // The rotation: no two days running alike; strength on alternate days,
    // starting with the max test.
    for w in programs.windows(2) {
        assert_ne!(w[0], w[1], "{programs:?}");
    }
    assert_eq!(
        programs,
        [
            "morning_mobility",
            "sr_max_test",
            "sr_warmup",
            "sr_warmup_and_strength",
            "th_mobility_and_stretching",
            "sr_warmup_and_strength",
            "th_posture_awareness",
            "morning_mobility",
        ]
    );
    // Days 2 to 4 left the pelvic tilt out of their warm-ups, saying why;
    // after three sessions without pain, day 6 has it back.
    for (k, plan) in plans.iter().enumerate().take(4).skip(1) {
        assert!(!dones[k].contains(&"sr_pelvic_tilt".to_string()), "day {k}");
        let reason = plan["left_out"][0]["reason"].as_str().unwrap();
        assert_eq!(plan["left_out"][0]["exercise"], "sr_pelvic_tilt", "day {k}");
        assert!(
            reason.contains(&format!("it hurt on {}", days[0])),
            "{reason}"
        );
    }
    assert!(left_out(&plans[5]).is_empty(), "{}", plans[5]);
    assert!(
        dones[5].contains(&"sr_pelvic_tilt".to_string()),
        "{:?}",
        dones[5]
    );
    // The startgetal from the max test is used on the strength days.
    assert_eq!(plans[3]["startgetal"]["sr_abdominals"], 16);

    // `history` shows it all.
    let h = run(&["history", "--db", db.to_str().unwrap(), "--today", &days[7]]).ok();
    assert!(h.stdout.contains("sr_pelvic_tilt"), "{}", h.show());
    assert!(
        h.stdout.contains("left out: sr_pelvic_tilt"),
        "{}",
        h.show()
    );
    assert!(h.stdout.contains("minutes a day"), "{}", h.show());
    assert!(h.stdout.contains("streak: 1 week"), "{}", h.show());
    for day in &days {
        assert!(h.stdout.contains(day.as_str()), "{day}\n{}", h.show());
    }
    let json: Value = serde_json::from_str(
        &run(&["history", "--db", db.to_str().unwrap(), "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    let sessions = json["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 8);
    assert_eq!(sessions[0]["pains"][0]["exercise"], "sr_pelvic_tilt");
    assert!(sessions[0]["duration_ms"].as_i64().unwrap() > 60_000);
    assert_eq!(json["startgetal"]["sr_back_extensors"], 16);
    let csv = run(&[
        "history",
        "--db",
        db.to_str().unwrap(),
        "--export",
        "csv",
        "--since",
        &days[6],
    ])
    .ok()
    .stdout;
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[0].starts_with("session,date,start,end,program"),
        "{csv}"
    );
    assert!(rows[1].contains("th_posture_awareness") && rows[1].contains(",completed,"));
}

#[test]
fn phase_next_is_refused_after_pain_and_auto_follows_the_phase() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let d = db.to_str().unwrap();
    let out = run(&["phase", "--db", d]).ok();
    assert!(out.stdout.contains("not following"), "{}", out.show());
    let out = run(&["phase", "next", "--db", d]).expect_code(1);
    assert!(out.stderr.contains("phase start"), "{}", out.show());
    let out = run(&["phase", "start", "--db", d]).ok();
    assert!(
        out.stdout.contains("acute: program mckenzie_acute"),
        "{}",
        out.show()
    );

    let t = pain_at(&db, "2025-03-03", "auto", "mk_2_prone_on_elbows");
    let out = sim(
        &db,
        "2025-03-03",
        "auto",
        &format!("0s:press,{t}ms:heard=pain"),
    );
    let (plan, _) = plan_and_done(&out);
    assert_eq!(plan["program"], "mckenzie_acute");
    let out = run(&["phase", "next", "--db", d]).expect_code(1);
    assert!(
        out.stderr.contains("not advancing")
            && out.stderr.contains("had pain")
            && out.stderr.contains("fix:"),
        "{}",
        out.show()
    );
    // Still acute, and the painful exercise rests.
    let out = sim(&db, "2025-03-04", "auto", "0s:press");
    let (plan, _) = plan_and_done(&out);
    assert_eq!(plan["program"], "mckenzie_acute");
    assert_eq!(left_out(&plan), ["mk_2_prone_on_elbows"]);
    // After a session without pain the user may move on.
    let out = run(&["phase", "next", "--db", d]).ok();
    assert!(out.stdout.contains("improving"), "{}", out.show());
    let out = sim(&db, "2025-03-05", "auto", "0s:press");
    assert_eq!(plan_and_done(&out).0["program"], "mckenzie_improving");
    let out = run(&["phase", "--db", d]).ok();
    assert!(
        out.stdout.contains("McKenzie phase improving"),
        "{}",
        out.show()
    );
}

#[test]
fn calibrate_shows_and_sets_the_startgetal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let d = db.to_str().unwrap();
    let out = run(&["calibrate", "--db", d]).ok();
    assert!(
        out.stdout.contains("sr_abdominals") && out.stdout.contains("not tested"),
        "{}",
        out.show()
    );
    let out = run(&[
        "calibrate",
        "--db",
        d,
        "--set",
        "sr_abdominals=30",
        "--set",
        "sr_obliques=12",
    ])
    .ok();
    assert!(out.stdout.contains("max  30"), "{}", out.show());
    assert!(
        out.stdout.contains("startgetal 10: 3 sets of 10"),
        "{}",
        out.show()
    );
    let out = run(&[
        "sim",
        "sr_warmup_and_strength",
        "--db",
        d,
        "--date",
        "2025-03-03",
    ])
    .ok();
    let lines = out.json_lines();
    let planned: Vec<u64> = lines
        .iter()
        .filter(|l| l["event"] == "set_done" && l["exercise"] == "sr_abdominals")
        .map(|l| l["reps_planned"].as_u64().unwrap())
        .collect();
    assert_eq!(planned, [10, 10, 10]);
    for bad in [
        "sr_abdominals",
        "hf_bridge=10",
        "sr_abdominals=0",
        "sr_abdominals=many",
    ] {
        let out = run(&["calibrate", "--db", d, "--set", bad]).expect_code(2);
        assert!(out.stderr.contains("fix:"), "{bad}: {}", out.show());
    }
    let out = run(&["calibrate", "--db", d, "--next", "--json"]).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["max_test_requested"].is_string(), "{v}");
}

#[test]
fn bad_dates_and_paths_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let d = db.to_str().unwrap();
    let out = run(&["sim", "quick", "--db", d, "--date", "2025-02-30"]).expect_code(2);
    assert!(
        out.stderr.contains("day 30 does not exist") && out.stderr.contains("YYYY-MM-DD"),
        "{}",
        out.show()
    );
    let out = run(&["history", "--db", d, "--since", "03/03/2025"]).expect_code(2);
    assert!(out.stderr.contains("YYYY-MM-DD"), "{}", out.show());
    let out = run(&["sim", "quick", "--date", "2025-03-03"]).expect_code(2);
    assert!(
        out.stderr.contains("--date and --pace need --db"),
        "{}",
        out.show()
    );
    let out = run(&["history", "--db", d]).expect_code(2);
    assert!(
        out.stderr.contains("no journal here yet") && out.stderr.contains("fix:"),
        "{}",
        out.show()
    );
    // A directory as the journal: the session still runs, the error is
    // clear, exit code 3.
    let out = run(&[
        "sim",
        "quick",
        "--db",
        dir.path().to_str().unwrap(),
        "--date",
        "2025-03-03",
    ])
    .expect_code(3);
    assert!(
        out.stderr.contains("directory") && out.stderr.contains("fix:"),
        "{}",
        out.show()
    );
    assert!(
        out.stdout.contains("\"reason\":\"completed\""),
        "{}",
        out.show()
    );
    let out = run(&["sim", "yoga", "--db", d]).expect_code(2);
    assert!(
        out.stderr.contains("unknown program `yoga`"),
        "{}",
        out.show()
    );
}

/// The spoken phase offer through `matcoach sim --db`: after three sessions
/// without pain the coach offers the next phase, a press of the button in
/// its window accepts, and the journal has the new phase.
#[test]
fn sim_offers_the_next_phase_and_a_press_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let d = db.to_str().unwrap();
    run(&["phase", "start", "--db", d]).ok();
    // `phase start` is stamped now: its day is the phase's first, and the
    // offer comes two days on (journal.acute_days; issue 13: days, not
    // sessions).
    let first = matcoach::journal::today();
    let days: Vec<String> = (0..4).map(|k| first.add_days(k).to_string()).collect();
    let event = |out: &Out, name: &str| -> Vec<Value> {
        out.json_lines()
            .into_iter()
            .filter(|l| l["action"] == "journal" && l["event"] == name)
            .collect()
    };
    for day in &days[..2] {
        let out = sim(&db, day, "auto", "0s:press");
        assert_eq!(plan_and_done(&out).0["program"], "mckenzie_acute");
        assert!(event(&out, "phase_offered").is_empty(), "{day}: not yet");
    }
    // Day 3: find the offer's window with a scratch copy, then press in it.
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("j.sqlite");
    std::fs::copy(&db, &copy).unwrap();
    let dry = sim(&copy, &days[2], "auto", "0s:press");
    let kept = dry
        .json_lines()
        .into_iter()
        .find(|l| l["phrase"] == "sys.phase_kept")
        .unwrap_or_else(|| panic!("an offer nobody answers\n{}", dry.show()));
    let window = kept["t_ms"].as_u64().unwrap() - 15_000;
    let offer = dry
        .json_lines()
        .into_iter()
        .find(|l| {
            l["action"] == "speak" && l["phrase"].as_str().unwrap().starts_with("sys.phase_offer")
        })
        .unwrap();
    assert!(
        offer["text"].as_str().unwrap().contains("a day or two"),
        "{offer}"
    );
    let out = sim(
        &db,
        &days[2],
        "auto",
        &format!("0s:press,{}ms:press", window + 2000),
    );
    let advanced = event(&out, "phase_advanced");
    assert_eq!(advanced.len(), 1, "{}", out.show());
    assert_eq!(
        (&advanced[0]["from"], &advanced[0]["to"]),
        (&"acute".into(), &"improving".into())
    );
    assert!(out.stdout.contains("sys.phase_advanced"), "{}", out.show());
    // Recorded: `phase` shows it, and the next day follows it.
    let out = run(&["phase", "--db", d]).ok();
    assert!(
        out.stdout.contains("McKenzie phase improving") && out.stdout.contains(&days[2]),
        "{}",
        out.show()
    );
    let out = sim(&db, &days[3], "auto", "0s:press");
    assert_eq!(plan_and_done(&out).0["program"], "mckenzie_improving");
    assert!(
        event(&out, "phase_offered").is_empty(),
        "the count starts again"
    );
}

/// The journal's wall clock is the zone `TZ` names, in each of its forms
/// (a zone name, a path into the zoneinfo, a POSIX rule), read through the
/// real binary: `phase start` stamps the journal with the local now. A `TZ`
/// naming no zone falls back to UTC with a warning that says how to fix it.
#[test]
fn the_journal_clock_is_read_in_the_zone_tz_names() {
    const H: i64 = 3_600_000;
    for (tz, offset_ms, warns) in [
        ("UTC", 0, false),
        ("Etc/GMT-14", 14 * H, false),
        ("Asia/Kolkata", 11 * H / 2, false),
        ("/usr/share/zoneinfo/Etc/GMT+12", -12 * H, false),
        (":Etc/GMT+3", -3 * H, false),
        ("<+0330>-3:30", 7 * H / 2, false),
        ("Nowhere/Atlantis", 0, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("journal.sqlite");
        let utc_ms = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
        };
        let before = utc_ms();
        let out = Out::of(
            command(["phase", "start", "--db", db.to_str().unwrap()])
                .env("TZ", tz)
                .env("RUST_LOG", "warn"),
        )
        .ok();
        let after = utc_ms();
        let opened =
            matcoach::journal::JournalStore::open(&db, &matcoach::journal::OpenOptions::default())
                .unwrap();
        let changes = opened.store.phase_changes().unwrap();
        let [(at, _)] = changes.as_slice() else {
            panic!("TZ={tz}: one phase change, got {changes:?}");
        };
        // Stamps keep whole milliseconds.
        let local = (before + offset_ms)..=(after + offset_ms);
        assert!(
            local.contains(&at.ms()),
            "TZ={tz}: stamped {at}, want between {} and {}\n{}",
            matcoach::journal::Stamp(*local.start()),
            matcoach::journal::Stamp(*local.end()),
            out.show()
        );
        let warning = out.stderr.contains("no local time zone") && out.stderr.contains("fix:");
        assert_eq!(warning, warns, "TZ={tz}\n{}", out.show());
    }
}
