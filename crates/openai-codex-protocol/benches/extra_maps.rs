//! The decode cost of the `extra` maps: a recorded `item/completed` command item decoded into a
//! struct with the flattened map of unknown members and into the same struct without it, alone
//! and inside an internally tagged enum (as `ThreadItem` is), plus the whole generated
//! notification for scale. Criterion-free: rounds of timed loops, median and worst round.
//!
//! ```sh
//! cargo bench -p openai-codex-protocol --bench extra_maps
//! ```

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use openai_codex_protocol::{
    CommandAction, CommandExecutionSource, CommandExecutionStatus, ServerNotification,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The generated `CommandExecutionThreadItem`'s members, and its `extra` map.
#[derive(Deserialize)]
#[allow(dead_code)]
struct WithExtra {
    #[serde(rename = "aggregatedOutput", default)]
    aggregated_output: Option<String>,
    command: String,
    #[serde(rename = "commandActions")]
    command_actions: Vec<CommandAction>,
    cwd: String,
    #[serde(rename = "durationMs", default)]
    duration_ms: Option<i64>,
    #[serde(rename = "exitCode", default)]
    exit_code: Option<i32>,
    id: String,
    #[serde(rename = "pluginId", default)]
    plugin_id: Option<String>,
    #[serde(rename = "processId", default)]
    process_id: Option<String>,
    #[serde(rename = "scriptPath", default)]
    script_path: Option<String>,
    #[serde(default)]
    source: Option<CommandExecutionSource>,
    status: CommandExecutionStatus,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// The same members without the map (what the generator emitted before).
#[derive(Deserialize)]
#[allow(dead_code)]
struct WithoutExtra {
    #[serde(rename = "aggregatedOutput", default)]
    aggregated_output: Option<String>,
    command: String,
    #[serde(rename = "commandActions")]
    command_actions: Vec<CommandAction>,
    cwd: String,
    #[serde(rename = "durationMs", default)]
    duration_ms: Option<i64>,
    #[serde(rename = "exitCode", default)]
    exit_code: Option<i32>,
    id: String,
    #[serde(rename = "pluginId", default)]
    plugin_id: Option<String>,
    #[serde(rename = "processId", default)]
    process_id: Option<String>,
    #[serde(rename = "scriptPath", default)]
    script_path: Option<String>,
    #[serde(default)]
    source: Option<CommandExecutionSource>,
    status: CommandExecutionStatus,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
#[allow(dead_code)]
enum TaggedWith {
    #[serde(rename = "commandExecution")]
    CommandExecution(WithExtra),
}

#[derive(Deserialize)]
#[serde(tag = "type")]
#[allow(dead_code)]
enum TaggedWithout {
    #[serde(rename = "commandExecution")]
    CommandExecution(WithoutExtra),
}

const ITEM: &str = r#"{"type":"commandExecution","id":"call_exit","pluginId":null,"scriptPath":null,"command":"/bin/bash -c 'echo fixture-output; sleep 0.3; echo more; exit 3'","cwd":"/fixture/workspace","processId":"1000","source":"unifiedExecStartup","status":"failed","commandActions":[{"type":"unknown","command":"echo fixture-output; sleep 0.3; echo more; exit 3"}],"aggregatedOutput":"fixture-output\nmore\n","exitCode":3,"durationMs":1}"#;

/// One measured case: its name and one decode.
type Case<'a> = (&'static str, Box<dyn FnMut() + 'a>);

const ROUNDS: usize = 7;
const ITERATIONS: u32 = 100_000;

/// Nanoseconds per call: (median round, worst round).
fn measure(mut decode: impl FnMut()) -> (f64, f64) {
    for _ in 0..ITERATIONS / 10 {
        decode();
    }
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ITERATIONS {
                decode();
            }
            start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    (rounds[ROUNDS / 2], rounds[ROUNDS - 1])
}

fn main() {
    let params = format!(
        r#"{{"item":{ITEM},"threadId":"00000000-0000-7000-8000-000000000002","turnId":"00000000-0000-7000-8000-000000000003","completedAtMs":1}}"#
    );
    let raw = RawValue::from_string(params).expect("JSON");
    let cases: Vec<Case<'_>> = vec![
        (
            "item struct, without extra",
            Box::new(|| {
                black_box(serde_json::from_str::<WithoutExtra>(black_box(ITEM)).unwrap());
            }),
        ),
        (
            "item struct, with extra",
            Box::new(|| {
                black_box(serde_json::from_str::<WithExtra>(black_box(ITEM)).unwrap());
            }),
        ),
        (
            "tagged item, without extra",
            Box::new(|| {
                black_box(serde_json::from_str::<TaggedWithout>(black_box(ITEM)).unwrap());
            }),
        ),
        (
            "tagged item, with extra",
            Box::new(|| {
                black_box(serde_json::from_str::<TaggedWith>(black_box(ITEM)).unwrap());
            }),
        ),
        (
            "generated item/completed notification",
            Box::new(|| {
                black_box(ServerNotification::decode("item/completed", black_box(&raw)).unwrap());
            }),
        ),
    ];
    println!("{ROUNDS} rounds of {ITERATIONS} decodes each; ns per decode");
    println!("{:<40} {:>10} {:>10}", "case", "median", "worst");
    for (name, decode) in cases {
        let (median, worst) = measure(decode);
        println!("{name:<40} {median:>10.0} {worst:>10.0}");
    }
}
