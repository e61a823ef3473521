//! Prints the CDL of a CF/IMOS time series with N variables (default 1,000), the file the
//! compliance tests check and `scripts/bench-variables.sh` times:
//! `cargo run --example many_variables_cdl -- N | ncgen -k nc4 -o many.nc`.

#[path = "../src/compliance/testing/many.rs"]
mod many;

fn main() {
    let n = match std::env::args()
        .nth(1)
        .map(|a| a.replace([',', '_'], "").parse())
    {
        None => 1000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: many_variables_cdl [N] (a number of variables): {e}");
            std::process::exit(2);
        }
    };
    print!("{}", many::many_variables_cdl(n));
}
