//! `make model`: explores every world of the lifecycle model exhaustively to its depth (or the
//! depth given as the first argument) and prints, for each, the states explored, the depth
//! reached and each property's result, with the trace of any counterexample. Exits 1 when a
//! property fails.

use std::time::Instant;

use lifecycle_model::worlds;
use stateright::{Checker, Model};

fn main() {
    let depth: Option<usize> = std::env::args().nth(1).and_then(|d| d.parse().ok());
    let mut failed = false;
    for (world, default_depth) in worlds::all() {
        let depth = depth.unwrap_or(default_depth);
        let name = world.name;
        let started = Instant::now();
        let checker = world
            .checker()
            .threads(2)
            .target_max_depth(depth)
            .spawn_bfs()
            .join();
        println!(
            "\n{name}\n  {} states ({} unique), depth {}, {:.1} s",
            checker.state_count(),
            checker.unique_state_count(),
            checker.max_depth(),
            started.elapsed().as_secs_f64()
        );
        let model = checker.model();
        for property in model.properties() {
            let found = checker.discovery(property.name);
            let holds = match property.expectation {
                stateright::Expectation::Sometimes => found.is_some(),
                _ => found.is_none(),
            };
            let kind = format!("{:?}", property.expectation).to_lowercase();
            println!(
                "  {} {kind}: {}",
                if holds { "ok  " } else { "FAIL" },
                property.name
            );
            if let (false, Some(path)) = (holds, found) {
                failed |= true;
                for action in path.into_actions() {
                    println!("      {action:?}");
                }
            } else if !holds {
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
