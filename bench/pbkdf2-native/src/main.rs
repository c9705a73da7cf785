//! Times one PBKDF2-HMAC-SHA256 of `userdo::password` (the work of one login) natively, and prints
//! the median of the runs as JSON: `cargo run --release -p userdo-bench-pbkdf2-native -- [iterations] [runs]`.

use std::time::Instant;

use userdo::password::{DEFAULT_ITERATIONS, PasswordHasher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iterations = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(DEFAULT_ITERATIONS);
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let hasher = PasswordHasher::new(iterations)?;
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(hasher.verify_dummy("correct horse battery"));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"iterations\":{iterations},\"runs\":{},\"p50_ms\":{:.2}}}",
        times.len(),
        times[times.len() / 2]
    );
    Ok(())
}
