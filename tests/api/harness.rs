//! The test harness (libtest-mimic): every test is a registered case, run
//! once per database when it serves apps (`name::sqlite`, `name::postgres`)
//! or once otherwise. A test that cannot run here (no PostgreSQL, no
//! Chromium, no mail servers) is reported as *ignored, with the reason* in
//! the lines and the summary cargo prints, never counted as passed; where
//! `.ci/run` makes a part mandatory (`PAKN_TEST_REQUIRE_*=1`) its absence
//! fails instead.
//!
//! A new test is an `async fn` (or a plain `fn`) under
//! `#[apply(case!)]`; it runs once per database when it asks for its apps
//! with `apps()`/`apps_with()`/`harness::backends()` — the registration
//! script in the notes of `case!` below decides nothing at run time.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// How often a case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Once per database (the body asks for its apps).
    EachBackend,
    /// Once.
    Once,
}

/// One registered test.
pub struct Case {
    pub module: &'static str,
    pub name: &'static str,
    pub runs: Runs,
    pub run: fn(),
}

inventory::collect!(Case);

/// Registers `async fn name()` or `fn name()` as a test. `case!` runs it
/// once per database (for bodies that ask for apps), `case_once!` once.
#[macro_export]
macro_rules! case {
    ($($item:tt)*) => { $crate::__case! { EachBackend; $($item)* } };
}

#[macro_export]
macro_rules! case_once {
    ($($item:tt)*) => { $crate::__case! { Once; $($item)* } };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case {
    ($runs:ident; $(#[$m:meta])* $v:vis async fn $name:ident () $body:block) => {
        $(#[$m])* $v async fn $name() $body
        ::inventory::submit! {
            $crate::harness::Case {
                module: module_path!(),
                name: stringify!($name),
                runs: $crate::harness::Runs::$runs,
                run: || $crate::harness::block_on($name()),
            }
        }
    };
    ($runs:ident; $(#[$m:meta])* $v:vis fn $name:ident () $body:block) => {
        $(#[$m])* $v fn $name() $body
        ::inventory::submit! {
            $crate::harness::Case {
                module: module_path!(),
                name: stringify!($name),
                runs: $crate::harness::Runs::$runs,
                run: $name,
            }
        }
    };
}

thread_local! {
    static BACKEND: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// The database this run of a case is for (`None` for a case run once).
pub fn backend() -> Option<&'static str> {
    BACKEND.with(Cell::get)
}

/// Runs a test's future on a runtime of its own, with worker threads for
/// the tests that start servers and processes alongside.
pub fn block_on<F: std::future::Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime for the test")
        .block_on(future);
}

/// Why a test stops without a verdict: carried by a panic, caught by the
/// harness, reported as ignored with the reason.
struct NotRun(String);

/// Why tests were not run, for the summary.
static NOT_RUN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Stops the current test as not run here, for `reason`.
pub fn not_run(reason: impl Into<String>) -> ! {
    std::panic::panic_any(NotRun(reason.into()))
}

const NO_POSTGRES: &str = "no PostgreSQL: PAKN_TEST_POSTGRES_URL is unset and none with trust authentication answers on 127.0.0.1:5432";

fn postgres_required() -> bool {
    std::env::var("PAKN_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The databases this run covers: the one of this run, or both (PostgreSQL
/// when there is one) for a case run once. A run for PostgreSQL without
/// one stops as not run (or fails where PostgreSQL is required).
pub fn backends() -> Vec<&'static str> {
    match backend() {
        Some("postgres") => {
            require_postgres();
            vec!["postgres"]
        }
        Some(b) => vec![b],
        None if crate::helpers::postgres_admin_url().is_some() => vec!["sqlite", "postgres"],
        None => vec!["sqlite"],
    }
}

/// Stops the test as not run when there is no PostgreSQL to run it on.
pub fn require_postgres() {
    if crate::helpers::postgres_admin_url().is_none() {
        if postgres_required() {
            panic!("PostgreSQL is required (PAKN_TEST_REQUIRE_POSTGRES=1): {NO_POSTGRES}");
        }
        not_run(NO_POSTGRES);
    }
}

fn trial(case: &'static Case, backend: Option<&'static str>) -> Trial {
    let short = case.module.split_once("::").map_or(case.module, |(_, m)| m);
    let name = match backend {
        Some(b) => format!("{short}::{}::{b}", case.name),
        None => format!("{short}::{}", case.name),
    };
    Trial::ignorable_test(name, move || {
        BACKEND.with(|c| c.set(backend));
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(case.run));
        BACKEND.with(|c| c.set(None));
        match outcome {
            Ok(()) => Ok(Completion::Completed),
            Err(payload) => match payload.downcast::<NotRun>() {
                Ok(not_run) => {
                    if let Ok(mut reasons) = NOT_RUN.lock() {
                        reasons.push(not_run.0.clone());
                    }
                    Ok(Completion::ignored_with(not_run.0))
                }
                Err(payload) => Err(Failed::from(panic_message(&*payload))),
            },
        }
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "the test panicked".into())
}

/// The command line, accepting several name filters as libtest does
/// (`cargo test -- intake lookup`): libtest-mimic takes one, so with more
/// the harness filters by them itself (a name containing any of them, or
/// equal to one with `--exact`).
fn arguments() -> (Arguments, Vec<String>) {
    const WITH_VALUE: [&str; 6] = [
        "--test-threads",
        "--skip",
        "--format",
        "--color",
        "--logfile",
        "-Z",
    ];
    let mut rest = Vec::new();
    let mut filters = Vec::new();
    let mut args = std::env::args();
    rest.extend(args.next());
    while let Some(arg) = args.next() {
        if WITH_VALUE.contains(&arg.as_str()) {
            rest.push(arg);
            rest.extend(args.next());
        } else if arg.starts_with('-') {
            rest.push(arg);
        } else {
            filters.push(arg);
        }
    }
    if filters.len() == 1 {
        rest.append(&mut filters);
    }
    (Arguments::from_iter(rest), filters)
}

pub fn main() {
    // The tests' HTTP clients take ring as the process's TLS provider.
    pakn::install_tls_provider();
    let (args, filters) = arguments();
    // A not-run stop is not a failure: no panic report for it.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<NotRun>().is_none() {
            report(info);
        }
    }));
    let mut cases: Vec<&'static Case> = inventory::iter::<Case>.into_iter().collect();
    cases.sort_by_key(|c| (c.module, c.name));
    let mut trials = Vec::new();
    for case in cases {
        match case.runs {
            Runs::EachBackend => {
                trials.push(trial(case, Some("sqlite")));
                trials.push(trial(case, Some("postgres")));
            }
            Runs::Once => trials.push(trial(case, None)),
        }
    }
    if !filters.is_empty() {
        trials.retain(|t| {
            filters.iter().any(|f| {
                if args.exact {
                    t.name() == f
                } else {
                    t.name().contains(f.as_str())
                }
            })
        });
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // What was not run, and why, where a person reads the result.
    let reasons = NOT_RUN.lock().map(|r| r.clone()).unwrap_or_default();
    if !reasons.is_empty() {
        let mut counted: Vec<(String, usize)> = Vec::new();
        for r in reasons {
            match counted.iter_mut().find(|(c, _)| *c == r) {
                Some((_, n)) => *n += 1,
                None => counted.push((r, 1)),
            }
        }
        println!("NOT RUN here (counted as ignored above, never as passed):");
        for (reason, n) in counted {
            println!("  {n} × {reason}");
        }
        println!();
    }
    conclusion.exit();
}
